"""Replay saved histories as a worker that ran each task's events early would have run
them: every workflow task that brought no update gets the previous task's time.

That is what a query reaching a worker without the workflow in its cache does: it
applies the events after the last completed task at that task's time and sends what the
code decided with the next real task (``workflows.clock``). A history made by runs that
decide by their ``DecisionClock`` replays the same under it; on histories from before
the clock, 91 of the 197 saved ones did not (a round started or a filing sent one task
later, or a timer instead).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from breachclock.app.engine import WORKFLOWS, sandbox
from breachclock.domain.ids import campaign_id
from breachclock.domain.incident.model import IncidentState
from breachclock.runtime.codec import EncryptionCodec, encrypted_converter
from tests.conftest import SmtpSink, harness, runs_of
from tests.notify_support import decide, finish, people, ready
from workflows.base import DECISION_CLOCK
from workflows.campaign import CLOCK
from workflows.incident import IncidentWorkflow

HISTORIES = Path(__file__).parents[1] / "histories"
TASK_ENDS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}
UPDATES = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
}


def patches(path: Path) -> set[str]:
    """The ``workflow.patched`` ids a saved history's markers carry."""
    ids = set()
    for event in json.loads(path.read_text())["events"]:
        marker = event.get("markerRecordedEventAttributes", {})
        if marker.get("markerName") == "core_patch":
            for payload in marker["details"]["patch-data"]["payloads"]:
                ids.add(json.loads(base64.b64decode(payload["data"]))["id"])
    return ids


def clocked(path: Path) -> bool:
    return bool(patches(path) & {DECISION_CLOCK, CLOCK})


CLOCKED = sorted(p for p in HISTORIES.glob("*.json") if clocked(p))


def stale(history: WorkflowHistory) -> WorkflowHistory:
    """``history`` with each update-free task started at the previous task's time."""
    events = [HistoryEvent() for _ in history.events]
    for copy, event in zip(events, history.events, strict=True):
        copy.CopyFrom(event)
    previous = None
    for n, event in enumerate(events):
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            continue
        started = type(event.event_time)()
        started.CopyFrom(event.event_time)
        end = next((m for m in range(n, len(events)) if events[m].event_type in TASK_ENDS), None)
        took_update = end is not None and any(
            e.event_type in UPDATES
            for e in events[end + 1 :][
                : next(
                    (
                        k
                        for k, e in enumerate(events[end + 1 :])
                        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
                    ),
                    None,
                )
            ]
        )
        if previous is not None and not took_update:
            event.event_time.CopyFrom(previous)
        previous = started
    return WorkflowHistory(history.workflow_id, events)


def test_both_workflows_have_clocked_histories_with_timers_and_activities() -> None:
    kinds = {"Incident": 0, "NotificationCampaign": 0}
    for path in CLOCKED:
        text = path.read_text()
        for kind in kinds:
            if f'"name": "{kind}"' in text and "TIMER_FIRED" in text:
                kinds[kind] += 1
    assert all(n >= 3 for n in kinds.values()), kinds


@pytest.mark.parametrize("path", CLOCKED, ids=[p.stem for p in CLOCKED])
async def test_a_history_replays_with_each_task_run_at_the_previous_task_s_time(
    path: Path,
) -> None:
    converter = encrypted_converter(EncryptionCodec({"replay": os.urandom(32)}, "replay"))
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter, workflow_runner=sandbox())
    history = WorkflowHistory.from_json(path.stem, await asyncio.to_thread(path.read_text))
    await replayer.replay_workflow(stale(history))


async def test_a_campaign_continues_as_new_by_its_own_count_whatever_length_a_task_reports(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that runs a task's events early for a query sees the history shorter than
    replay does (the next task's events are not in it yet). A campaign that continued as
    new by the length a task reports then went on in one and continued in the other:
    nondeterministic. By its own count, the runs replay the same whatever length (or
    suggestion) the tasks report."""
    async with harness(
        skipping,
        tmp_path,
        smtp,
        BREACHCLOCK_SIMULATOR_OUTCOMES={"no_answer": 1.0},
        BREACHCLOCK_NOTIFY_BATCH=3,
        BREACHCLOCK_NOTIFY_HISTORY_BUDGET=60,
    ) as h:
        handle = await h.discovered("INC-OWN-COUNT")
        await ready(h.settings, handle, "INC-OWN-COUNT", people(9))
        await decide(handle)
        await finish(h.env, handle)
        runs = await runs_of(h.client, campaign_id("INC-OWN-COUNT", 1))
    assert len(runs) > 2, "the campaign continued as new"
    await replay_reporting_a_length_of_one(h.client.data_converter, runs, monkeypatch)


async def replay_reporting_a_length_of_one(
    converter: DataConverter, runs: list[WorkflowHistory], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replay ``runs`` with every task reporting a history length of 1 and no suggestion
    to continue as new."""
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter, workflow_runner=sandbox())
    monkeypatch.setattr(workflow.Info, "get_current_history_length", lambda _: 1)
    monkeypatch.setattr(workflow.Info, "is_continue_as_new_suggested", lambda _: False)
    for run in runs:
        await replayer.replay_workflow(run)


async def test_an_incident_continues_as_new_by_its_own_count_whatever_length_a_task_reports(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The campaign's case above, for the incident (``workflows.history``): its runs,
    continued as new again and again on the shortest budget through its pages and
    filing, replay the same whatever length (or suggestion) the tasks report."""
    async with harness(skipping, tmp_path, smtp, BREACHCLOCK_HISTORY_BUDGET=20) as h:
        handle = await h.discovered("INC-OWN-COUNT")
        await skipping.sleep(timedelta(hours=24))
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        runs = await runs_of(h.client, handle.id)
    assert len(state.pages) == 3 and len(state.filings) == 1
    assert len(runs) > 2, "the incident continued as new"
    await replay_reporting_a_length_of_one(h.client.data_converter, runs, monkeypatch)
