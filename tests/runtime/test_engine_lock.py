"""One engine per data folder, and ports checked before anything starts: a second
``make run`` says what holds the folder or the port, in one line, and ``make stop``
stops the engine that holds it."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from breachclock.runtime import engine_lock
from breachclock.runtime.engine_lock import EngineBusy
from breachclock.runtime.outbox import free_port
from tests.cli_fork import Forked, run_python
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
    return run_python(str(ROOT / "worker.py"), *args, env=env)


def test_a_port_left_in_time_wait_is_free() -> None:
    """A stopped engine's sockets wait out TIME_WAIT; its servers (which bind with
    SO_REUSEADDR) could listen again at once, so the check must not refuse."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()  # the server closes first: its side waits in TIME_WAIT
            client.recv(1)
    engine_lock.ports_free({"SMTP outbox": port})


def running_engine(env: dict[str, str]) -> tuple[Forked | subprocess.Popen[bytes], list[str]]:
    """``worker.py`` started; what it printed until it said it runs."""
    said: list[str] = []
    process = start_worker(env, said)
    if not said or "Worker running" not in said[-1]:
        process.kill()
        process.wait()
        raise AssertionError("the engine did not start:\n" + "\n".join(said))
    return process, said


def console_answers(port: int) -> bool:
    """The console's sign-in page answered (its process starts beside the worker's,
    niced: on a loaded machine it may take a while)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/login", timeout=10).status_code == 200
        except httpx.ConnectError:
            time.sleep(0.1)
    return False


async def test_make_run_twice_refuses_and_stop_then_run_at_once(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """A second ``make run`` refuses in one line and ``make stop`` stops the first, as
    Ctrl-C does; then ``make run`` at once: the outbox and console served connections
    (which leaves their ports in TIME_WAIT), and the next engine starts within seconds.
    (One engine serves both cases: each start costs seconds.)"""
    env = worker_env(dev_server, settings_for(tmp_path, smtp), smtp.port)
    del env["SMTP_HOST"]  # the engine's own outbox
    env |= {"SMTP_PORT": str(free_port()), "BREACHCLOCK_HTTP_PORT": str(free_port())}
    first, _ = running_engine(env)
    second = None
    try:
        twice = worker(env=env)
        assert twice.returncode == 1
        assert twice.stderr.startswith("error: another engine (pid ")
        assert len(twice.stderr.strip().splitlines()) == 1
        with smtplib.SMTP("127.0.0.1", int(env["SMTP_PORT"])) as relay:
            relay.noop()
        assert console_answers(int(env["BREACHCLOCK_HTTP_PORT"]))
        (console,) = consoles(first.pid)
        stopped = worker("stop", env=env)
        assert stopped.returncode == 0 and f"pid {first.pid}" in stopped.stdout
        assert first.wait(timeout=30) == 0, "stopped as Ctrl-C stops it"
        assert not alive(console), "make stop stops the console's process with the engine"
        began = time.monotonic()
        second, _ = running_engine(env)
        assert time.monotonic() - began < 30
        assert worker("stop", env=env).returncode == 0
        assert second.wait(timeout=30) == 0
        assert "no engine is running" in worker("stop", env=env).stdout
    finally:
        for engine in (first, second):
            if engine is not None:
                engine.kill()
                engine.wait()
        engine_lock.end_orphans(Path(env["BREACHCLOCK_DATA_DIR"]), wait=2)  # a killed one's console


def alive(pid: int) -> bool:
    return engine_lock.started_at(pid) is not None


def dev_servers(engine: int) -> list[int]:
    """The engine's Temporal dev servers among its children (it also has a worker process
    of its own, ``offload``, which ends with it)."""
    return [
        pid
        for pid in engine_lock.children_of(engine)
        if b"temporal" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    ]


def consoles(engine: int) -> list[int]:
    """The engine's console processes (``python -m breachclock.web``) among its children."""
    return [
        pid
        for pid in engine_lock.children_of(engine)
        if b"breachclock.web" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    ]


def test_what_a_killed_engine_left_running_is_found_and_ended(tmp_path: Path) -> None:
    """``kill -9`` of the engine leaves its Temporal dev server and its console's process
    running; the next ``run`` ends them and starts, and after another ``kill -9``,
    ``stop`` ends them; each says so."""
    port = free_port()
    env = {
        **os.environ,
        "BREACHCLOCK_DATA_DIR": str(tmp_path / "data"),
        "BREACHCLOCK_TEMPORAL_PORT": str(free_port()),
        "BREACHCLOCK_UI_PORT": str(free_port()),
        "SMTP_PORT": str(free_port()),
        "BREACHCLOCK_HTTP_PORT": str(port),
    }
    env.pop("TEMPORAL_ADDRESS", None)
    env.pop("SMTP_HOST", None)
    engine, _ = running_engine(env)
    try:
        for then in ("run", "stop"):
            (server,) = dev_servers(engine.pid)
            (console,) = consoles(engine.pid)
            engine.send_signal(signal.SIGKILL)
            engine.wait(timeout=30)
            assert alive(server), "the dev server outlives a killed engine"
            assert alive(console), "so does the console's process"
            if then == "run":
                engine, said = running_engine(env)
                expected = f"stopped the Temporal dev server (pid {server})"
                assert any(line.startswith(expected) for line in said), said
                expected = f"stopped the console and API (pid {console})"
                assert any(line.startswith(expected) for line in said), said
                assert console_answers(port), "the new engine's console took the port"
            else:
                stopped = worker("stop", env=env)
                assert stopped.returncode == 0
                assert stopped.stdout.startswith(f"stopped the Temporal dev server (pid {server})")
                assert f"; stopped the console and API (pid {console})" in stopped.stdout
                assert "no engine is running" in worker("stop", env=env).stdout
            assert not alive(server) and not alive(console)
    finally:
        engine.kill()
        for line in engine_lock.end_orphans(tmp_path / "data", wait=2):
            print(line)
