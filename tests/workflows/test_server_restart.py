"""The embedded Temporal server stopped while a clock runs and started again on its
SQLite file after the deadline: the deadline still fires, once, and nothing is lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from breachclock.app.engine import build_worker, relay_for
from breachclock.domain.incident.model import Discover, FilingKind
from breachclock.runtime.outbox import free_port
from breachclock.runtime.temporal import start_dev_server
from tests.conftest import Harness, SmtpSink, recorded, settings_for, subject_of
from workflows.incident import IncidentWorkflow

PTS = "incidentrapport@pts.se"


async def test_clock_survives_an_embedded_server_restart(tmp_path: Path, smtp: SmtpSink) -> None:
    settings = settings_for(
        tmp_path,
        smtp,
        BREACHCLOCK_AUTO_FILE_MARGIN_MINUTES=0,
        BREACHCLOCK_TEMPORAL_PORT=free_port(),
        BREACHCLOCK_UI_PORT=free_port(),
    )
    due_in = timedelta(seconds=6)
    env = await start_dev_server(settings)
    try:
        async with build_worker(env.client, settings, relay_for(settings)):
            h = Harness(env, settings, smtp)
            handle = await h.open("RESTART-1")
            aware = datetime.now(UTC) - timedelta(hours=24) + due_in
            await handle.execute_update(
                IncidentWorkflow.discover, Discover(at=aware, by="On-call", how="alarm")
            )
            await h.wait_for(lambda: any(" 30 min" in subject_of(m) for m in smtp.messages), 30)
    finally:
        await env.shutdown()
    assert smtp.to(PTS) == []
    await asyncio.sleep(due_in.total_seconds() + 2)

    env = await start_dev_server(settings)
    try:
        async with build_worker(env.client, settings, relay_for(settings)):
            h = Harness(env, settings, smtp)
            await h.wait_for(lambda: len(smtp.to(PTS)) >= 1, 60)
            handle = env.client.get_workflow_handle("incident-RESTART-1")
            state = await recorded(handle, lambda s: s.filings)
    finally:
        await env.shutdown()
    assert len(smtp.to(PTS)) == 1
    (filing,) = state.filings
    assert filing.kind is FilingKind.INITIAL and filing.late
    assert [p.level for p in state.pages][:1] == ["30m"], (
        "the page sent before the restart is still on record"
    )
