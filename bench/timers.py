"""How punctually the engine's clocks fire with many incidents open at once.

Opens N incidents on the embedded dev server (SQLite, as ``make run``), each
discovered so that its initial report falls due at a staggered moment in the
next ``--spread`` seconds, and measures how late each auto-filing went out
against the moment it was due to go (deadline minus the one-minute auto-file
margin), from the filing's own record. With the margin the filing is in before
the deadline, as in production, so no overdue page competes with it. The
baseline, measured in the same run, is the same schedule of plain asyncio
timers in this process: the lateness the machine itself adds.

    .venv/bin/python -m bench.timers [--n 1000] [--spread 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.embedded import embedded, open_incident, percentile
from breachclock.config import Settings
from breachclock.incident.model import Discover, IncidentState
from breachclock.worker import build_worker, relay_for
from breachclock.workflows.incident import IncidentWorkflow

MARGIN_MINUTES = 1


def describe(name: str, lateness: list[float]) -> str:
    ordered = sorted(lateness)
    p99 = percentile(ordered, 0.99)
    return (
        f"{name:34} n={len(ordered)}  median {statistics.median(ordered) * 1000:8.1f} ms"
        f"  p99 {p99 * 1000:8.1f} ms  max {ordered[-1] * 1000:8.1f} ms"
    )


async def baseline(offsets: list[float]) -> list[float]:
    start = time.perf_counter()

    async def one(offset: float) -> float:
        await asyncio.sleep(offset)
        return time.perf_counter() - start - offset

    return list(await asyncio.gather(*(one(o) for o in offsets)))


async def main(n: int, spread: float) -> None:
    async with embedded("bench-timers", BREACHCLOCK_AUTO_FILE_MARGIN_MINUTES=MARGIN_MINUTES) as (
        env,
        settings,
    ):
        lateness = await run(env, settings, n, spread)
    offsets = [spread * i / n for i in range(n)]
    floor = await baseline(offsets)
    print(describe("auto-filing after it was due to go", lateness))
    print(describe("baseline: asyncio timers", floor))
    p99 = percentile(lateness, 0.99)
    print(
        f"ratio (median lateness / median baseline): {statistics.median(lateness) / statistics.median(floor):.0f}x"
    )
    print(f"target p99 <= 1 s: {'met' if p99 <= 1.0 else 'MISSED'} ({p99:.3f} s)")


async def run(env: Any, settings: Settings, n: int, spread: float) -> list[float]:
    gate = asyncio.Semaphore(20)
    async with build_worker(env.client, settings, relay_for(settings)):

        async def open_one() -> Any:
            async with gate:
                return await open_incident(env, settings, "TIMER")

        handles = await asyncio.gather(*(open_one() for _ in range(n)))
        # Every discovery must be in before the first deadline falls.
        first_due = datetime.now(UTC) + timedelta(seconds=10 + n * 0.1, minutes=MARGIN_MINUTES)

        async def discover(i: int, handle: Any) -> None:
            aware = first_due + timedelta(seconds=spread * i / n) - timedelta(hours=24)
            async with gate:
                await handle.execute_update(
                    IncidentWorkflow.discover, Discover(at=aware, by="bench", how="bench")
                )

        await asyncio.gather(*(discover(i, h) for i, h in enumerate(handles)))
        first_fire = first_due - timedelta(minutes=MARGIN_MINUTES)
        assert datetime.now(UTC) < first_fire, "discoveries took longer than planned"
        await asyncio.sleep((first_fire - datetime.now(UTC)).total_seconds() + spread + 10)
        states: list[IncidentState] = [await h.query(IncidentWorkflow.status) for h in handles]
    lateness = []
    for state in states:
        assert state.filings, f"{state.reference} was not filed"
        filing = state.filings[0]
        assert filing.due_at is not None
        due_to_go = filing.due_at - timedelta(minutes=MARGIN_MINUTES)
        lateness.append((filing.sent_at - due_to_go).total_seconds())
    return lateness


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="open incidents")
    parser.add_argument(
        "--spread", type=float, default=60.0, help="seconds over which deadlines fall"
    )
    args = parser.parse_args()
    asyncio.run(main(args.n, args.spread))
