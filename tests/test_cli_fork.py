"""A forked command answers as the interpreter started afresh would (``tests/cli_fork.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_fork import fork_python, run_python

SCRIPT = """\
import os, sys, time
print("argv", sys.argv[1:])
print("cwd", os.getcwd())
print("env", os.environ.get("FORK_PROBE"), "PATH" in os.environ)
print("zone", time.strftime("%Z", time.localtime(0)))
print("stdin", repr(sys.stdin.read()))
print("to stderr\\r\\nnext", file=sys.stderr)
if sys.argv[1:] == ["sleep"]:
    time.sleep(60)
sys.exit(3 if __name__ == "__main__" else 4)
"""


def test_a_forked_script_answers_as_a_fresh_interpreter(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    env = {"FORK_PROBE": "åäö ✓", "TZ": "Asia/Kolkata"}
    args = (str(script), "one", "tw o", "ø")
    fresh = subprocess.run(
        [sys.executable, *args], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    forked = run_python(*args, env=env, cwd=tmp_path)
    assert fresh.returncode == forked.returncode == 3
    assert forked.stdout == fresh.stdout
    assert "zone IST" in forked.stdout and f"cwd {tmp_path}" in forked.stdout
    assert "env åäö ✓ False" in forked.stdout, "the environment given, and only it"
    assert forked.stderr == fresh.stderr == "to stderr\nnext\n"


def test_a_forked_command_past_its_time_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    with pytest.raises(subprocess.TimeoutExpired):
        run_python(str(script), "sleep", env={}, timeout=1)


def test_a_module_runs_as_main_with_its_exit_code() -> None:
    done = run_python("-m", "breachclock.web", "token", "x", "admin", env={})
    assert done.returncode == 1
    assert done.stderr.startswith("usage: python -m breachclock.web"), done.stderr
    assert "RuntimeWarning" not in done.stderr


def test_a_forked_engine_is_signalled_and_waited_for_as_popen_would(tmp_path: Path) -> None:
    """``fork_python``, as the fault tests start ``worker.py``: its pid takes a kill, and
    ``wait`` and ``poll`` answer the exit code the zygote saw."""
    script = tmp_path / "engine.py"
    script.write_text("import os, time\nos.write(1, b'running\\n')\ntime.sleep(60)\n")
    out_read, out_write = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        child = fork_python(str(script), env={}, streams=(devnull, out_write, devnull))
    finally:
        os.close(out_write)
        os.close(devnull)
    with os.fdopen(out_read, "rb") as output:
        assert output.readline() == b"running\n"
        assert child.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(0.2)
        child.kill()
        assert child.wait(30) == -signal.SIGKILL
        assert output.read() == b"", "its end closed with it"
    assert child.poll() == child.returncode == -signal.SIGKILL
    child.kill()  # ended: nothing to signal, no error
