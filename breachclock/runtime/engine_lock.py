"""One engine per data folder: a lock held while it runs (with its process id, for
``make stop``), and a check, before anything starts, that the ports it would listen
on are free; either failing is one line that says what holds it."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

LOCK_FILE = "engine.lock"


class EngineBusy(Exception):
    """Another engine holds the data folder, or a port the engine needs is taken."""


@contextlib.contextmanager
def hold(data_dir: Path) -> Iterator[None]:
    """The data folder's lock, for as long as the engine runs; the file keeps the pid."""
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise EngineBusy(
            f"another engine (pid {holder(data_dir) or '?'}) is running on {data_dir}: "
            "use that one, or stop it first (make stop)"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.ftruncate(fd, 0)
        os.close(fd)  # closing releases the lock


def holder(data_dir: Path) -> int | None:
    """The pid of the engine holding ``data_dir``, if one does."""
    path = data_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = path.read_text().strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None  # nobody holds it: a file left by an engine that stopped
    finally:
        os.close(fd)


def ports_free(ports: Mapping[str, int]) -> None:
    """Each named port can be listened on at 127.0.0.1, or ``EngineBusy`` names it."""
    for name, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as err:
                if err.errno != errno.EADDRINUSE:
                    raise
                raise EngineBusy(
                    f"port {port} ({name}) is taken on 127.0.0.1: another engine or program "
                    "listens there; stop it (make stop) or choose another port"
                ) from None


def stop(data_dir: Path, wait: float = 30.0) -> str:
    """Ask the engine holding ``data_dir`` to stop (SIGTERM, as Ctrl-C) and wait for it."""
    pid = holder(data_dir)
    if pid is None:
        return f"no engine is running on {data_dir}"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if holder(data_dir) is None:
            return f"engine (pid {pid}) stopped"
        time.sleep(0.2)
    raise EngineBusy(f"engine (pid {pid}) did not stop within {wait:.0f} s")
