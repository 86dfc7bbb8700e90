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
import contextlib
import gc
import itertools
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from activities import api
from bench.embedded import embedded, open_incident, percentile
from breachclock.app.engine import build_worker, relay_for
from breachclock.domain.incident.model import Discover, IncidentState
from breachclock.runtime.config import Settings
from tests.history_events import local_activity_type
from workflows.incident import REARM_LEAD, IncidentWorkflow

ESCALATION_LEAD = timedelta(minutes=2)
MARGIN = timedelta(minutes=1)
SETUP_PER_INCIDENT = 0.15
"""Seconds budgeted to open and discover one incident (``--setup``): 0.1 s measured on a
loaded machine, 0.03 s on a quiet one."""
SETTLE = timedelta(minutes=3)
"""How long after the last filing was due the bench waits for every one to be sent."""
TARGET_P99 = 0.1
TARGET_MAX = 0.5
"""Issue 23: pages and auto-filings at most this late (seconds), p99 and worst."""
PHASES = (
    "  timer fired",
    "  task: activity scheduled",
    "  activity waited for a slot",
    "  activity: to the relay's acceptance",
)
"""Where a page's or filing's lateness goes, by its incident's history (the server's
times), for one sent by an activity task: the timer's own lateness, the workflow task
that starts the activity, the activity task's wait for a worker's slot, and the
activity up to the relay's acceptance (the ``sent_at`` measured,
``workflows.base.SENT_AT_ACCEPTANCE``)."""
LOCAL_PHASES = ("  timer fired", "  task started", "  sent from the task (local activity)")
"""The same for one sent as a local activity (``workflows.base.LOCAL_PAGES``): the
timer, the wait for the task it wakes, and the send from that task, to the relay's
acceptance (the ``sent_at`` measured)."""


def describe(name: str, lateness: list[float]) -> str:
    ordered = sorted(lateness)
    p99 = percentile(ordered, 0.99)
    return (
        f"{name:34} n={len(ordered)}  median {statistics.median(ordered) * 1000:8.1f} ms"
        f"  p99 {p99 * 1000:8.1f} ms  max {ordered[-1] * 1000:8.1f} ms"
    )


async def baseline(offsets: list[float]) -> list[float]:
    """The schedule's lateness as plain asyncio timers, each from the moment it was set.

    The run's garbage is collected first and the loop let settle: measured from one
    start taken before, every timer of one run came 0.73 s late, by the same amount
    (the loop was held as the baseline began, by what the run left behind)."""
    gc.collect()
    await asyncio.sleep(1)

    async def one(offset: float) -> float:
        start = time.perf_counter()
        await asyncio.sleep(offset)
        return time.perf_counter() - start - offset

    return list(await asyncio.gather(*(one(o) for o in offsets)))


async def main(n: int, spread: float, setup: float) -> None:
    async with embedded(
        "bench-timers",
        BREACHCLOCK_AUTO_FILE_MARGIN_MINUTES=int(MARGIN.total_seconds() // 60),
        BREACHCLOCK_ESCALATION_LEADS_MINUTES=[int(ESCALATION_LEAD.total_seconds() // 60)],
    ) as (env, settings):
        pages, filings = await run(env, settings, n, spread, timedelta(seconds=setup))
    offsets = [spread * i / n for i in range(n)]
    gap = (ESCALATION_LEAD - MARGIN).total_seconds()  # from an incident's page to its filing
    floor = await baseline(offsets + [o + gap for o in offsets])
    both = pages.total + filings.total
    for name, lateness in (
        ("escalation page after it was due", pages),
        ("auto-filing after it was due", filings),
    ):
        print(describe(name, lateness.total))
        for phase, seconds in lateness.phases.items():
            print(describe(phase, seconds))
    print(describe("both", both))
    print(describe("baseline: asyncio timers", floor))
    ratio = statistics.median(both) / statistics.median(floor)
    print(f"ratio (median lateness / median baseline): {ratio:.0f}x")
    p99 = percentile(both, 0.99)
    worst = max(both)
    met = p99 <= TARGET_P99 and worst <= TARGET_MAX
    print(
        f"target (issue 23) p99 <= {TARGET_P99 * 1000:.0f} ms, max <= {TARGET_MAX * 1000:.0f} ms:"
        f" {'met' if met else 'MISSED'} (p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms)"
    )


async def run(
    env: Any, settings: Settings, n: int, spread: float, setup: timedelta
) -> tuple[Lateness, Lateness]:
    gate = asyncio.Semaphore(20)
    async with build_worker(env.client, settings, relay_for(settings)):
        # The burst of set-up ends, with room to spare, before any exact timer is armed.
        first_due = datetime.now(UTC) + setup * n + 2 * REARM_LEAD + ESCALATION_LEAD

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
        states = await all_sent(handles)
    pages, filings = Lateness(), Lateness()
    gate = asyncio.Semaphore(20)

    async def split(handle: WorkflowHandle[Any, Any], state: IncidentState) -> None:
        assert len(state.pages) == 1 and state.filings, f"{state.reference}: not paged and filed"
        page, filing = state.pages[0], state.filings[0]
        assert page.due_at is not None and filing.due_at is not None
        page_due, filing_due = page.due_at - ESCALATION_LEAD, filing.due_at - MARGIN
        pages.total.append((page.sent_at - page_due).total_seconds())
        filings.total.append((filing.sent_at - filing_due).total_seconds())
        async with gate:
            events = list((await handle.fetch_history()).events)
        pages.add(phases(events, page_due, page.sent_at, api.SEND_PAGE))
        filings.add(phases(events, filing_due, filing.sent_at, api.FILE_REPORT))

    await asyncio.gather(*(split(h, s) for h, s in states))
    return pages, filings


async def all_sent(
    handles: list[WorkflowHandle[Any, Any]],
) -> list[tuple[WorkflowHandle[Any, Any], IncidentState]]:
    """Every incident with its state once it has paged and filed (a loaded machine can
    take longer than the schedule's last filing); those still not sent after ``SETTLE``
    are left out (and counted, not measured)."""
    done: dict[str, tuple[WorkflowHandle[Any, Any], IncidentState]] = {}
    gate = asyncio.Semaphore(20)

    async def look(handle: WorkflowHandle[Any, Any]) -> None:
        try:
            async with gate:
                state: IncidentState = await handle.query(IncidentWorkflow.status)
        except RPCError:  # a query timed out on a loaded machine: ask again
            return
        if state.pages and state.filings:
            done[handle.id] = (handle, state)

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SETTLE.total_seconds()):
            while len(done) < len(handles):
                await asyncio.gather(*(look(h) for h in handles if h.id not in done))
                await asyncio.sleep(1)
    if len(done) < len(handles):
        print(f"NOT SENT {SETTLE} after the last was due: {len(handles) - len(done)} incidents")
    return list(done.values())


@dataclass
class Lateness:
    total: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)

    def add(self, split: dict[str, float]) -> None:
        for name, seconds in split.items():
            self.phases.setdefault(name, []).append(seconds)


def phases(
    events: list[Any], due: datetime, sent_at: datetime, activity_type: str
) -> dict[str, float]:
    """The phases (``PHASES`` or ``LOCAL_PHASES``) of the step due at ``due`` and sent at
    ``sent_at`` by ``activity_type``, in seconds, from its incident's history."""

    def at(event: Any) -> datetime:
        return event.event_time.ToDatetime(UTC)  # type: ignore[no-any-return]

    fired = next(
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED and at(e) >= due - timedelta(seconds=1)
    )
    after = [e for e in events if e.event_id > fired.event_id]
    scheduled = next(
        (
            e
            for e in after
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name == activity_type
        ),
        None,
    )
    local = next((e for e in after if local_activity_type(e) == activity_type), None)
    if local is not None and (scheduled is None or local.event_id < scheduled.event_id):
        task = next(e for e in after if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        marks = [due, at(fired), at(task), sent_at]
        return dict(zip(LOCAL_PHASES, spans(marks), strict=True))
    assert scheduled is not None, f"no {activity_type} after the timer due at {due}"

    started = next(
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id == scheduled.event_id
    )
    marks = [due, at(fired), at(scheduled), at(started), sent_at]
    return dict(zip(PHASES, spans(marks), strict=True))


def spans(marks: list[datetime]) -> list[float]:
    return [(b - a).total_seconds() for a, b in itertools.pairwise(marks)]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="open incidents")
    parser.add_argument(
        "--spread", type=float, default=120.0, help="seconds over which deadlines fall"
    )
    parser.add_argument(
        "--setup",
        type=float,
        default=SETUP_PER_INCIDENT,
        help="seconds budgeted to open and discover each incident before the first clock",
    )
    args = parser.parse_args()
    asyncio.run(main(args.n, args.spread, args.setup))
