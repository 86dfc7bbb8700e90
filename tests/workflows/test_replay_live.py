"""Replay what the engine has just written, under the conditions that once made a history
it could not replay: queries arriving while a new incident's policy activity runs close
its first workflow task with only that activity's marker (the CLI's ``report`` on the
incident, closed, then failed with a patch-marker nondeterminism error). One such
history, its first task closed after the policy activity, is kept with the saved ones."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from breachclock.app.engine import WORKFLOWS, sandbox
from breachclock.domain.incident.model import Discover
from tests.conftest import SmtpSink, harness, unique
from workflows.incident import IncidentWorkflow

INCIDENTS = 6


async def ask(handle: WorkflowHandle[Any, Any]) -> None:
    for _ in range(5):
        await handle.query(IncidentWorkflow.status)


def closed_after_the_policy(history: WorkflowHistory) -> bool:
    """The workflow task that ran the policy activity closed with its marker."""
    events = history.events
    policy = next(
        n
        for n, e in enumerate(events)
        if e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    )
    return events[policy + 1].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED


async def test_incidents_queried_as_they_start_replay(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(dev_server, tmp_path, smtp) as h:
        replayer = Replayer(
            workflows=WORKFLOWS, data_converter=h.client.data_converter, workflow_runner=sandbox()
        )
        split = 0
        for _ in range(INCIDENTS):
            handle = await h.open(unique("QRY"))

            await asyncio.gather(*(ask(handle) for _ in range(3)))
            await handle.execute_update(
                IncidentWorkflow.discover,
                Discover(at=await h.now(), by="On-call", how="a customer asked"),
            )
            history = await handle.fetch_history()
            split += closed_after_the_policy(history)
            result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
            assert result.replay_failure is None, f"{handle.id}: {result.replay_failure}"
            await handle.terminate()
        print(f"{split} of {INCIDENTS} first workflow tasks closed after the policy activity")
