"""The worker killed with SIGKILL while a clock runs: the filing still goes out exactly once."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import Discover, FilingKind
from tests.cli_support import start_worker, worker_env
from tests.conftest import Harness, SmtpSink, recorded, settings_for, subject_of, unique
from workflows.incident import IncidentWorkflow

PTS = "incidentrapport@pts.se"


async def test_worker_killed_before_due_files_once_after_restart(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    settings = settings_for(tmp_path, smtp, BREACHCLOCK_AUTO_FILE_MARGIN_MINUTES=0)
    env = worker_env(dev_server, settings, smtp.port, BREACHCLOCK_AUTO_FILE_MARGIN_MINUTES="0")
    h = Harness(dev_server, settings, smtp)
    worker = start_worker(env)
    try:
        ref = unique("CRASH")
        handle = await h.open(ref)
        due_in = timedelta(seconds=6)
        aware = await h.now() - timedelta(hours=24) + due_in
        await handle.execute_update(
            IncidentWorkflow.discover, Discover(at=aware, by="On-call", how="alarm")
        )
        await h.wait_for(lambda: any(" 30 min" in subject_of(m) for m in smtp.messages), 30)
        assert smtp.to(PTS) == []

        worker.send_signal(signal.SIGKILL)
        worker.wait()
        await asyncio.sleep(due_in.total_seconds() + 2)
        assert smtp.to(PTS) == [], "nobody filed while the worker was dead"

        worker = start_worker(env)
        await h.wait_for(lambda: len(smtp.to(PTS)) >= 1, 60)
        state = await recorded(handle, lambda s: s.filings)
    finally:
        worker.kill()
        worker.wait()
    assert len(smtp.to(PTS)) == 1
    assert smtp.keys().count(f"{ref}:1") == 1
    (filing,) = state.filings
    assert filing.kind is FilingKind.INITIAL
    assert filing.late and "systemet var otillgängligt" in (filing.late_reason or "")
