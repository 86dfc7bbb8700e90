"""The example files in ``examples/`` are what the README's walkthrough uses: each is
valid for its command, ``schema`` describes each, and the walkthrough with them works
from any directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from breachclock.cli.common import read_json
from breachclock.cli.schema import INPUTS, schema_of
from breachclock.domain.incident.model import FactsPatch
from breachclock.domain.notify.assessment import Assessment
from breachclock.service.notification import read_list
from tests.cli.test_cli import ROOT, Cli
from tests.cli_support import address, offline
from tests.conftest import SmtpSink, harness, unique

EXAMPLES = ROOT / "examples"


def test_every_example_is_valid_for_its_command() -> None:
    FactsPatch.model_validate({"changes": read_json(EXAMPLES / "facts.json")})
    Assessment.model_validate(read_json(EXAMPLES / "assessment.json"))
    listed = read_list(EXAMPLES / "affected.csv")
    assert not listed.rejected and len(listed.subscribers) == 4
    assert any(p.postal_address for p in listed.subscribers), "the letter list has addresses"
    notice = read_json(EXAMPLES / "notice.json")
    items = {item for p in listed.subscribers for item in p.affected_items}
    assert items <= set(notice["item_labels"]), "every affected item has its labels"


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_schema_prints_each_input_files_json_schema(name: str) -> None:
    done = offline("schema", name)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed == schema_of(name) and printed["properties"]
    assert "reference" not in printed["properties"] or name not in ("notice", "open")


async def test_the_walkthrough_with_the_examples_from_another_directory(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    async with harness(dev_server, tmp_path, smtp) as h:
        cli = Cli(
            {
                **os.environ,
                "TEMPORAL_ADDRESS": address(dev_server),
                "BREACHCLOCK_TASK_QUEUE": h.settings.task_queue,
                "BREACHCLOCK_DATA_DIR": str(h.settings.data_dir),
            },
            cwd=elsewhere,
        )
        ref = unique("EX")
        steps = [
            ("open", ref, "--title", "Secret numbers published after migration"),
            ("discover", ref, "--at", "2026-12-01 08:30 CET", "--how", "a customer asked"),
            ("facts", ref, "--file", str(EXAMPLES / "facts.json")),
            ("assess", ref, "--file", str(EXAMPLES / "assessment.json")),
            ("subscribers", ref, "--file", str(EXAMPLES / "affected.csv")),
            ("notice", ref, "--file", str(EXAMPLES / "notice.json")),
            ("decide", ref, "--notify", "--by", "DPO"),
        ]
        for step in steps:
            done = await cli(*step)
            assert done.returncode == 0, f"{step[0]}: {done.stderr}"
        status = await cli.json("status", ref)
        assert status["notification"]["people"] == 4
        assert "affected_count" not in status["missing"]
    assert list(elsewhere.iterdir()) == [], "nothing written where the CLI was run"
