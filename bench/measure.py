"""What a campaign benchmark measures besides its rate: memory and histories.

Shared by ``bench.notify`` (e-mail and calls) and ``bench.sms`` (SMS through Kannel):
each loads its list through the incident, starts the campaign with ``decide_notice``,
and waits for the wave to finish (``run_campaign``), while ``Memory`` takes the peak
resident memory of this process (the worker) and of the Temporal server, and ``runs``
reads every run's history (through continue-as-new) for its size.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import re
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from bench import cpu
from bench.embedded import open_incident
from breachclock.domain.ids import campaign_id
from breachclock.domain.incident.model import IncidentState, Wave
from breachclock.domain.notify.assessment import Assessment, Decision
from breachclock.domain.notify.notice import IncidentNotice
from breachclock.domain.notify.subscribers import Subscriber
from breachclock.runtime.config import Settings
from breachclock.runtime.store import open_notify_store
from breachclock.runtime.temporal import WORKFLOW_ID_PREFIX
from breachclock.service.notification import load_list
from workflows.campaign import CampaignProgress
from workflows.incident import IncidentWorkflow
from workflows.messages import MAX_LOAD_PAGE

HARMFUL: dict[str, Any] = {
    "data_kinds": ["secret_number_or_address"],
    "consequences": ["physical_harm"],
    "stolen": False,
    "known_with_third_party": True,
}
"""An assessment under which everyone must be told."""
ALL_DAY = "00:00-23:59"
"""Calling hours: the window's end (23:59) is excluded, so calls wait over that minute."""

ACTIVITY_ENDS = (
    "activity_task_completed_event_attributes",
    "activity_task_failed_event_attributes",
    "activity_task_timed_out_event_attributes",
    "activity_task_canceled_event_attributes",
)


# -------------------------------------------------------------------- memory


def status_kib(pid: int, name: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{name}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else None


def server_pid(port: int) -> int | None:
    """The Temporal dev server: a ``temporal`` process listening on ``port``."""
    ours = os.getpid()
    found: list[tuple[bool, int]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if not argv or not Path(argv[0].decode(errors="replace")).name.startswith("temporal"):
            continue
        if not any(str(port).encode() in arg for arg in argv[1:]):
            continue
        found.append((cpu.parent_of(stat) == ours, int(entry.name)))
    return max(found)[1] if found else None


def reset_peak(pid: int) -> bool:
    """Reset the process's VmHWM to its present VmRSS (Linux: clear_refs 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def trim() -> None:
    """Give freed memory back to the system, so the next phase's peak is its own."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@dataclass
class Peak:
    worker_kib: int
    server_kib: int | None
    since_start: bool
    """True when the peak could not be reset: it is the peak since the process started."""

    def show(self) -> str:
        server = "?" if self.server_kib is None else f"{self.server_kib / 1024:.0f} MiB"
        note = " (peak since start: could not reset)" if self.since_start else ""
        return f"worker peak RSS {self.worker_kib / 1024:.0f} MiB, server peak RSS {server}{note}"


class Memory:
    def __init__(self, server: int | None) -> None:
        self.server = server
        self._reset = False

    def start(self) -> None:
        trim()
        self._reset = reset_peak(os.getpid())
        if self.server is not None:
            reset_peak(self.server)

    def stop(self) -> Peak:
        worker = (
            status_kib(os.getpid(), "VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        )
        server = None if self.server is None else status_kib(self.server, "VmHWM")
        return Peak(worker, server, not self._reset)


# ----------------------------------------------------------------- histories


@dataclass
class RunStats:
    workflow_id: str
    run_id: str
    events: int
    size: int
    """Bytes of the run's history."""
    pending: int
    """The most activities scheduled and not yet finished at once."""
    activities: int
    busy: float
    """Seconds from each activity's start to its completion, summed."""
    first: datetime | None
    last: datetime | None


async def runs(client: Client, workflow_id: str) -> list[RunStats]:
    """Every run of a workflow, newest first, following continue-as-new back to the first."""
    found: list[RunStats] = []
    run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        pending = peak = activities = 0
        busy = 0.0
        started: dict[int, datetime] = {}
        for event in history.events:
            kind = event.WhichOneof("attributes")
            if kind == "activity_task_scheduled_event_attributes":
                pending += 1
                activities += 1
                peak = max(peak, pending)
            elif kind == "activity_task_started_event_attributes":
                started[event.event_id] = event.event_time.ToDatetime()
            elif kind in ACTIVITY_ENDS:
                pending -= 1
                if kind == "activity_task_completed_event_attributes":
                    began = started.get(
                        event.activity_task_completed_event_attributes.started_event_id
                    )
                    if began is not None:
                        busy += (event.event_time.ToDatetime() - began).total_seconds()
        events = history.events
        found.append(
            RunStats(
                workflow_id=workflow_id,
                run_id=run_id,
                events=len(events),
                size=sum(e.ByteSize() for e in events),
                pending=peak,
                activities=activities,
                busy=busy,
                first=events[0].event_time.ToDatetime() if events else None,
                last=events[-1].event_time.ToDatetime() if events else None,
            )
        )
        opening = events[0].workflow_execution_started_event_attributes if events else None
        run_id = opening.continued_execution_run_id if opening is not None else ""
    return found


# ------------------------------------------------------------------ a campaign


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "-"


def verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


@dataclass
class Run:
    """One campaign, measured: the list's load apart from the campaign itself."""

    people: int
    load_seconds: float
    load_peak: Peak
    seconds: float
    """From ``decide_notice`` to the wave seen finished."""
    workflow_seconds: float
    """The same, on the workflows' clock (the wave's started_at to finished_at)."""
    peak: Peak
    state: IncidentState
    wave: Wave
    incident: list[RunStats]
    campaign: list[RunStats]
    cpu: dict[str, float]
    """CPU seconds by process over the campaign (``bench.cpu``), decide to finished."""

    @property
    def load_pages(self) -> int:
        return (self.people + MAX_LOAD_PAGE - 1) // MAX_LOAD_PAGE


async def run_campaign(
    env: WorkflowEnvironment,
    settings: Settings,
    memory: Memory,
    crowd: list[Subscriber],
    notice: Callable[[str], IncidentNotice],
    decision: Decision,
    before_decision: Callable[[], object] = lambda: None,
) -> Run:
    """A fresh incident whose assessment says everyone must be told: ``crowd`` loaded in
    pages as an upload is, ``notice(reference)`` set, then ``decision`` taken and waited
    on until the incident records its wave finished. ``before_decision`` runs just
    before (to zero a counter). ``crowd`` is emptied as it is loaded."""
    handle: WorkflowHandle[Any, Any] = await open_incident(env, settings, "NOTIFY")
    reference = handle.id.removeprefix(WORKFLOW_ID_PREFIX)
    await handle.execute_update(IncidentWorkflow.assess, Assessment.model_validate(HARMFUL))
    people = len(crowd)
    everyone = list(crowd)
    crowd.clear()

    memory.start()
    started = time.perf_counter()
    async with open_notify_store(settings) as store:
        await load_list(handle, store, reference, "affected.csv", everyone)
    load_seconds = time.perf_counter() - started
    load_peak = memory.stop()
    del everyone
    await handle.execute_update(IncidentWorkflow.set_notice, notice(reference))
    before_decision()

    memory.start()
    cpu_before = cpu.used()
    started = time.perf_counter()
    await handle.execute_update(IncidentWorkflow.decide_notice, decision)
    await env.client.get_workflow_handle(
        campaign_id(reference, 1), result_type=CampaignProgress
    ).result()
    while True:
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        wave: Wave = state.notification.waves[0]
        if wave.finished_at is not None:
            break
        await asyncio.sleep(0.02)
    seconds = time.perf_counter() - started
    spent = cpu.since(cpu_before)
    peak = memory.stop()
    return Run(
        people=people,
        load_seconds=load_seconds,
        load_peak=load_peak,
        seconds=seconds,
        workflow_seconds=(wave.finished_at - wave.started_at).total_seconds(),
        peak=peak,
        state=state,
        wave=wave,
        incident=await runs(env.client, handle.id),
        campaign=await runs(env.client, campaign_id(reference, 1)),
        cpu=spent,
    )
