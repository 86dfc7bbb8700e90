"""The command line end to end against the dev server, as a person would use it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from breachclock.app.engine import prepare_data_dir
from breachclock.domain.incident.model import IncidentState
from breachclock.runtime.config import Settings
from breachclock.runtime.store import open_store
from breachclock.runtime.temporal import workflow_id
from tests.cli_fork import run_cli
from tests.cli_support import address
from tests.conftest import SmtpSink, harness, unique
from tests.facts import ALL_BUT_ROOT_CAUSE
from workflows.incident import IncidentWorkflow

ROOT = Path(__file__).resolve().parents[2]


class Cli:
    """``starter.py`` as a person runs it, from ``cwd`` (any directory): a process of its
    own, forked from one that imported the CLI (``tests/cli_fork.py``)."""

    def __init__(self, env: dict[str, str], cwd: Path | None = None) -> None:
        self.env = env
        self.cwd = cwd

    @classmethod
    def of(cls, server: WorkflowEnvironment, settings: Settings) -> Cli:
        """The CLI of a harness's engine: its server, task queue and data folder."""
        return cls(
            {
                **os.environ,
                "TEMPORAL_ADDRESS": address(server),
                "BREACHCLOCK_TASK_QUEUE": settings.task_queue,
                "BREACHCLOCK_DATA_DIR": str(settings.data_dir),
            }
        )

    async def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(run_cli, *args, env=self.env, cwd=self.cwd)

    async def json(self, *args: str) -> Any:
        done = await self(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


async def test_cli_walkthrough(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(dev_server, tmp_path, smtp) as h:
        cli = Cli(
            {
                **os.environ,
                "TEMPORAL_ADDRESS": address(dev_server),
                "BREACHCLOCK_TASK_QUEUE": h.settings.task_queue,
                "BREACHCLOCK_DATA_DIR": str(h.settings.data_dir),
            }
        )
        ref = unique("CLI")
        opening = tmp_path / "open.json"
        opening.write_text(
            json.dumps({"title": "Call logs exposed", "facts": {"breach_types": ["disclosure"]}})
        )
        done = await cli("open", ref, "--file", str(opening), "--by", "Manager")
        assert done.returncode == 0, done.stderr
        again = await cli("open", ref, "--title", "x")
        assert again.returncode == 1 and "already exists" in again.stderr

        naive = await cli("discover", ref, "--at", "2026-11-23 08:00", "--how", "alarm")
        assert naive.returncode == 1
        assert (
            naive.stderr.startswith("error: ")
            and "(--at)" in naive.stderr
            and "no offset or zone" in naive.stderr
        )
        assert len(naive.stderr.strip().splitlines()) == 1, "one plain line, no traceback"

        now = await h.now()
        done = await cli(
            "discover",
            ref,
            "--at",
            now.isoformat(),
            "--how",
            "alarm from the SIEM",
            "--by",
            "On-call",
        )
        assert done.returncode == 0, done.stderr
        assert "initial_report due" in done.stdout

        text = await cli("status", ref)
        assert (
            text.returncode == 0
            and "PTS   initial_report" in text.stdout
            and "due in 2" in text.stdout  # the countdown: 23 h and some
            and "policy: files 15 min before a deadline" in text.stdout
        )
        status = await cli.json("status", ref)
        assert {
            "reference",
            "state",
            "regime",
            "discovered_at",
            "deadlines",
            "filings",
            "missing",
        } <= set(status)
        assert status["state"] == "discovered" and status["regime"] == "pts"
        (deadline,) = status["deadlines"]
        assert deadline["name"] == "initial_report" and deadline["done_at"] is None
        assert deadline["due_at"].endswith(("+01:00", "+02:00")), "shown in the operator's zone"
        assert "breach_types" not in status["missing"]

        facts = tmp_path / "facts.json"
        facts.write_text(json.dumps(ALL_BUT_ROOT_CAUSE))
        done = await cli("facts", ref, "--file", str(facts))
        assert done.returncode == 0 and "root_cause" in done.stdout
        bad = tmp_path / "bad.json"
        bad.write_text('{"affected_count": -1}')
        refused = await cli("facts", ref, "--file", str(bad))
        assert refused.returncode == 1 and "at least 0 (affected_count)" in refused.stderr
        gone = (now - timedelta(days=2)).date().isoformat()
        bad.write_text(json.dumps({"expected": {"systems": gone}}))
        refused = await cli("facts", ref, "--file", str(bad))
        assert refused.returncode == 1, refused.stderr
        assert f"{gone} is already past" in refused.stderr
        assert "(expected.systems)" in refused.stderr

        done = await cli(
            "event",
            ref,
            "--at",
            now.isoformat(),
            "--what",
            "export job stopped",
            "--how-established",
            "logs",
        )
        assert done.returncode == 0, done.stderr
        # The same commands run again (a re-run script, a second terminal) act once.
        assert (await cli(*done.args[2:])).returncode == 0
        assert (await cli("facts", ref, "--file", str(facts))).returncode == 0
        timeline = await cli.json("timeline", ref)
        assert sum("export job stopped" in e["what"] for e in timeline) == 1
        assert sum("facts recorded" in e["what"] for e in timeline) == 1, "no new facts version"

        report = await cli("report", ref)
        assert report.returncode == 0 and f"Referensnummer: {ref}" in report.stdout
        assert "grundläggande orsak: okänt" in report.stdout
        assert "automatiskt" not in report.stdout, "a draft before approval was not auto-filed"

        refused = await cli("approve", ref, "--filing", "supplementary_report")
        assert refused.returncode == 1
        assert "the pending filing is the initial report" in refused.stderr
        english = await cli("approve", ref, "--filing", "initial_report", "--by", "Manager")
        assert english.returncode == 1 and not smtp.to("incidentrapport@pts.se")
        assert "is written in English but the filing is in Swedish" in english.stderr
        assert "(facts.circumstances)" in english.stderr
        done = await cli(*english.args[2:], "--other-language-ok")
        assert done.returncode == 0 and "filing no. 1 sent" in done.stdout
        assert len(smtp.to("incidentrapport@pts.se")) == 1

        timeline = await cli.json("timeline", ref)
        assert any("export job stopped" in e["what"] for e in timeline)
        assert any("filing no. 1" in e["what"] for e in timeline)

        listing = await cli.json("list")
        mine = next(r for r in listing if r["reference"] == ref)
        assert mine["state"] == "reported" and mine["next_deadline"]

        refused = await cli("close", ref, "--reason", "final report filed")
        assert refused.returncode == 1, "the supplementary report is still due"
        assert "reports still due: PTS supplementary report" in refused.stderr
        done = await cli(
            "close", ref, "--abandon-reports", "--reason", "handed to the regulator; register only"
        )
        assert done.returncode == 0, done.stderr

        async def closed() -> dict[str, Any]:
            while True:
                status = await cli.json("status", ref)
                if status["state"] == "closed":
                    return dict(status)
                await asyncio.sleep(0.2)

        status = await asyncio.wait_for(closed(), 30)
        assert status["closed_reason"] == "handed to the regulator; register only"
        assert status["never_filed"] == ["pts:supplementary_report"]
        supplementary = next(d for d in status["deadlines"] if d["name"] == "supplementary_report")
        assert supplementary["standing"] == "never filed"
        listing = await cli.json("list")
        row = next(r for r in listing if r["reference"] == ref)
        assert row["state"] == "closed" and row["never_filed"] == ["pts:supplementary_report"]
        closed_report = await cli("report", ref)
        assert "never filed: supplementary report" in closed_report.stderr

        # Once Temporal's retention has dropped the workflow, the register answers.
        closed_state = await h.client.get_workflow_handle(workflow_id(ref)).query(
            IncidentWorkflow.status
        )
        gone = closed_state.model_copy(update={"reference": unique("GONE")})
        async with open_store(h.settings) as store:
            await store.register(gone.reference, gone.closure.at, gone.model_dump_json())
        from_register = await cli.json("status", gone.reference)
        assert from_register["state"] == "closed" and from_register["filings"][0]["number"] == 1

        missing = await cli("status", "NO-SUCH-INCIDENT")
        assert missing.returncode == 1 and "no incident" in missing.stderr
        usage = await cli("status", "name with spaces")
        assert usage.returncode == 2


async def test_cli_says_when_temporal_cannot_be_reached(tmp_path: Path) -> None:
    from breachclock.runtime.outbox import free_port

    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "BREACHCLOCK_DATA_DIR": str(tmp_path),
    }
    settings = Settings(BREACHCLOCK_DATA_DIR=tmp_path)
    await prepare_data_dir(settings)  # the engine's key and a register with one closed incident
    closed = IncidentState.model_validate(
        {
            "reference": "GONE-1",
            "title": "Billing export readable by partner",
            "opened_at": "2026-11-01T09:00:00Z",
            "opened_by": "M",
            "regime": "pts",
            "policy": {},
            "closure": {"at": "2026-11-05T09:00:00Z", "by": "M", "reason": "false alarm"},
        }
    )
    async with open_store(settings) as store:
        await store.register("GONE-1", closed.closure.at, closed.model_dump_json())  # type: ignore[union-attr]
    done = await Cli(env)("list")
    assert done.returncode == 0, "the register is the store's read model: no Temporal call"
    assert "GONE-1" in done.stdout and "closed" in done.stdout
    status = await Cli(env)("status", "GONE-1")
    assert status.returncode == 0 and "closed" in status.stdout, "answered from the register"
    open_one = await Cli(env)("status", "STILL-OPEN")
    assert open_one.returncode == 3 and "cannot reach Temporal" in open_one.stderr
