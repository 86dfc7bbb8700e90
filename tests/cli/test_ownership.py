"""``ack`` and ``snooze`` from the command line: plain refusals, answers on the timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.cli.test_cli import Cli
from tests.conftest import SmtpSink, harness, unique


async def test_ack_and_snooze(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(dev_server, tmp_path, smtp) as h:
        cli = Cli.of(dev_server, h.settings)
        ref = unique("OWN")
        assert (await cli("open", ref, "--title", "Secret numbers shown")).returncode == 0
        aware = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        early = await cli("snooze", ref, "--for", "1h", "--by", "Kim")
        assert early.returncode == 1 and "nothing to snooze" in early.stderr
        assert (
            await cli("discover", ref, "--at", aware, "--how", "a customer called")
        ).returncode == 0

        nothing = await cli("ack", ref, "--by", "Kim")
        assert nothing.returncode == 1
        assert "no page is waiting to be acknowledged" in nothing.stderr
        odd = await cli("snooze", ref, "--for", "45m")
        assert odd.returncode == 2 and "45m" in odd.stderr
        snoozed = await cli("snooze", ref, "--for", "1h", "--by", "Kim")
        assert snoozed.returncode == 0, snoozed.stderr
        assert snoozed.stdout.startswith("reminders snoozed until ")
        timeline = await cli("timeline", ref)
        assert "reminders snoozed until" in timeline.stdout and "Kim" in timeline.stdout
