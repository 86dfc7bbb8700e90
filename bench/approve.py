"""How long from ``approve`` to the regulator's mail accepted by the SMTP server, and
where that time goes.

Runs on the embedded dev server (SQLite, as ``make run``) with a real worker and an SMTP
server on 127.0.0.1. The baseline is the same report mail sent straight with
aiosmtplib to the same server: the ratio is what the durable workflow costs on
top of the send itself. Beside it, in the same run, the filing's documents laid out
alone in the engine's worker process, as the send activity lays them out.

Each approval is split by its incident's history (the server's times of its events):
the update reaching the worker, the workflow task that takes the approval and
starts the filing, the filing activity (layout, ledger, SMTP), the workflow task that
records the filing, and the answer's way back; or, where the filing went from the
approval's own task (``workflows.base.LOCAL_APPROVED_FILINGS``), the update reaching
the worker, that task (approval, layout, ledger, SMTP, record), and the answer back.

    .venv/bin/python -m bench.approve [--n 30]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from activities.api import FILE_REPORT
from bench.embedded import embedded, line, open_incident
from breachclock.app.engine import build_worker, relay_for
from breachclock.domain.incident.documents import render_documents
from breachclock.domain.incident.lifecycle import FileReport
from breachclock.domain.incident.model import Approve, Discover, FilingKind
from breachclock.domain.incident.report import build_draft, render_text
from breachclock.runtime import offload
from breachclock.runtime.config import Settings
from tests.history_events import local_activity_type
from workflows.incident import IncidentWorkflow

PHASES = (
    "  update to the worker",
    "  task: approval, filing started",
    "  filing activity",
    "  task: filing recorded",
    "  answer back",
)
LOCAL_PHASES = (
    "  update to the worker",
    "  task: approval, filing sent",
    "  answer back",
)


@dataclass
class Figures:
    approve: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(
        default_factory=lambda: {p: [] for p in dict.fromkeys(PHASES + LOCAL_PHASES)}
    )
    baseline: list[float] = field(default_factory=list)
    layout: list[float] = field(default_factory=list)


async def main(n: int) -> None:
    async with embedded("bench-approve") as (env, settings):
        figures = await run(env, settings, n)
    print(line("approve → mail accepted", figures.approve))
    for name, values in figures.phases.items():
        if values:
            print(line(name, values))
    print(line("baseline: aiosmtplib send", figures.baseline))
    print(line("layout alone, worker process", figures.layout))
    ratio = statistics.median(figures.approve) / statistics.median(figures.baseline)
    print(f"ratio (median approve / median baseline): {ratio:.1f}x")


async def run(env: Any, settings: Settings, n: int) -> Figures:
    figures = Figures()
    async with build_worker(env.client, settings, relay_for(settings)):
        for _ in range(n):
            handle = await open_incident(env, settings, "BENCH")
            await handle.execute_update(
                IncidentWorkflow.discover, Discover(at=datetime.now(UTC), by="bench", how="bench")
            )
            began = datetime.now(UTC)
            started = time.perf_counter()
            result = await handle.execute_update(
                IncidentWorkflow.approve,
                Approve(by="bench", filing="initial_report", facts_version=0),
            )
            assert result.filed is not None
            figures.approve.append(time.perf_counter() - started)
            for name, took in (await phases(handle, began, datetime.now(UTC))).items():
                figures.phases[name].append(took)

            state = await handle.query(IncidentWorkflow.status)
            draft = build_draft(
                state,
                FileReport(0, FilingKind.INITIAL, "initial_report", None),
                99,
                datetime.now(UTC),
                None,
            )
            started = time.perf_counter()
            await offload.in_process(render_documents, draft)
            figures.layout.append(time.perf_counter() - started)
            message = EmailMessage()
            message["From"] = settings.mail_from
            message["To"] = draft.recipient
            message["Subject"] = "baseline"
            message.set_content(render_text(draft))
            started = time.perf_counter()
            await aiosmtplib.send(message, hostname="127.0.0.1", port=settings.smtp_port)
            figures.baseline.append(time.perf_counter() - started)
    return figures


async def phases(
    handle: WorkflowHandle[Any, Any], began: datetime, ended: datetime
) -> dict[str, float]:
    """The approval's phases (``PHASES``, or ``LOCAL_PHASES`` for a filing sent from the
    approval's task), in seconds, from its incident's history."""
    events = [
        e for e in (await handle.fetch_history()).events if e.event_time.ToDatetime(UTC) >= began
    ]

    def first(kind: int, after: datetime = began) -> datetime:
        return next(
            at
            for e in events
            if e.event_type == kind and (at := e.event_time.ToDatetime(UTC)) >= after
        )

    task_started = first(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    recorded = first(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    names: tuple[str, ...] = LOCAL_PHASES
    if any(local_activity_type(e) == FILE_REPORT for e in events):
        marks = [began, task_started, recorded, ended]
    else:
        filing_scheduled = first(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        filing_done = first(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        marks = [began, task_started, filing_scheduled, filing_done, recorded, ended]
        names = PHASES
    spans = [(b - a).total_seconds() for a, b in itertools.pairwise(marks)]
    return dict(zip(names, spans, strict=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=30, help="incidents to approve")
    asyncio.run(main(parser.parse_args().n))
