"""An incident's own count of its history (``workflows.history``) against the history the
server kept: never less, in events or in bytes, for each run of a real incident taken
through its steps (discovery, facts, a justification, pages, filings on two tracks, a
takedown, the list, the notice and its campaign, an event, closing)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.containment import TakedownReport, TakedownStatus
from breachclock.domain.incident.model import (
    Close,
    FactsPatch,
    Justify,
    OpenSecurityReport,
    TimelineInput,
)
from tests.conftest import Harness, SmtpSink, approve_pending, harness, runs_of, unique
from tests.facts import ALL_BUT_ROOT_CAUSE
from tests.notify_support import decide, finish, people, ready
from tests.workflows.test_containment import ENIRO
from workflows.history import HistoryCount
from workflows.incident import IncidentWorkflow


async def through_its_steps(h: Harness, reference: str, campaign: bool) -> WorkflowHandle[Any, Any]:
    handle = await h.discovered(reference)
    await handle.execute_update(
        IncidentWorkflow.record_facts, FactsPatch(changes=ALL_BUT_ROOT_CAUSE)
    )
    await handle.execute_update(
        IncidentWorkflow.justify, Justify(by="Manager", text="The root cause is still sought.")
    )
    await handle.execute_update(
        IncidentWorkflow.open_security_report, OpenSecurityReport(by="CISO")
    )
    await handle.execute_update(IncidentWorkflow.request_takedown, ENIRO)
    await h.env.sleep(timedelta(hours=20))  # the pages before the initial report
    await approve_pending(handle, "Manager")
    await handle.execute_update(
        IncidentWorkflow.report_takedown,
        TakedownReport(
            recipient="eniro", status=TakedownStatus.CONFIRMED, by="Kim", how_verified="searched"
        ),
    )
    if campaign:
        await ready(h.settings, handle, reference, people(6))
        await decide(handle)
        await finish(h.env, handle)
    await handle.execute_update(
        IncidentWorkflow.add_event,
        TimelineInput(at=await h.now(), what="The supplier confirmed the leak.", by="Kim"),
    )
    await h.env.sleep(timedelta(hours=72))  # the extension, NIS2's notification, reminders
    await handle.execute_update(
        IncidentWorkflow.close,
        Close(by="Manager", reason="test of the count", abandon_reports=True),
    )
    await handle.result()
    return handle


async def counted(
    h: Harness, handle: WorkflowHandle[Any, Any]
) -> list[tuple[HistoryCount, WorkflowHistory]]:
    """Each run's own count (queried from the closed run), with its history."""
    runs = await runs_of(h.client, handle.id)
    return [
        (
            await h.client.get_workflow_handle(handle.id, run_id=run.run_id).query(
                IncidentWorkflow.history_count
            ),
            run,
        )
        for run in runs
    ]


def assert_at_least(runs: list[tuple[HistoryCount, WorkflowHistory]]) -> None:
    for number, (count, run) in enumerate(runs):
        events, size = len(run.events), sum(e.ByteSize() for e in run.events)
        print(
            f"run {number}: counted {count.events} events, {count.bytes} B; kept {events}, {size} B"
        )
        assert count.events >= events, f"run {number}: {count} < {events} events"
        assert count.bytes >= size, f"run {number}: {count} < {size} bytes"


async def test_a_whole_incident_counts_at_least_its_history(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(
        skipping, tmp_path, smtp, BREACHCLOCK_SIMULATOR_OUTCOMES={"no_answer": 1.0}
    ) as h:
        handle = await through_its_steps(h, "INC-COUNT", campaign=True)
        runs = await counted(h, handle)
    assert len(runs) == 1
    assert_at_least(runs)


async def test_each_run_of_an_incident_continued_again_and_again_counts_at_least_its_history(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """With the shortest budget every run continues as new after its first step; each
    counts at least what it kept (a campaign here would stop the time-skipping server's
    clock: ``tests.conftest.campaign_history``)."""
    async with harness(skipping, tmp_path, smtp, BREACHCLOCK_HISTORY_BUDGET=20) as h:
        handle = await through_its_steps(h, "INC-COUNT-RUNS", campaign=False)
        runs = await counted(h, handle)
    assert len(runs) > 5, "it continued as new"
    assert_at_least(runs)


async def test_on_the_real_server_each_run_counts_at_least_its_history(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The dev server is Temporal's own: its runs, continuing as new while a campaign
    runs, each count at least what the server kept (no time skipped: no pages)."""
    async with harness(
        dev_server,
        tmp_path,
        smtp,
        BREACHCLOCK_SIMULATOR_OUTCOMES={"no_answer": 1.0},
        BREACHCLOCK_CALL_ATTEMPTS=1,
        BREACHCLOCK_CALL_SPACING_MINUTES=0,
        BREACHCLOCK_CALLING_HOURS="00:00-23:59",
        BREACHCLOCK_NOTIFY_BATCH=4,
        BREACHCLOCK_HISTORY_BUDGET=20,
    ) as h:
        reference = unique("COUNT")
        handle = await h.discovered(reference)
        await handle.execute_update(
            IncidentWorkflow.record_facts, FactsPatch(changes=ALL_BUT_ROOT_CAUSE)
        )
        await handle.execute_update(
            IncidentWorkflow.open_security_report, OpenSecurityReport(by="CISO")
        )
        await handle.execute_update(IncidentWorkflow.request_takedown, ENIRO)
        await ready(h.settings, handle, reference, people(8))
        await decide(handle)
        await approve_pending(handle, "Manager")
        async with asyncio.timeout(120):
            while True:
                state = await handle.query(IncidentWorkflow.status)
                if state.notification.waves[0].finished_at:
                    break
                await asyncio.sleep(0.3)
        await handle.execute_update(
            IncidentWorkflow.close,
            Close(by="Manager", reason="test of the count", abandon_reports=True),
        )
        await handle.result()
        runs = await counted(h, handle)
    assert len(runs) > 2, "it continued as new"
    assert_at_least(runs)
