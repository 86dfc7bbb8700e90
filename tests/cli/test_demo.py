"""``starter.py demo`` runs the Comviq case to the end, campaign included."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from breachclock.app.demo_calls import CALLS, leave_calls
from breachclock.runtime.store import open_notify_store
from breachclock.service.engine import Engine
from tests.conftest import SmtpSink, harness
from workflows.incident import IncidentWorkflow

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_comviq_case_to_the_end_in_a_folder_of_its_own(tmp_path: Path) -> None:
    started = datetime.now(UTC)
    done = subprocess.run(
        [sys.executable, str(ROOT / "starter.py"), "demo"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "BREACHCLOCK_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "notification campaign 1 started for 3,300 people" in out
    assert "notification campaign 1 finished:" in out
    told = out.split("every customer told")[1]
    assert "3300 people on the list" in told and "calls:" in told
    assert "Filings: no. 1 initial, no. 2 extension, no. 3 final" in out
    # Containment first: the takedowns confirmed, then the campaign; an owned page.
    assert "takedown requested from Eniro" in out and "takedown requested from Hitta.se" in out
    assert "takedown reminder 1 sent to Hitta.se; the owner paged" in out
    assert "waiting for containment: calls begin once every takedown is confirmed" in out
    assert out.index("2 of 2 takedowns confirmed; notifying 3,300 people") < out.index(
        "notification campaign 1 started"
    )
    assert "the initial report acknowledged by Incident manager" in out
    assert "pages reached: 6h 1, 2h 1, 30m 1" in out, "nobody wider once the page is owned"
    assert re.search(r"attached: \S+-3\.json, \S+-3\.pdf", out), "the Swedish filing's PDF"
    # The engine's own register, outbox and store are untouched: the demo has its own.
    assert not (tmp_path / "outbox").exists() and not (tmp_path / "breachclock.db").exists()
    (folder,) = (tmp_path / "demo").iterdir()
    assert str(folder) in out
    mails = [
        message_from_bytes(m.read_bytes(), policy=default)
        for m in (folder / "outbox").glob("*.eml")
    ]
    # Dated by the engine's clock, as their bodies are: the final report goes days later.
    assert max(parsedate_to_datetime(str(m["Date"])) for m in mails) > started + timedelta(days=3)
    final = [m for m in mails if "integritetsincident nr 3" in str(m["Subject"])]
    assert len(final) == 1
    body = final[0].get_body(("plain",))
    assert body is not None and "Kopia på underrättelsen" in body.get_content()


async def test_the_demo_leaves_calls_for_agents_on_an_engine_that_simulates_them(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """``demo --leave-calls`` on a running engine whose calls are simulated: its
    campaign's calls wait on the agents' list all the same, and nothing it could mail
    goes to a real authority or person."""
    async with harness(dev_server, tmp_path, smtp) as h:
        assert h.settings.calls == "simulator"
        reference, waiting = await leave_calls(Engine(h.settings, h.client))
        assert reference.startswith("DEMO-CALLS-") and waiting == CALLS
        state = await (await Engine(h.settings, h.client).handle(reference)).query(
            IncidentWorkflow.status
        )
        policy = state.policy
        addresses = [
            *policy.regulator_addresses.values(),
            *(a for level in policy.audiences for a in level),
        ]
        assert addresses and all(a.endswith("@example.org") for a in addresses)
        async with open_notify_store(h.settings) as store:
            item = await store.claim("agent", datetime.now(UTC), hold=60)
        assert item is not None and item.reference == reference
