"""A real PostgreSQL server for the tests, from Debian's packages, on 127.0.0.1.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres``
system user (made if missing) through ``runuser``. The cluster lives in a fresh
folder under /tmp, listens on a free loopback port with its socket in that folder,
and asks for a password (made here). Without the binaries the tests that need
it skip, or fail when ``CI`` is set: CI must really run them.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg
import pytest

from breachclock.runtime.outbox import free_port

BINARIES = "/usr/lib/postgresql/*/bin"
USER = "breachclock"
DATABASE = "breachclock_test"
INSTALL_HINT = "apt-get install -y --no-install-recommends postgresql"


def find_bin_dir() -> Path | None:
    """The newest major version's bin folder that has initdb, pg_ctl and postgres."""
    found = [
        d
        for d in Path("/").glob(BINARIES.lstrip("/"))
        if all((d / name).is_file() for name in ("initdb", "pg_ctl", "postgres", "createdb"))
    ]

    def major(d: Path) -> int:
        m = re.match(r"\d+", d.parent.name)
        return int(m.group()) if m else -1

    return max(found, key=major, default=None)


def run_as(owner: str | None, args: list[str], env: dict[str, str] | None = None) -> None:
    command = ["runuser", "-u", owner, "--", *args] if owner else args
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )


def server_user() -> str | None:
    """Who runs the server: nobody else when not root, else ``postgres`` (made if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
            check=True,
            capture_output=True,
        )
    return "postgres"


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throw-away cluster; yield a URL to its database; stop and remove it."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        message = f"PostgreSQL server binaries not found under {BINARIES} (install: {INSTALL_HINT})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(message)
    owner = server_user()
    root = Path(tempfile.mkdtemp(prefix="breachclock-pg-"))
    data = root / "data"
    password = secrets.token_hex(16)
    (root / "pwfile").write_text(password + "\n")
    if owner is not None:
        info = pwd.getpwnam(owner)
        os.chown(root, info.pw_uid, info.pw_gid)
        os.chown(root / "pwfile", info.pw_uid, info.pw_gid)
    port = free_port()
    pg_ctl = str(bin_dir / "pg_ctl")
    started = False
    try:
        run_as(
            owner,
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                f"--pwfile={root / 'pwfile'}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = root / "log"
        started = True  # even a failed start may leave a server to stop
        try:
            run_as(owner, [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"])
        except RuntimeError as err:
            server_log = log.read_text() if log.exists() else "(no log)"
            raise RuntimeError(f"{err}\nserver log:\n{server_log}") from err
        run_as(
            owner,
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE],
            env={**os.environ, "PGPASSWORD": password},
        )
        yield f"postgresql://{USER}:{password}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if started:
            stop = [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]
            subprocess.run(
                ["runuser", "-u", owner, "--", *stop] if owner else stop,
                capture_output=True,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", name="postgresql_url")
def postgresql_url_fixture() -> Iterator[str]:
    """One server for the session; tests make their own databases in it."""
    with postgres_server() as url:
        yield url


@asynccontextmanager
async def scratch_database(server: str) -> AsyncIterator[str]:
    """A database of its own in the session's server, for one test: its URL; dropped after."""
    name = f"t_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield server.rsplit("/", 1)[0] + "/" + name
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()
