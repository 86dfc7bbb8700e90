"""People's personal data goes once an incident's retention has passed; the register stays."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.api import Purge
from activities.retention import RetentionActivities
from breachclock.runtime.store import open_notify_store, open_store
from breachclock.runtime.store.records import Kept
from breachclock.service.engine import Engine
from breachclock.service.register import register
from tests.conftest import SmtpSink, harness, settings_for
from tests.domain.incident.test_register_export import comviq_closed
from tests.notify_support import people
from workflows.retention import SCHEDULE_ID, RetentionWorkflow, ensure_schedule

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


async def test_people_are_purged_after_the_retention_and_the_register_keeps_the_incident(
    tmp_path: Path, smtp: SmtpSink
) -> None:
    settings = settings_for(tmp_path, smtp)
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "old.eml").write_text("x")
    (outbox / "new.eml").write_text("y")
    ancient = time.time() - timedelta(days=120).total_seconds()
    os.utime(outbox / "old.eml", (ancient, ancient))
    async with open_store(settings) as records, open_notify_store(settings) as crowd:
        for reference, closed in (("INC-OLD", NOW - timedelta(days=91)), ("INC-NEW", NOW)):
            await crowd.stage(reference, "a" * 32, people(3), NOW)
            await crowd.load(reference, "a" * 32)
            await records.register(reference, closed, f'{{"reference": "{reference}"}}')
            kept = Kept(reference, b"Subject: the filing as sent\r\n\r\n...")
            await records.record_sent(f"{reference}:1", "<m>", closed, {}, kept)
        await crowd.stage("INC-NEW", "b" * 32, people(1), NOW - timedelta(days=2))  # abandoned
        sweep = RetentionActivities(records, crowd, timedelta(days=90), outbox)
        first = await sweep.purge_expired(Purge(now=NOW))
        again = await sweep.purge_expired(Purge(now=NOW))
        assert first.incidents == ["INC-OLD"] and again.incidents == [], "once"
        assert first.staged_pages == 1 and first.outbox_mails == 1
        assert not await crowd.holds("INC-OLD") and await crowd.person("INC-OLD", "S000001") is None
        assert await crowd.holds("INC-NEW"), "not yet past its retention"
        assert await records.registered("INC-OLD") == '{"reference": "INC-OLD"}'
        assert await records.copy_of("INC-OLD:1") is None, "the filing's copy goes too"
        assert await records.copy_of("INC-NEW:1"), "kept while the incident is"
        assert await records.sent("INC-OLD:1") == {}, "still recorded as sent"
    assert [p.name for p in outbox.iterdir()] == ["new.eml"]


async def test_the_sweep_is_an_hourly_schedule_running_the_retention_workflow(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(dev_server, tmp_path, smtp) as h:
        await ensure_schedule(h.client, h.settings.task_queue, timedelta(hours=1))
        await ensure_schedule(h.client, h.settings.task_queue, timedelta(hours=1))  # again: fine
        described = await h.client.get_schedule_handle(SCHEDULE_ID).describe()
        (interval,) = described.schedule.spec.intervals
        assert interval.every == timedelta(hours=1)
        swept = await h.client.execute_workflow(
            RetentionWorkflow.run, id=f"retention-{tmp_path.name}", task_queue=h.settings.task_queue
        )
        await h.client.get_schedule_handle(SCHEDULE_ID).delete()
    assert swept.incidents == []


async def test_a_closed_incidents_register_row_keeps_its_facts_past_the_retention(
    tmp_path: Path, smtp: SmtpSink
) -> None:
    """The export's row of a closed incident (facts, effects, measures) comes from the
    register, which the retention leaves alone, whatever became of its workflow."""
    engine = Engine(settings_for(tmp_path, smtp))
    state = comviq_closed()
    assert state.closure is not None
    async with engine.records() as records, engine.people() as crowd:
        await records.register(state.reference, state.closure.at, state.model_dump_json())
        sweep = RetentionActivities(records, crowd, timedelta(days=90), None)
        purged = await sweep.purge_expired(Purge(now=state.closure.at + timedelta(days=91)))
    assert purged.incidents == [state.reference]
    (row,) = (await register(engine)).complete()
    assert row.state == "closed" and row.measures_taken == state.facts.measures_taken
    assert row.affected_count == state.facts.affected_count and row.reported
