"""Helpers for tests that run the project's own programs as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import BinaryIO

from temporalio.testing import WorkflowEnvironment

from breachclock.runtime.config import Settings
from tests.cli_fork import Forked, fork_python, run_cli

ROOT = Path(__file__).resolve().parents[1]


def address(env: WorkflowEnvironment) -> str:
    """host:port of a test server, for a subprocess's TEMPORAL_ADDRESS."""
    return str(env.client.service_client.config.target_host)


def worker_env(
    server: WorkflowEnvironment, settings: Settings, smtp_port: int, **extra: str
) -> dict[str, str]:
    """The environment of a ``worker.py`` on ``server``, with the test's queue, data and SMTP."""
    return {
        **os.environ,
        "BREACHCLOCK_OPERATOR": settings.operator_name,
        "BREACHCLOCK_POLICY_OWNER": settings.policy_owner or "",
        "BREACHCLOCK_POLICY_OWNER_ROLE": settings.policy_owner_role or "",
        "BREACHCLOCK_HTTP_PORT": "0",  # a test engine serves no console unless asked
        **extra,
        "TEMPORAL_ADDRESS": address(server),
        "BREACHCLOCK_TASK_QUEUE": settings.task_queue,
        "BREACHCLOCK_DATA_DIR": str(settings.data_dir),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
    }


def offline(*args: str) -> subprocess.CompletedProcess[str]:
    """``starter.py ARGS`` with no Temporal to reach: what the CLI refuses before sending."""
    return run_cli(*args, env={**os.environ, "TEMPORAL_ADDRESS": "127.0.0.1:1"}, timeout=30)


def start_worker(
    env: dict[str, str], said: list[str] | None = None, *, fresh: bool = False
) -> Forked | subprocess.Popen[bytes]:
    """A ``worker.py`` process, forked (``tests.cli_fork``) or, ``fresh``, a new
    interpreter as deployed (a benchmark reads its memory: a fork's counts the modules
    its zygote imported for the CLI and the console); returns once it says it is
    running. ``said``, if given, gets the lines it printed until then, errors included.

    Its output is read to the end on a thread of its own, so a worker that logs a lot
    never blocks on a full pipe.
    """
    out_read, out_write = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR)
    errors = devnull if said is None else out_write
    output = os.fdopen(out_read, "rb")
    script = str(ROOT / "worker.py")
    try:
        worker: Forked | subprocess.Popen[bytes] = (
            subprocess.Popen(
                [sys.executable, script], env=env, stdin=devnull, stdout=out_write, stderr=errors
            )
            if fresh
            else fork_python(script, env=env, streams=(devnull, out_write, errors))
        )
    except BaseException:
        output.close()
        raise
    finally:
        os.close(out_write)
        os.close(devnull)
    deadline = time.monotonic() + 60
    for line in output:
        if said is not None:
            said.append(line.decode().strip())
        if b"Worker running" in line or time.monotonic() > deadline:
            break
    threading.Thread(target=drain, args=(output,), daemon=True).start()
    return worker


def drain(stream: BinaryIO) -> None:
    with stream:
        stream.read()
