"""CPU work off the event loop that fires the engine's timers and serves its pages.

The web shares the engine's event loop (``make run``): an argon2 hash (tens of
milliseconds by design) or the parsing of a subscriber list of megabytes run on it
held up every page and every activity of the worker meanwhile. Two bounded pools:

- ``in_thread``: short work that releases the GIL (a file's size), on a few threads;
- ``in_low_thread``: password hashing (argon2: a quarter of a second of C on four lanes,
  by design), one at a time on one thread at a lower priority. Releasing the GIL was
  not enough: twenty sign-ins at once ran four hashes of four lanes each on two cores,
  and the loop waited for a core (register p95 5.9x idle, a heartbeat activity's 3x).
  One hash at a time, niced, leaves the loop a core and first claim on it; sign-ins
  queue instead (and the sign-in throttle refuses a flood before it hashes);
- ``in_process``: pure-Python work (parsing and checking a list row by row, which holds
  the GIL), in one worker process of its own, started on first use ("spawn": no copy
  of the engine's threads and connections).

All are bounded (at most ``THREADS``, ``HASHERS`` and ``PROCESSES`` at once; the rest
wait their turn on the loop without blocking it).

The engine holds the worker process for its whole life (``process_held``): it starts with
the engine, so the first filing does not wait for a spawn and its imports, and stops with
it. A worker process that dies (killed, out of memory) breaks its pool: the call that
finds it broken drops that pool, so the next call (an activity's retry) starts a fresh
one, and raises ``WorkerProcessLost``, not the pool's ``BrokenProcessPool``: the Temporal
SDK stops the whole activity worker on an activity's ``BrokenExecutor``. A filing
rendered there is mailed by the caller, under its business key, so a retry neither loses
nor repeats it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

THREADS = 4
HASHERS = 1
PROCESSES = 1
LOW_QUEUE = 32
"""Hashes that may wait for the hashing thread (a quarter of a second each: 8 s)."""
LOW_PRIORITY = 10
"""The hashing thread's niceness (Linux: per thread, and inherited by argon2's lanes)."""
ORPHAN_CHECK = 1.0
"""Seconds between a worker process's looks at whether its engine still runs."""


class WorkerProcessLost(Exception):
    """The worker process died before it answered; try again (a fresh one starts)."""


_pools: dict[str, Executor] = {}
_low_waiting = 0
_holders = 0


def _pool(kind: str) -> Executor:
    if kind not in _pools:
        if kind == "thread":
            _pools[kind] = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="cpu")
        elif kind == "low":
            _pools[kind] = ThreadPoolExecutor(
                max_workers=HASHERS, thread_name_prefix="hash", initializer=_lower_priority
            )
        else:
            context = multiprocessing.get_context("spawn")
            _pools[kind] = ProcessPoolExecutor(
                max_workers=PROCESSES,
                mp_context=context,
                initializer=_exit_with,
                initargs=(os.getpid(),),
            )
    return _pools[kind]


def _exit_with(parent: int) -> None:
    """In the worker process: end when ``parent`` does. A worker process whose engine was
    killed (``kill -9``, out of memory) otherwise waits for work forever, an orphan."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-engine", daemon=True).start()


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on the CPU threads (for short work that releases the GIL)."""
    return await asyncio.get_running_loop().run_in_executor(
        _pool("thread"), partial(fn, *args, **kwargs)
    )


async def in_low_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on the hashing thread, after the hashes queued before it."""
    global _low_waiting
    _low_waiting += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(
            _pool("low"), partial(fn, *args, **kwargs)
        )
    finally:
        _low_waiting -= 1


def low_thread_full() -> bool:
    """As many hashes wait as ``LOW_QUEUE`` allows: a caller refuses instead of queueing
    (sign-ins from many addresses at once, each within its own tries)."""
    return _low_waiting >= LOW_QUEUE


def _lower_priority() -> None:
    """Nice this thread only (on Linux ``setpriority`` takes a thread's id); elsewhere
    the hashing thread keeps the process's priority."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY)


async def in_process(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the worker process (``fn`` and its arguments and
    result travel pickled: a module-level function, plain values)."""
    pool = _pool("process")
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, partial(fn, *args, **kwargs))
    except BrokenProcessPool as err:
        if _pools.get("process") is pool:  # not already replaced by another caller
            del _pools["process"]
        pool.shutdown(wait=False, cancel_futures=True)
        raise WorkerProcessLost(str(err)) from None


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` (pure-Python CPU work, holding the GIL) where it holds up no timer:
    in the worker process where an engine holds one (``process_held``), else, in a
    short-lived client (a CLI command, with nothing else on its loop), on a thread,
    rather than spawning a process for one call."""
    if _holders > 0:
        return await in_process(fn, *args)
    return await in_thread(fn, *args)


def _import(module: str) -> None:
    importlib.import_module(module)


@contextlib.asynccontextmanager
async def process_held(*modules: str) -> AsyncIterator[None]:
    """The worker process, started now with ``modules`` imported in it, and stopped when
    the last holder (an engine; tests run several in one process) lets go."""
    global _holders
    _holders += 1
    try:
        for module in modules:
            await in_process(_import, module)
        yield
    finally:
        _holders -= 1
        if _holders == 0 and "process" in _pools:
            _pools.pop("process").shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop the pools (a process exiting; the next use starts them again)."""
    for pool in _pools.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _pools.clear()
