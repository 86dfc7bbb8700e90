"""What an open incident costs the worker that keeps it cached, and what a cache miss costs.

Opens N incidents (discovered, their clocks armed) on the embedded dev server, with a
worker whose sticky cache holds them all, and measures the worker process's resident
memory before and after: the memory per cached incident, which sizes
``BREACHCLOCK_MAX_CACHED_WORKFLOWS``. Then it asks every incident for its status twice:
from that worker (cached), and from a worker with a cache of two (a miss: a fresh
sandbox replays the incident's history first), in the same run.

    .venv/bin/python -m bench.cache [--n 500]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench.embedded import embedded, line, open_incident
from breachclock.app.engine import build_worker, relay_for
from breachclock.domain.incident.model import Discover
from breachclock.runtime.config import Settings
from workflows.incident import IncidentWorkflow

MIB = 1024 * 1024


def rss() -> int:
    """This process's resident memory, bytes (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def opened(env: Any, settings: Settings, n: int) -> list[Any]:
    gate = asyncio.Semaphore(20)

    async def one() -> Any:
        async with gate:
            handle = await open_incident(env, settings, "CACHE")
            await handle.execute_update(
                IncidentWorkflow.discover,
                Discover(at=datetime.now(UTC), by="bench", how="bench"),
            )
            return handle

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def queries(handles: list[Any]) -> list[float]:
    times = []
    for handle in handles:
        began = time.perf_counter()
        await handle.query(IncidentWorkflow.status)
        times.append(time.perf_counter() - began)
    return times


async def main(n: int) -> None:
    async with embedded("bench-cache") as (env, settings):
        cached = settings.model_copy(update={"max_cached_workflows": n + 100})
        async with build_worker(env.client, cached, relay_for(settings)):
            await asyncio.sleep(1)
            gc.collect()
            before = rss()
            began = time.perf_counter()
            handles = await opened(env, settings, n)
            setup = time.perf_counter() - began
            await asyncio.sleep(2)  # the last tasks (policy, read model) settle
            gc.collect()
            per = (rss() - before) / n
            hits = await queries(handles)
        missing = settings.model_copy(update={"max_cached_workflows": 2})
        async with build_worker(env.client, missing, relay_for(settings)):
            misses = await queries(handles)
    print(f"set-up: {n} incidents opened and discovered in {setup:.1f} s ({n / setup:.0f}/s)")
    print(f"memory per cached incident: {per / 1024:.0f} KiB (RSS of the worker process)")
    print(f"  so 10,000 cached incidents: {per * 10_000 / MIB:.0f} MiB")
    print(line("status query, cached", hits))
    print(line("status query, cache miss (replay)", misses))
    print(
        f"ratio (median miss / median hit): {statistics.median(misses) / statistics.median(hits):.1f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=500, help="open incidents")
    asyncio.run(main(parser.parse_args().n))
