"""How late the loop's timers fire while filings are laid out: on a thread of the
engine's process (as before) or in its worker process (``offload.in_process``, now).

The engine's timers, pages and filings share one event loop; laying a filing out as a
PDF holds the GIL for tens of milliseconds. Here a ticker of asyncio timers (every
``--tick`` ms) runs while ``--n`` filings render, ``--parallel`` at a time, each way in
turn; the baseline is the same ticker with nothing rendering, in the same run.

    .venv/bin/python -m bench.render [--n 40] [--parallel 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.embedded import percentile
from breachclock.domain.incident.documents import render_documents
from breachclock.runtime import offload
from tests.filing_cases import COMVIQ


async def ticking(tick: float, work: Callable[[], Awaitable[Any]]) -> tuple[list[float], float]:
    """Each timer's lateness while ``work`` runs, and how long it took."""
    late: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            due = time.perf_counter() + tick
            await asyncio.sleep(tick)
            late.append(time.perf_counter() - due)

    task = asyncio.create_task(ticker())
    began = time.perf_counter()
    await work()
    took = time.perf_counter() - began
    done.set()
    await task
    return late, took


def describe(name: str, late: list[float], took: float) -> str:
    return (
        f"{name:28} ticks={len(late):5}  median {statistics.median(late) * 1000:6.1f} ms"
        f"  p99 {percentile(late, 0.99) * 1000:6.1f} ms  max {max(late) * 1000:6.1f} ms"
        f"  ({took:.1f} s)"
    )


async def main(n: int, parallel: int, tick: float) -> None:
    gate = asyncio.Semaphore(parallel)

    async def each(render: Callable[[], Awaitable[Any]]) -> None:
        async def one() -> None:
            async with gate:
                await render()

        await asyncio.gather(*(one() for _ in range(n)))

    async def thread() -> None:
        await each(lambda: asyncio.to_thread(render_documents, COMVIQ))

    async def process() -> None:
        await each(lambda: offload.in_process(render_documents, COMVIQ))

    async def idle() -> None:
        await asyncio.sleep(2)

    async with offload.process_held("breachclock.domain.incident.documents"):
        render_documents(COMVIQ)  # both warm: fonts and templates read
        await offload.in_process(render_documents, COMVIQ)
        rows = [
            ("baseline: nothing rendering", *await ticking(tick, idle)),
            ("on a thread (before)", *await ticking(tick, thread)),
            ("in the worker process (now)", *await ticking(tick, process)),
        ]
    for row in rows:
        print(describe(*row))
    base = percentile(rows[0][1], 0.99)
    for name, late, _ in rows[1:]:
        print(f"ratio p99 {name} / baseline: {percentile(late, 0.99) / base:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=40, help="filings rendered each way")
    parser.add_argument("--parallel", type=int, default=4, help="renderings at once")
    parser.add_argument("--tick", type=float, default=0.005, help="the ticker's period, s")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.parallel, args.tick))
