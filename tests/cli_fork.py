"""The project's command lines for the tests (``starter.py ARGS``, ``python -m
breachclock.web ARGS``) and the engines the fault tests kill (``worker.py``), each in a
process forked from one that imported them.

A CLI process spends about 1.5 s of a slow core importing before its command starts, and
the suite runs a hundred and more of them: minutes of CI. So each test process starts one
*zygote* (``python -m tests.cli_fork SOCKET``) that imports the commands' modules once,
with no thread started, and forks a child per call. The child runs the script or module
as the interpreter would (``runpy``, as ``__main__``) in a process of its own, with its
arguments, environment, working folder and standard streams (the caller's pipes, passed
over the socket), and ends with its exit code; ``os._exit`` and a kill work as they do
for ``python starter.py``. An engine (``fork_python``) is a child of the zygote rather
than of the test, with the same pid to kill and exit code to wait for. What a fork skips
is only the import, which the tests that start the real interpreter keep covering (the
README walkthrough, the wheel, the demo, the nasty command lines, ``make run``).

Standard input is ``/dev/null``: no test types into a command.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import runpy
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STARTER = ROOT / "starter.py"
LENGTH = struct.Struct("!I")
NUMBER = struct.Struct("!i")


# --- the zygote --------------------------------------------------------------------------------


def _receive_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the caller went away")
        data += chunk
    return data


PRELOADED = ("breachclock.app.main", "breachclock.web.__main__", "breachclock.app.engine")
"""What the commands and the engine (``worker.py``) import, once, in the zygote."""


def _forget(module: str) -> None:
    """Drop a preloaded module that is about to run as ``__main__``, as the interpreter
    would find it: not imported yet (``runpy`` warns otherwise). Its imports stay."""
    sys.modules.pop(f"{module}.__main__", None)
    if not hasattr(sys.modules.get(module), "__path__"):
        sys.modules.pop(module, None)


def _child(request: dict[str, Any], streams: list[int]) -> None:
    """In the forked child: become the process the caller asked for, and run it."""
    for number, fd in enumerate(streams):
        os.dup2(fd, number)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    if request["cwd"]:
        os.chdir(request["cwd"])
    code = 1
    try:
        match request["argv"]:
            case ["-m", module, *args]:
                sys.argv = [module, *args]
                _forget(module)
                runpy.run_module(module, run_name="__main__", alter_sys=True)
            case [script, *args]:
                sys.argv = [script, *args]
                runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as done:  # as the interpreter ends on it
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _fork_for(conn: socket.socket, inherited: list[Any]) -> int:
    """Read one request from ``conn`` and fork its child (which closes what it inherited
    from this loop: sockets, the selector, the wake-up pipe's ends); the child's pid."""
    header, fds, _, _ = socket.recv_fds(conn, LENGTH.size, 3)
    try:
        request = json.loads(_receive_exactly(conn, LENGTH.unpack(header)[0]))
        pid = os.fork()
        if pid == 0:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for thing in (*inherited, conn):
                thing.close() if hasattr(thing, "close") else os.close(thing)
            _child(request, fds)
    finally:
        for fd in fds:
            os.close(fd)
    conn.sendall(NUMBER.pack(pid))
    return pid


def serve(path: str) -> None:
    """Import the commands, then fork a child per request on ``path`` until the parent goes."""
    for module in PRELOADED:
        importlib.import_module(module)

    assert threading.active_count() == 1, "a thread at import: forking would copy its locks"
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    waiting: dict[int, socket.socket] = {}
    sys.stdout.flush()
    while os.getppid() == parent:
        for key, _ in selector.select(timeout=1.0):
            if key.fileobj is listener:
                conn, _ = listener.accept()
                inherited = [listener, selector, wake_read, wake_write, *waiting.values()]
                try:
                    waiting[_fork_for(conn, inherited)] = conn
                except (OSError, ValueError):  # a caller gone before it asked: no child
                    conn.close()
            else:
                os.read(wake_read, 4096)
        while waiting:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            if (caller := waiting.pop(pid, None)) is not None:
                with contextlib.suppress(OSError):  # a caller that timed out has gone
                    caller.sendall(NUMBER.pack(os.waitstatus_to_exitcode(status)))
                caller.close()
    # The test process is gone (killed: its exit would have stopped this one first).
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


# --- the caller --------------------------------------------------------------------------------


class _Zygote:
    """This process's zygote, started on first use and stopped at exit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.path = ""

    def socket_path(self) -> str:
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                folder = tempfile.mkdtemp(prefix="cli-fork-")
                self.path = os.path.join(folder, "socket")
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "tests.cli_fork", self.path],
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                )
                atexit.register(self.stop, self.process, folder)
                deadline = time.monotonic() + 60
                while not os.path.exists(self.path):
                    if self.process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the CLI's zygote did not start")
                    time.sleep(0.02)
            return self.path

    @staticmethod
    def stop(process: subprocess.Popen[bytes], folder: str) -> None:
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


_ZYGOTE = _Zygote()


def _read_both(pipes: dict[int, bytearray], deadline: float) -> bool:
    """Read the child's stdout and stderr to their ends; False when the deadline came first."""
    selector = selectors.DefaultSelector()
    for fd in pipes:
        selector.register(fd, selectors.EVENT_READ)
    try:
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for key, _ in selector.select(timeout=left):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    pipes[key.fd] += chunk
                else:
                    selector.unregister(key.fd)
        return True
    finally:
        selector.close()


def _text(data: bytes) -> str:
    """As ``subprocess.run(text=True)`` decodes: UTF-8, universal newlines."""
    return data.decode().replace("\r\n", "\n").replace("\r", "\n")


def run_cli(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python starter.py ARGS``."""
    return run_python(str(STARTER), *args, env=env, cwd=cwd, timeout=timeout)


class Forked:
    """A forked ``python ARGV``, answering as much of ``subprocess.Popen`` as the tests use:
    its pid, signals, and its exit code (which its zygote, its parent, reports)."""

    def __init__(self, argv: list[str], conn: socket.socket, pid: int) -> None:
        self.args = [sys.executable, *argv]
        self.pid = pid
        self.returncode: int | None = None
        self._conn = conn

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # ended, not yet reported
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._conn.settimeout(timeout)
            try:
                (self.returncode,) = NUMBER.unpack(_receive_exactly(self._conn, NUMBER.size))
            except (TimeoutError, BlockingIOError):  # BlockingIOError: a timeout of 0
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
            self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.wait(0)
        return None


def fork_python(
    *argv: str, env: dict[str, str], cwd: Path | None = None, streams: tuple[int, int, int]
) -> Forked:
    """``python ARGV`` (a script and its arguments, or ``-m MODULE ...``) in ``cwd`` with
    ``env``, its standard input, output and error on ``streams`` (this process's
    descriptors, still its own to close), as ``subprocess.Popen`` starts it."""
    payload = json.dumps({"argv": list(argv), "env": env, "cwd": str(cwd or "")}).encode()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(_ZYGOTE.socket_path())
        socket.send_fds(conn, [LENGTH.pack(len(payload))], list(streams))
        conn.sendall(payload)
        (pid,) = NUMBER.unpack(_receive_exactly(conn, NUMBER.size))
    except BaseException:
        conn.close()
        raise
    return Forked(list(argv), conn, pid)


def run_python(
    *argv: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python ARGV`` as ``subprocess.run`` with ``capture_output=True, text=True`` answers it."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    stdin = os.open(os.devnull, os.O_RDONLY)
    try:
        try:
            child = fork_python(*argv, env=env, cwd=cwd, streams=(stdin, out_write, err_write))
        finally:
            for fd in (stdin, out_write, err_write):
                os.close(fd)
        pipes = {out_read: bytearray(), err_read: bytearray()}
        if not _read_both(pipes, time.monotonic() + timeout):
            child.kill()
            child.wait()
            raise subprocess.TimeoutExpired(child.args, timeout)
        code = child.wait()
    finally:
        for fd in (out_read, err_read):
            os.close(fd)
    return subprocess.CompletedProcess(
        child.args, code, _text(bytes(pipes[out_read])), _text(bytes(pipes[err_read]))
    )


if __name__ == "__main__":
    serve(sys.argv[1])
