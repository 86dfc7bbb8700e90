"""Containment from the command line: the directory, a takedown, its outcome, the list."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.cli.test_cli import Cli
from tests.conftest import SmtpSink, harness, unique


async def test_takedowns_from_the_command_line(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(dev_server, tmp_path, smtp) as h:
        cli = Cli.of(dev_server, h.settings)
        shipped = await cli.json("recipients", "--country", "dk")
        assert "118dk" in [r["id"] for r in shipped]
        own = tmp_path / "recipients.json"
        own.write_text(
            json.dumps({"se": [{"id": "eniro", "name": "Eniro", "email": "desk@eniro.example"}]})
        )
        cli.env["BREACHCLOCK_TAKEDOWN_DIRECTORY"] = str(own)
        listed = await cli("recipients")
        assert listed.stdout.strip() == "eniro  Eniro  <desk@eniro.example>  (directory enquiries)"

        ref = unique("TAKE")
        assert (await cli("open", ref, "--title", "Secret numbers shown")).returncode == 0
        unknown = await cli("takedown", ref, "hitta", "--scope", "x", "--count", "3")
        assert unknown.returncode == 1
        assert "no recipient hitta in the directory for Sweden (known: eniro)" in unknown.stderr
        scope = "entries flagged secret in the feed of 25 Nov"
        asked = await cli("takedown", ref, "eniro", "--scope", scope, "--count", "3", "--by", "Kim")
        assert asked.returncode == 0, asked.stderr
        bare = await cli("takedown-status", ref, "eniro", "confirmed")
        assert bare.returncode == 1 and "how it was verified" in bare.stderr
        later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        done = await cli(
            "takedown-status",
            ref,
            "eniro",
            "confirmed",
            "--how-verified",
            "searched",
            "--at",
            later,
        )
        assert done.returncode == 0, done.stderr
        assert "1 of 1 takedowns confirmed" in done.stdout
        for _ in range(50):
            (task,) = await cli.json("takedowns", ref)
            if task["sent_at"] is not None:  # the request goes out beside the commands
                break
            await asyncio.sleep(0.1)
        assert task["status"] == "confirmed" and task["how_verified"] == "searched"
        assert len(smtp.to("desk@eniro.example")) == 1
