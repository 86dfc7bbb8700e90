"""Pages sent from the workflow task their timer wakes, and filings a person approved
from the task that takes the approval (local activities, ``workflows.base.LOCAL_PAGES``
and ``LOCAL_APPROVED_FILINGS``), on the real dev server and its wall clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import Discover, IncidentState
from breachclock.runtime.store import open_store
from tests.conftest import SmtpSink, approve_pending, harness, recorded, runs_of, unique
from tests.history_events import local_activity_type
from workflows.incident import IncidentWorkflow

PTS = "incidentrapport@pts.se"
ONCALL = "oncall@operator.example"
SLOW = 1.5
"""Seconds the relay holds its answer to each message: longer than a task's own work."""


def sent_at(receipt: dict[str, Any] | None) -> datetime:
    """When the key's record says its mail went (the relay's acceptance)."""
    assert receipt is not None
    return datetime.fromisoformat(receipt["sent_at"])


def filings(state: IncidentState) -> object:
    """What the incident has recorded as filed."""
    return state.filings


def sent_pages(state: IncidentState) -> object:
    """The pages the incident has recorded as sent."""
    return [p for p in state.pages if p.sent_at is not None]


async def test_a_slow_relay_s_acceptance_is_when_a_page_and_the_filing_count_as_sent(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The task that sends a page begins before the relay accepts; the record must not
    say the mail went earlier than it did. A filing goes by an activity task and is
    recorded after it (its layout queues under load, and must not hold the task), yet
    counts as sent when the relay took it, not when the next task recorded it
    (``SENT_AT_ACCEPTANCE``): both times are the send's own, as its key's record has it."""
    smtp.slow, smtp.slow_for = SLOW, 100
    async with harness(dev_server, tmp_path, smtp, BREACHCLOCK_AUTO_FILE_MARGIN_MINUTES=0) as h:
        handle = await h.open(unique("SLOW"))
        due_in = timedelta(seconds=4)
        aware = await h.now() - timedelta(hours=24) + due_in
        await handle.execute_update(
            IncidentWorkflow.discover, Discover(at=aware, by="On-call", how="alarm")
        )
        await h.wait_for(lambda: len(smtp.to(PTS)) == 1, 60)
        state = await recorded(handle, filings)
        events = [e for run in await runs_of(h.client, handle.id) for e in run.events]
        async with open_store(h.settings) as ledger:
            receipts = {
                str(m["X-Breachclock-Key"]): await ledger.sent(str(m["X-Breachclock-Key"]))
                for m in smtp.messages
            }
    accepted = {
        str(m["X-Breachclock-Key"]): at
        for m, at in zip(smtp.messages, smtp.accepted_at, strict=True)
    }
    (filing,) = state.filings
    (filed,) = smtp.to(PTS)
    filed_key = str(filed["X-Breachclock-Key"])
    assert filing.sent_at >= accepted[filed_key]
    assert filing.sent_at == sent_at(receipts[filed_key])
    assert [p.level for p in state.pages] == ["30m"], "the leads before it were past"
    for page in state.pages:
        (key,) = [k for k in accepted if ":page:" in k and k.endswith(f":{page.level}")]
        assert page.sent_at is not None and page.sent_at >= accepted[key]
        assert page.sent_at == sent_at(receipts[key])
    sent_here = [local_activity_type(e) for e in events]
    assert sent_here.count("send_page") == 1 and "file_report" not in sent_here


async def test_a_page_the_relay_defers_is_retried_by_an_activity_task_and_sent_once(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The one attempt from the task meets a 451 (the path to the on-call's domain is
    down): the page goes on by an activity task with its retries, which do not hold the
    incident's task, and reaches the on-call once the relay takes it."""
    smtp.refusing.add(ONCALL)
    async with harness(dev_server, tmp_path, smtp, BREACHCLOCK_AUTO_FILE_MARGIN_MINUTES=0) as h:
        handle = await h.open(unique("DEFER"))
        aware = await h.now() - timedelta(hours=24) + timedelta(seconds=30)
        await handle.execute_update(
            IncidentWorkflow.discover, Discover(at=aware, by="On-call", how="alarm")
        )
        await asyncio.sleep(2)  # the attempt from the task, and the first retry, met the 451
        assert not any(ONCALL in str(m["To"]) for m in smtp.messages)
        await handle.query(IncidentWorkflow.status)  # answered meanwhile: nothing holds it
        smtp.refusing.clear()
        await h.wait_for(lambda: any(ONCALL in str(m["To"]) for m in smtp.messages), 30)
        state = await recorded(handle, sent_pages)
        events = [e for run in await runs_of(h.client, handle.id) for e in run.events]
    (page,) = state.pages
    assert page.failed is None and page.sent_at is not None
    assert sum(ONCALL in str(m["To"]) for m in smtp.messages) == 1
    assert [local_activity_type(e) for e in events].count("send_page") == 1
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled.count("send_page") == 1, "the retries went by one activity task"


def scheduled(events: list[Any], activity: str) -> int:
    """How many activity tasks of type ``activity`` the history scheduled."""
    return sum(
        e.activity_task_scheduled_event_attributes.activity_type.name == activity
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )


async def test_an_approved_filing_goes_from_the_approval_s_task_and_counts_as_sent_at_acceptance(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The manager waits on the screen for the answer: the filing goes from the task that
    takes the approval, and the record says it went when the relay took it, not when
    that task began."""
    async with harness(dev_server, tmp_path, smtp) as h:
        handle = await h.open(unique("APPROVED"))
        await handle.execute_update(
            IncidentWorkflow.discover, Discover(at=await h.now(), by="On-call", how="alarm")
        )
        smtp.slow, smtp.slow_for = SLOW, 1
        result = await approve_pending(handle, "Manager")
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        events = [e for run in await runs_of(h.client, handle.id) for e in run.events]
    assert result.filed is not None and result.filed.approved_by == "Manager"
    (filing,) = state.filings
    (filed,) = smtp.to(PTS)
    (accepted,) = [at for m, at in zip(smtp.messages, smtp.accepted_at, strict=True) if m is filed]
    assert filing.sent_at >= accepted
    assert [local_activity_type(e) for e in events].count("file_report") == 1
    assert scheduled(events, "file_report") == 0


async def test_an_approved_filing_the_relay_defers_goes_on_by_an_activity_task_once(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The attempt from the approval's task meets a 451: the filing goes on by an activity
    task with its retries, the approval is answered meanwhile, and the regulator gets
    one filing once the relay takes it."""
    async with harness(dev_server, tmp_path, smtp) as h:
        handle = await h.open(unique("DEFERRED"))
        await handle.execute_update(
            IncidentWorkflow.discover, Discover(at=await h.now(), by="On-call", how="alarm")
        )
        smtp.refusing.add(PTS)
        result = await approve_pending(handle, "Manager")
        assert result.filed is None, "answered while the relay says try later"
        await handle.query(IncidentWorkflow.status)  # nothing holds the incident's task
        smtp.refusing.clear()
        await h.wait_for(lambda: len(smtp.to(PTS)) == 1, 60)
        state = await recorded(handle, filings)
        events = [e for run in await runs_of(h.client, handle.id) for e in run.events]
    (filing,) = state.filings
    assert filing.approved_by == "Manager"
    assert len(smtp.to(PTS)) == 1
    assert [local_activity_type(e) for e in events].count("file_report") == 1
    assert scheduled(events, "file_report") >= 1, "the retries went by activity tasks"
