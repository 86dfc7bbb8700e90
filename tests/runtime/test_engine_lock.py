"""One engine per data folder, and ports checked before anything starts: a second
``make run`` says what holds the folder or the port, in one line, and ``make stop``
stops the engine that holds it."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from breachclock.runtime import engine_lock
from breachclock.runtime.engine_lock import EngineBusy
from tests.cli_support import ROOT, start_worker, worker_env
from tests.conftest import SmtpSink, settings_for


def test_a_second_holder_of_the_data_folder_is_told_who_holds_it(tmp_path: Path) -> None:
    assert engine_lock.holder(tmp_path) is None
    with engine_lock.hold(tmp_path):
        assert engine_lock.holder(tmp_path) is not None
        with pytest.raises(EngineBusy, match=r"another engine \(pid \d+\) is running"):
            with engine_lock.hold(tmp_path):
                pass
    assert engine_lock.holder(tmp_path) is None, "released when the engine stops"
    assert "no engine is running" in engine_lock.stop(tmp_path)


def test_a_taken_port_is_named_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EngineBusy, match=f"port {port} \\(SMTP outbox\\) is taken"):
            engine_lock.ports_free({"SMTP outbox": port})


def worker(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "worker.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_make_run_twice_refuses_and_make_stop_stops_the_first(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    env = worker_env(dev_server, settings_for(tmp_path, smtp), smtp.port)
    first = start_worker(env)
    try:
        second = worker(env=env)
        assert second.returncode == 1
        assert second.stderr.startswith("error: another engine (pid ")
        assert len(second.stderr.strip().splitlines()) == 1
        stopped = worker("stop", env=env)
        assert stopped.returncode == 0 and f"pid {first.pid}" in stopped.stdout
        assert first.wait(timeout=30) == 0, "stopped as Ctrl-C stops it"
        assert "no engine is running" in worker("stop", env=env).stdout
    finally:
        first.kill()
