"""The documentation: the site builds strictly with its reference generated from the
code, and the README's commands run, first line to last, against a live engine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from breachclock.app.main import breachclock
from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import free_port
from tools.reference import openapi

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
WALKTHROUGH = re.compile(r"<!-- walkthrough -->\n```bash\n(.*?)```", re.S)
BLOCK = re.compile(r"```(?:sh|bash)\n(.*?)```", re.S)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(built)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return built


def page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text()


def test_the_site_builds_strictly_with_every_setting_command_and_route(site: Path) -> None:
    settings = page(site, "reference/settings")
    missing = [f.alias for f in Settings.model_fields.values() if f.alias not in settings]
    assert not missing, f"settings not in the reference: {missing}"
    commands = page(site, "reference/cli")
    assert all(f"breachclock {name}" in commands for name in breachclock.commands)
    api = page(site, "reference/api")
    paths = openapi()["paths"]
    assert paths and all(path in api for path in paths), "a route missing from the reference"
    assert "breachclock_filings" in page(site, "reference/metrics")
    for guide in ("deploy", "postgresql", "alertmanager", "sso", "keys", "backup", "upgrading"):
        assert (site / "how-to" / guide / "index.html").exists(), guide


def test_the_readme_is_what_a_newcomer_needs_first() -> None:
    assert len(README.splitlines()) <= 150
    blocks = BLOCK.findall(README)
    walkthrough = WALKTHROUGH.findall(README)
    assert len(walkthrough) >= 2
    (others,) = [b for b in blocks if b not in walkthrough]  # make run, make test
    assert [line.split()[:2] for line in others.splitlines()] == [["make", "run"], ["make", "test"]]


class Engine:
    """``make run``'s engine (``worker.py``) on ports and a data folder of the test's."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[bytes] = []
        self.process = subprocess.Popen(
            [sys.executable, "worker.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 90
        for line in self.process.stdout:
            self.lines.append(line)
            if b"Worker running" in line or time.monotonic() > deadline:
                break
        assert b"Worker running" in self.lines[-1], b"".join(self.lines).decode()
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(60)


@pytest.mark.slow
def test_the_readme_walkthrough_runs_first_line_to_last(tmp_path: Path) -> None:
    temporal, codec = free_port(), free_port()
    env = {
        **os.environ,
        "BREACHCLOCK_DATA_DIR": str(tmp_path / "data"),
        "BREACHCLOCK_TEMPORAL_PORT": str(temporal),
        "BREACHCLOCK_UI_PORT": str(free_port()),
        "SMTP_PORT": str(free_port()),
        "BREACHCLOCK_HTTP_PORT": str(free_port()),
        "BREACHCLOCK_CODEC_SERVER_PORT": str(codec),
    }
    env.pop("TEMPORAL_ADDRESS", None)
    env.pop("SMTP_HOST", None)
    # The README's commands as written, on this test's ports and this interpreter's venv.
    script = "set -euxo pipefail\n" + "".join(WALKTHROUGH.findall(README))
    script = script.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    script = script.replace("127.0.0.1:7233", f"127.0.0.1:{temporal}")
    script = script.replace("127.0.0.1:8888", f"127.0.0.1:{codec}")
    script = script.replace("127.0.0.1/8888", f"127.0.0.1/{codec}")
    engine = Engine(env)
    try:
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        engine.stop()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "notifying 4 people" in done.stdout
    left = next(line for line in done.stdout.splitlines() if "DEMO-CALLS-" in line)
    assert ": 5. " in left, "the demo's five calls wait for an agent"
    assert "initial_report" in done.stdout  # the Temporal CLI's update, decoded
