"""The incident loop's timer runs on through wake-ups that leave the next step where it
was (``workflows.alarm``), on Temporal's time-skipping server with a real SMTP server.

Cancelling it at every wake-up raced the timer firing: the time-skipping server strands
a run whose workflow task cancels a timer that fired while the task was with the worker
(sdk-java#2606, #3088). Under load in CI a page and the step due 50 ms after it did."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import IncidentState, TimelineInput
from tests.conftest import SmtpSink, harness
from workflows.incident import IncidentWorkflow

TIMER_EVENTS = {
    EventType.EVENT_TYPE_TIMER_STARTED: "started",
    EventType.EVENT_TYPE_TIMER_FIRED: "fired",
    EventType.EVENT_TYPE_TIMER_CANCELED: "cancelled",
}


async def timers(handle: WorkflowHandle[Any, Any]) -> Counter[str]:
    history = await handle.fetch_history()
    return Counter(
        TIMER_EVENTS[e.event_type] for e in history.events if e.event_type in TIMER_EVENTS
    )


async def test_updates_that_leave_the_next_step_keep_the_timer_toward_it(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        before = await timers(handle)
        for call in range(3):
            entry = TimelineInput(
                at=await h.now(), what=f"Call {call} with the supplier.", by="Kim"
            )
            await handle.execute_update(IncidentWorkflow.add_event, entry)
        after = await timers(handle)
        await skipping.sleep(timedelta(hours=24))
        state: IncidentState = await handle.query(IncidentWorkflow.status)

    assert before == Counter(started=1), "one timer, toward the first page"
    assert after == before, "three timeline entries neither cancel nor restart it"
    assert len(state.pages) == 3 and len(state.filings) == 1, "the kept timer rang on time"
