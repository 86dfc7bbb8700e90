"""How punctually the engine's clocks fire with many incidents open at once.

Opens N incidents on the embedded dev server (SQLite, as ``make run``) and
discovers each so that its initial report falls due at a staggered moment over
``--spread`` seconds. Each incident has one escalation page, due two minutes
before its deadline, and its auto-filing, due one minute before (the margin
keeps the filing ahead of the deadline, as in production, so no overdue page
competes with it). Pages and filings of different incidents interleave. From
each incident's own record the bench measures how late every page and filing
went out against the moment it was due to go.

Opening and discovering the incidents is a burst of its own; the deadlines are
placed so that the burst is over before the first escalation's exact timer is
armed (``REARM_LEAD`` before it): the measured window holds N open incidents
and their clocks, not the set-up.

The baseline, measured in the same run, is the same schedule of plain asyncio
timers in this process: the lateness the machine itself adds.

    .venv/bin/python -m bench.timers [--n 1000] [--spread 120]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.embedded import embedded, open_incident, percentile
from breachclock.app.engine import build_worker, relay_for
from breachclock.domain.incident.model import Discover, IncidentState
from breachclock.runtime.config import Settings
from workflows.incident import REARM_LEAD, IncidentWorkflow

ESCALATION_LEAD = timedelta(minutes=2)
MARGIN = timedelta(minutes=1)
SETUP_PER_INCIDENT = timedelta(seconds=0.15)
"""Time budgeted to open and discover one incident (measured: about 0.1 s)."""


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
    async with embedded(
        "bench-timers",
        BREACHCLOCK_AUTO_FILE_MARGIN_MINUTES=int(MARGIN.total_seconds() // 60),
        BREACHCLOCK_ESCALATION_LEADS_MINUTES=[int(ESCALATION_LEAD.total_seconds() // 60)],
    ) as (env, settings):
        pages, filings = await run(env, settings, n, spread)
    offsets = [spread * i / n for i in range(n)]
    gap = (ESCALATION_LEAD - MARGIN).total_seconds()  # from an incident's page to its filing
    floor = await baseline(offsets + [o + gap for o in offsets])
    both = pages + filings
    print(describe("escalation page after it was due", pages))
    print(describe("auto-filing after it was due", filings))
    print(describe("both", both))
    print(describe("baseline: asyncio timers", floor))
    ratio = statistics.median(both) / statistics.median(floor)
    print(f"ratio (median lateness / median baseline): {ratio:.0f}x")
    p99 = percentile(both, 0.99)
    print(f"target p99 <= 1 s: {'met' if p99 <= 1.0 else 'MISSED'} ({p99:.3f} s)")


async def run(
    env: Any, settings: Settings, n: int, spread: float
) -> tuple[list[float], list[float]]:
    gate = asyncio.Semaphore(20)
    async with build_worker(env.client, settings, relay_for(settings)):
        # The burst of set-up ends, with room to spare, before any exact timer is armed.
        first_due = datetime.now(UTC) + SETUP_PER_INCIDENT * n + 2 * REARM_LEAD + ESCALATION_LEAD

        async def open_and_discover(i: int) -> Any:
            aware = first_due + timedelta(seconds=spread * i / n) - timedelta(hours=24)
            async with gate:
                handle = await open_incident(env, settings, "TIMER")
                await handle.execute_update(
                    IncidentWorkflow.discover, Discover(at=aware, by="bench", how="bench")
                )
            return handle

        began = time.perf_counter()
        handles = await asyncio.gather(*(open_and_discover(i) for i in range(n)))
        took = time.perf_counter() - began
        print(f"set-up: {n} incidents opened and discovered in {took:.1f} s ({n / took:.0f}/s)")
        first_armed = first_due - ESCALATION_LEAD - REARM_LEAD
        assert datetime.now(UTC) < first_armed, "set-up took longer than planned"
        last_filing = first_due + timedelta(seconds=spread) - MARGIN
        await asyncio.sleep((last_filing - datetime.now(UTC)).total_seconds() + 10)
        states: list[IncidentState] = [await h.query(IncidentWorkflow.status) for h in handles]
    pages, filings = [], []
    for state in states:
        assert len(state.pages) == 1 and state.filings, f"{state.reference}: not paged and filed"
        page, filing = state.pages[0], state.filings[0]
        assert page.due_at is not None and filing.due_at is not None
        pages.append((page.sent_at - (page.due_at - ESCALATION_LEAD)).total_seconds())
        filings.append((filing.sent_at - (filing.due_at - MARGIN)).total_seconds())
    return pages, filings


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="open incidents")
    parser.add_argument(
        "--spread", type=float, default=120.0, help="seconds over which deadlines fall"
    )
    args = parser.parse_args()
    asyncio.run(main(args.n, args.spread))
