"""The incident's and the campaign's loop timer runs on through wake-ups that leave the next step where it
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

from breachclock.domain.ids import campaign_id
from breachclock.domain.incident.model import IncidentState, TimelineInput
from breachclock.domain.notify.delivery import CallOutcome, Status
from tests.conftest import SmtpSink, harness, runs_of
from tests.notify_support import decide, finish, load, people, ready
from workflows.incident import IncidentWorkflow

TIMER_EVENTS = {
    EventType.EVENT_TYPE_TIMER_STARTED: "started",
    EventType.EVENT_TYPE_TIMER_FIRED: "fired",
    EventType.EVENT_TYPE_TIMER_CANCELED: "cancelled",
}


def counted(events: Any) -> Counter[str]:
    return Counter(TIMER_EVENTS[e.event_type] for e in events if e.event_type in TIMER_EVENTS)


async def timers(handle: WorkflowHandle[Any, Any]) -> Counter[str]:
    return counted((await handle.fetch_history()).events)


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


async def test_a_round_that_ends_while_another_slice_waits_keeps_the_timer_toward_it(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    """Two slices an hour apart, each called every two hours: the alarm toward one
    slice's next round runs on through every end of the other's round (the order is
    the scenario's, not a race between two rounds' activities). Runs from before
    ``campaign-alarm-kept`` cancelled it at each such end and started another toward
    the same round."""
    async with harness(
        skipping,
        tmp_path,
        smtp,
        BREACHCLOCK_SIMULATOR_OUTCOMES={"no_answer": 1.0},
        BREACHCLOCK_NOTIFY_BATCH=3,
    ) as h:
        handle = await h.discovered("INC-ALARM")
        await ready(h.settings, handle, "INC-ALARM", people(3))
        await decide(handle)
        await skipping.sleep(timedelta(hours=1))
        await load(h.settings, handle, people(3, start=4))
        state = await finish(h.env, handle)
        runs = await runs_of(h.client, campaign_id("INC-ALARM", 1))
    counts = state.notification.waves[0].counts
    assert counts is not None and counts.people == {Status.EMAILED: 6}
    assert counts.calls == {CallOutcome.NO_ANSWER: 30}
    timed = counted(e for run in runs for e in run.events)
    assert timed["cancelled"] == 0, "a round's end left the other slice's round next"
    assert timed["started"] == timed["fired"] > 0, "every timer rang toward its round"
