"""The worker's sticky cache is a setting, and by default holds 10,000 open incidents:
one not cached replays its whole history before its next task, its timers' included
(the SDK's default of 1,000 did so at 10,000 open incidents)."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from breachclock.app.engine import build_worker, relay_for
from tests.conftest import SmtpSink, settings_for


async def test_the_worker_keeps_as_many_workflows_as_configured(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    default = settings_for(tmp_path, smtp)
    assert default.max_cached_workflows >= 10_000
    settings = settings_for(tmp_path, smtp, BREACHCLOCK_MAX_CACHED_WORKFLOWS=3)
    async with build_worker(skipping.client, settings, relay_for(settings)) as worker:
        assert worker.config()["max_cached_workflows"] == 3
