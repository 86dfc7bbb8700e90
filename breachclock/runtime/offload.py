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
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
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

_pools: dict[str, Executor] = {}
_low_waiting = 0


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
            _pools[kind] = ProcessPoolExecutor(max_workers=PROCESSES, mp_context=context)
    return _pools[kind]


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
    return await asyncio.get_running_loop().run_in_executor(
        _pool("process"), partial(fn, *args, **kwargs)
    )


def shutdown() -> None:
    """Stop the pools (a process exiting; the next use starts them again)."""
    for pool in _pools.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _pools.clear()
