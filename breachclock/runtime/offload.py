"""CPU work off the event loop that fires the engine's timers and serves its pages.

The web shares the engine's event loop (``make run``): an argon2 hash (tens of
milliseconds by design) or the parsing of a subscriber list of megabytes run on it
held up every page and every activity of the worker meanwhile. Two bounded pools:

- ``in_thread``: work that releases the GIL (argon2's C code), on a few threads;
- ``in_process``: pure-Python work (parsing and checking a list row by row, which holds
  the GIL), in one worker process of its own, started on first use ("spawn": no copy
  of the engine's threads and connections).

Both are bounded (at most ``THREADS`` hashes and ``PROCESSES`` parses at once; the rest
wait their turn on the loop without blocking it).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

THREADS = 4
PROCESSES = 1

_pools: dict[str, Executor] = {}


def _pool(kind: str) -> Executor:
    if kind not in _pools:
        if kind == "thread":
            _pools[kind] = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="cpu")
        else:
            context = multiprocessing.get_context("spawn")
            _pools[kind] = ProcessPoolExecutor(max_workers=PROCESSES, mp_context=context)
    return _pools[kind]


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on the CPU threads (for work that releases the GIL)."""
    return await asyncio.get_running_loop().run_in_executor(
        _pool("thread"), partial(fn, *args, **kwargs)
    )


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
