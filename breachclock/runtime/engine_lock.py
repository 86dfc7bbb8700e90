"""One engine per data folder: a lock held while it runs (with its process id, for
``make stop``), and a check, before anything starts, that the ports it would listen
on are free; either failing is one line that says what holds it.

The engine also records the processes it started (the embedded Temporal dev server,
the console's process), with their start times: an engine killed with SIGKILL cannot
stop them, and the next
``run`` or ``stop`` on the folder finds them from that record (the start time tells a
process that is still the one recorded from another that got its id since) and ends
them, saying so."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

LOCK_FILE = "engine.lock"
CHILDREN_FILE = "engine-children.json"


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
            # As the servers themselves bind: the sockets a stopped engine left in
            # TIME_WAIT do not keep it from starting again at once (a listener does).
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as err:
                if err.errno != errno.EADDRINUSE:
                    raise
                raise EngineBusy(
                    f"port {port} ({name}) is taken on 127.0.0.1: another engine or program "
                    "listens there; stop it (make stop) or choose another port"
                ) from None


def started_at(pid: int) -> int | None:
    """A running process's start time (clock ticks since boot); None when there is no
    such process, or only its exit status is left (a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if stat[0] == "Z" else int(stat[19])


def children_of(parent: int) -> list[int]:
    """A process's children, as the kernel lists them."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def record_children(data_dir: Path, what: str, pids: list[int] | None = None) -> None:
    """Write down this engine's child processes ``pids`` (all its children now, if not
    given) as ``what`` they are, beside those recorded before, to be found if the engine
    dies without stopping them."""
    found = pids if pids is not None else children_of(os.getpid())
    record = [c for c in recorded(data_dir) if int(c["pid"]) not in found]
    record += [
        {"pid": pid, "started": started_at(pid), "what": what, "engine": os.getpid()}
        for pid in found
    ]
    write_record(data_dir, record)


def forget_children(data_dir: Path, pids: list[int] | None = None) -> None:
    """The engine stopped these children (all, if not given) itself: nothing is left to
    find of them."""
    if pids is None:
        (data_dir / CHILDREN_FILE).unlink(missing_ok=True)
        return
    write_record(data_dir, [c for c in recorded(data_dir) if int(c["pid"]) not in pids])


def recorded(data_dir: Path) -> list[dict[str, Any]]:
    """The children recorded on ``data_dir`` (none where the record is missing or torn)."""
    try:
        record = json.loads((data_dir / CHILDREN_FILE).read_text())
    except (OSError, ValueError):
        return []
    return record if isinstance(record, list) else []


def write_record(data_dir: Path, record: list[dict[str, Any]]) -> None:
    """Replace the record at once (a new file renamed over it): an engine killed while
    writing leaves the old record or the new one, never half of one."""
    path = data_dir / CHILDREN_FILE
    fresh = path.with_suffix(".new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(record))
    os.replace(fresh, path)


def end_orphans(data_dir: Path, wait: float = 10.0) -> list[str]:
    """End what a dead engine on ``data_dir`` left running (SIGTERM, then SIGKILL after
    ``wait`` s); one line per process, saying what was done. Call only without an engine
    on the folder (its lock free)."""
    said = []
    for child in recorded(data_dir):
        pid = int(child["pid"])
        if child.get("started") is None or started_at(pid) != child["started"]:
            continue  # gone, or the id now belongs to another process
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        how = "stopped"
        deadline = time.monotonic() + wait
        while started_at(pid) == child["started"] and time.monotonic() < deadline:
            reap(pid)
            time.sleep(0.1)
        if started_at(pid) == child["started"]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            how = "killed"
        said.append(
            f"{how} the {child['what']} (pid {pid}) that engine pid {child['engine']} "
            "left running when it died"
        )
    forget_children(data_dir)
    return said


def reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our own child (else it is init's to reap)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop(data_dir: Path, wait: float = 30.0) -> str:
    """Ask the engine holding ``data_dir`` to stop (SIGTERM, as Ctrl-C) and wait for it;
    with no engine running, end what a dead one left running."""
    pid = holder(data_dir)
    if pid is None:
        orphans = end_orphans(data_dir)
        return "; ".join(orphans) if orphans else f"no engine is running on {data_dir}"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if holder(data_dir) is None:
            return f"engine (pid {pid}) stopped"
        time.sleep(0.2)
    raise EngineBusy(f"engine (pid {pid}) did not stop within {wait:.0f} s")
