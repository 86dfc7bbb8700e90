"""Notification campaigns on Temporal's time-skipping server, with a real SMTP server."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from breachclock.incident.model import IncidentState
from breachclock.notify.assessment import Decision
from breachclock.workflows.incident import IncidentWorkflow
from tests.conftest import SmtpSink, harness
from tests.notify_support import people, ready

NO_ANSWER = {"no_answer": 1.0}


async def test_five_unanswered_calls_then_exactly_one_email(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(
        skipping,
        tmp_path,
        smtp,
        BREACHCLOCK_SIMULATOR_OUTCOMES=NO_ANSWER,
        BREACHCLOCK_NOTIFY_BATCH=7,
    ) as h:
        handle = await h.open("INC-CAMP-1")
        crowd = people(20)
        await ready(handle, "INC-CAMP-1", crowd)
        await handle.execute_update(
            IncidentWorkflow.decide_notice, Decision(notify=True, decided_by="DPO")
        )

        async def done() -> bool:
            state: IncidentState = await handle.query(IncidentWorkflow.status)
            wave = state.notification.waves[0]
            return wave.finished_at is not None

        for _ in range(200):
            if await done():
                break
            await skipping.sleep(3600)
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        wave = state.notification.waves[0]
        assert wave.counts is not None
        print(wave.counts)
        keys = Counter(h.smtp.keys())
        assert len(keys) == 20
        assert set(keys.values()) == {1}
        assert wave.counts.calls == {"no_answer": 100}
