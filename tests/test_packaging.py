"""The package as an operator installs it: a wheel built from this checkout, installed
(not editable) into a fresh virtualenv, every process run from another directory.

The image (``deploy/Dockerfile``) installs that same wheel. No container runtime runs
here, so the Dockerfile is checked by reading it: its stages, what the build stage
copies against what the wheel is built from, and what the image runs.
"""

from __future__ import annotations

import base64
import email
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from breachclock.runtime.outbox import free_port

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


class Installed:
    """A fresh virtualenv holding the wheel and its dependencies, nothing editable."""

    def __init__(self, venv: Path, wheel: Path) -> None:
        self.venv = venv
        self.wheel = wheel

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(built), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (made,) = built.glob("breachclock-*.whl")
    return made


def requirements_of(dist: metadata.Distribution, extras: set[str]) -> list[Requirement]:
    """What ``dist`` requires here, with ``extras`` asked for (markers evaluated)."""
    wanted = []
    for line in dist.requires or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": e}) for e in {"", *extras}):
            wanted.append(requirement)
    return wanted


def runtime_closure(wheel: Path) -> list[metadata.Distribution]:
    """The distributions the wheel's own requirements reach, transitively, as this
    checkout's virtualenv has them: its runtime dependencies, none of the dev extras."""
    (name,) = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".dist-info/METADATA")]
    lines = email.message_from_bytes(zipfile.ZipFile(wheel).read(name)).get_all("Requires-Dist")
    todo = [Requirement(line) for line in lines or []]
    todo = [r for r in todo if r.marker is None or r.marker.evaluate({"extra": ""})]
    found: dict[str, tuple[metadata.Distribution, set[str]]] = {}
    while todo:
        requirement = todo.pop()
        key = canonicalize_name(requirement.name)
        dist, extras = found.get(key) or (metadata.distribution(requirement.name), set())
        if key in found and requirement.extras <= extras:
            continue
        extras |= requirement.extras
        found[key] = (dist, extras)
        todo += requirements_of(dist, extras)
    return [dist for dist, _ in found.values()]


def link_runtime(wheel: Path, venv: Path, into: Path) -> None:
    """Make the wheel's runtime dependencies importable in ``venv`` without installing
    them again: each of their files linked under ``into`` (a site folder for the venv),
    the binaries they put in ``bin`` (the Temporal CLI) linked into the venv's."""
    for dist in runtime_closure(wheel):
        site = Path(str(dist.locate_file("")))
        for file in dist.files or []:
            source = (site / file).resolve()
            relative = Path(os.path.normpath(file))
            outside = relative.parts[0] == ".."  # a script or binary, in the prefix's bin
            target = venv / "bin" / relative.name if outside else into / relative
            if (outside and source.parent.name != "bin") or not source.is_file() or target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source)
    (site_packages,) = venv.glob("lib/python*/site-packages")
    (site_packages / "runtime-dependencies.pth").write_text(
        f"import site; site.addsitedir({str(into)!r})\n"
    )


@pytest.fixture
def installed(wheel: Path, tmp_path: Path) -> Installed:
    """The wheel installed (not editable) in a fresh virtualenv that sees only its runtime
    dependencies: they are this checkout's, linked (``link_runtime``) rather than
    downloaded and unpacked again (that took most of the test's time), and ``pip check``
    proves the wheel's declared requirements met by them."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    link_runtime(wheel, venv, tmp_path / "runtime")
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    for command in (["install", "-q", "--no-deps", "--no-compile", str(wheel)], ["check"]):
        done = subprocess.run([*pip, *command], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
    return Installed(venv, wheel)


def packaged_sources() -> list[str]:
    """Every file git keeps under the packages the wheel is made of, but tests and caches."""
    tops = [p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]]
    listed = subprocess.run(
        ["git", "ls-files", *{t.rstrip(".") for t in tops}],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return [p for p in listed if "__pycache__" not in p]


@pytest.mark.slow
def test_the_wheel_carries_every_file_of_the_packages(wheel: Path) -> None:
    """Modules and data alike (catalogues, templates, static files, the takedown
    directory): a file a package reads at run time but the wheel leaves out breaks
    only an installed engine, never a test run from the checkout."""
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [p for p in packaged_sources() if p not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert {"worker.py", "starter.py"} <= names


def listening(port: int, within: float = 30.0) -> None:
    """Wait until something accepts connections on ``port`` (127.0.0.1)."""
    deadline = time.monotonic() + within
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Process:
    """A program from the installed venv, started in ``cwd``, read until it says ``ready``."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, ready: str) -> None:
        self.output: list[str] = []
        self.popen = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.popen.stdout is not None
        deadline = time.monotonic() + 90
        for line in self.popen.stdout:
            self.output.append(line)
            if ready in line or time.monotonic() > deadline:
                break
        assert any(ready in line for line in self.output), "".join(self.output)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.popen.stdout is not None
        self.output.extend(self.popen.stdout)

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[Path]:
    """A working directory with nothing of the checkout in it."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    yield cwd


def environment(data: Path, **more: str) -> dict[str, str]:
    """Only what an operator sets: no PYTHONPATH that would reach the checkout."""
    ours = ("PYTHON", "VIRTUAL_ENV", "TEMPORAL_ADDRESS", "SMTP_HOST")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return {**env, "BREACHCLOCK_DATA_DIR": str(data), **more}


@pytest.mark.slow
def test_from_the_wheel_the_engine_cli_console_worker_web_and_codec_server_run(
    installed: Installed, elsewhere: Path, tmp_path: Path
) -> None:
    http, temporal = free_port(), free_port()
    env = environment(
        tmp_path / "data",
        BREACHCLOCK_TEMPORAL_PORT=str(temporal),
        BREACHCLOCK_UI_PORT=str(free_port()),
        SMTP_PORT=str(free_port()),
        BREACHCLOCK_HTTP_PORT=str(http),
        BREACHCLOCK_ADMIN_PASSWORD="correct horse battery staple",
    )
    breachclock = installed.bin("breachclock")
    where = subprocess.run(
        [
            installed.bin("python"),
            "-c",
            "import breachclock, workflows; print(breachclock.__file__)",
        ],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(installed.venv)), where

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [breachclock, *args],
            env={**env, **extra},
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def cli(*args: str, **extra: str) -> str:
        done = run(*args, **extra)
        assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
        return done.stdout

    alone = run("worker")  # a worker with no cluster to join says so, and starts nothing
    assert alone.returncode == 1 and "TEMPORAL_ADDRESS" in alone.stderr, alone.stderr

    engine = Process([breachclock, "engine"], env, elsewhere, "Worker running")
    running = [engine]
    try:
        cli("open", "INC-PKG-1", "--title", "Secret numbers published", "--regime", "pts")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        cli("discover", "INC-PKG-1", "--at", now, "--by", "On-call", "--how", "a customer asked")
        status = json.loads(cli("status", "INC-PKG-1", "--json"))
        assert status["state"] == "discovered"
        assert "properties" in json.loads(cli("schema", "facts"))
        assert "Comviq" in cli("demo", "--help")  # the case itself runs in tests/cli/test_demo.py

        console = httpx.get(f"http://127.0.0.1:{http}/login", timeout=30)
        assert console.status_code == 200 and "<form" in console.text

        token = cli("web", "token", "packaging", "manager").rsplit(" ", 1)[-1].strip()
        web_port = free_port()
        cluster = {"TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}"}
        web = Process(
            [breachclock, "web"],
            {**env, **cluster, "BREACHCLOCK_HTTP_PORT": str(web_port)},
            elsewhere,
            "Console and API",
        )
        running.append(web)
        listening(web_port)  # the line comes as the server starts, not once it listens
        read = httpx.get(
            f"http://127.0.0.1:{web_port}/api/incidents/INC-PKG-1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert read.status_code == 200, read.text
        assert read.json()["reference"] == "INC-PKG-1"

        second = tmp_path / "second-worker"
        relay = {
            "SMTP_HOST": "127.0.0.1",
            "BREACHCLOCK_OPERATOR": "Paketoperatören AB",
            "BREACHCLOCK_POLICY_OWNER": "Karin Berg",
            "BREACHCLOCK_POLICY_OWNER_ROLE": "Incidentansvarig",
        }  # the engine's outbox, as a cluster's workers share one
        running.append(
            Process(
                [breachclock, "worker"],
                {**env, **cluster, "BREACHCLOCK_DATA_DIR": str(second), **relay},
                elsewhere,
                "Worker running",
            )
        )

        codec_port = free_port()
        running.append(
            Process(
                [breachclock, "codec-server", "--port", str(codec_port)],
                {**env, "BREACHCLOCK_CODEC_SERVER_TOKEN": "s3cret"},
                elsewhere,
                "codec server",
            )
        )
        plain = {
            "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
            "data": base64.b64encode(b'"hello"').decode(),
        }
        url = f"http://127.0.0.1:{codec_port}/encode"
        for _ in range(50):  # it prints its line just before it listens
            try:
                refused = httpx.post(url, json={"payloads": [plain]}, timeout=10)
                break
            except httpx.ConnectError:
                time.sleep(0.2)
        assert refused.status_code == 401
        sealed = httpx.post(
            url,
            json={"payloads": [plain]},
            headers={"Authorization": "Bearer s3cret"},
            timeout=10,
        )
        assert sealed.status_code == 200
        (payload,) = sealed.json()["payloads"]
        assert payload["data"] != plain["data"]
    finally:
        for process in reversed(running):
            process.stop()
    assert "Stopping" in "".join(engine.output)


def instructions(path: Path) -> list[tuple[str, str]]:
    """A Dockerfile's instructions, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", path.read_text())
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages(path: Path) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            result.append([])
        assert result, f"{keyword} before the first FROM"
        result[-1].append((keyword, rest))
    return result


def test_the_image_builds_the_wheel_in_one_stage_and_installs_it_in_another() -> None:
    build, final = stages(DOCKERFILE)
    assert build[0][1].endswith(" AS build")
    copied = {
        source.rstrip("/")
        for keyword, rest in build
        if keyword == "COPY"
        for source in rest.split()[:-1]
        if not source.startswith("--")
    }
    needed = {"pyproject.toml", *(f"{m}.py" for m in PYPROJECT["tool"]["setuptools"]["py-modules"])}
    packages = {p.split("/")[0] for p in packaged_sources()}
    assert needed | packages <= copied, f"the build stage misses {(needed | packages) - copied}"
    for source in copied:
        assert (ROOT / source).exists(), f"{source} is copied but does not exist"
    assert any(k == "RUN" and "pip wheel" in r for k, r in build)

    assert any(k == "COPY" and r.startswith("--from=build") for k, r in final)
    installs = [r for k, r in final if k == "RUN" and "pip install" in r]
    assert installs and all(".whl" in r and " -e " not in r for r in installs)
    assert ("USER", "10001") in final
    (command,) = [json.loads(r) for k, r in final if k == "CMD"]
    scripts = PYPROJECT["project"]["scripts"]
    assert command[0] in scripts and command[1] == "engine"
