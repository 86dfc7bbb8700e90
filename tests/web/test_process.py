"""The console as ``make run`` serves it (``worker.py``, beside the worker) and as a
process of its own (``python -m breachclock.web``), with the first run's account."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from breachclock.runtime import engine_lock
from breachclock.runtime.outbox import free_port
from tests.cli_fork import run_python
from tests.cli_support import ROOT, worker_env
from tests.conftest import SmtpSink, settings_for

FIRST_RUN = re.compile(r"account 'admin' \(manager\) made with password (\S+)")
CONSOLE = re.compile(r"Console and API: \S+ \(pid (\d+)\)")


def lines_until(process: subprocess.Popen[str], *patterns: str) -> str:
    """The process's output until every pattern has been seen (or 60 s)."""
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    while not all(re.search(p, seen) for p in patterns) and time.monotonic() < deadline:
        seen += process.stdout.readline()
    return seen


def engine(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def stopped(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=30)


async def test_make_run_serves_the_console_and_the_first_run_prints_its_password_once(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    port = free_port()
    settings = settings_for(tmp_path, smtp)
    env = worker_env(dev_server, settings, smtp.port, BREACHCLOCK_HTTP_PORT=str(port))
    first = engine(env)
    try:
        out = lines_until(first, "Console and API", "made with password", "Worker running")
        assert f"Console and API: http://127.0.0.1:{port}/" in out
        found = FIRST_RUN.search(out)
        assert found, out
        password = found.group(1)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as browser:
            wrong = await browser.post("/login", data={"name": "admin", "password": "nope"})
            assert wrong.status_code == 401
            signed = await browser.post("/login", data={"name": "admin", "password": password})
            assert signed.status_code == 303 and signed.headers["location"] == "/"
            cookie = signed.headers["set-cookie"].lower()
            for flag in ("httponly", "secure", "samesite=strict", "path=/"):
                assert flag in cookie, cookie

            # The console is a process of its own, nicer than the engine, and started
            # again when it dies; the session outlives it (it is in the store).
            console = int(CONSOLE.findall(out)[-1])
            assert console in engine_lock.children_of(first.pid)
            assert os.getpriority(os.PRIO_PROCESS, console) > os.getpriority(
                os.PRIO_PROCESS, first.pid
            )
            os.kill(console, signal.SIGKILL)
            out = lines_until(first, rf"pid {console}\) exited", rf"\(pid (?!{console}\))\d+\)")
            assert f"The console and API (pid {console}) exited with status -9" in out, out
            restarted = int(CONSOLE.findall(out)[-1])
            assert restarted != console
            session = {"Cookie": f"bc_session={signed.cookies['bc_session']}"}
            assert (await browser.get("/", headers=session)).status_code == 200
    finally:
        assert stopped(first) == 0
    assert engine_lock.started_at(restarted) is None, "stopped with the engine"
    again = engine(env)
    try:
        out = lines_until(again, "Worker running")
        assert "Worker running" in out and "made with password" not in out
    finally:
        assert stopped(again) == 0


def test_accounts_and_tokens_are_made_from_the_command_line(tmp_path: Path) -> None:
    env = {"BREACHCLOCK_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def web(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return run_python("-m", "breachclock.web", *args, env={**env, **extra}, cwd=ROOT)

    made = web("account", "eva", "oncall")
    assert made.returncode == 0 and re.search(r"with password \S+ \(shown once\)", made.stdout)
    given = web("account", "olle", "auditor", BREACHCLOCK_NEW_PASSWORD="chosen by olle")
    assert given.stdout.strip() == "added olle (auditor)"
    assert "exists already" in web("account", "eva", "manager").stderr
    assert (
        "added sso-sara (agent) for single sign-on"
        in web("account", "sso-sara", "agent", "--sso").stdout
    )
    token = web("token", "alertmanager", "manager")
    assert token.returncode == 0 and "shown once: " in token.stdout
    assert "usage:" in web("token", "x", "admin").stderr
