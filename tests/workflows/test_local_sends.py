"""Filings and pages sent from the workflow task their timer wakes (local activities,
``workflows.base.LOCAL_SENDS``), on the real dev server and its wall clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import Discover, IncidentState
from tests.conftest import SmtpSink, harness, runs_of, unique
from tests.history_events import local_activity_type
from workflows.incident import IncidentWorkflow

PTS = "incidentrapport@pts.se"
SLOW = 1.5
"""Seconds the relay holds its answer to each message: longer than a task's own work."""


async def test_a_slow_relay_s_acceptance_is_when_the_filing_and_pages_count_as_sent(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The task that sends begins before the relay accepts; the record must not say the
    mail went earlier than it did (a filing at the deadline would read "on time")."""
    smtp.slow, smtp.slow_for = SLOW, 100
    async with harness(dev_server, tmp_path, smtp, BREACHCLOCK_AUTO_FILE_MARGIN_MINUTES=0) as h:
        handle = await h.open(unique("SLOW"))
        due_in = timedelta(seconds=4)
        aware = await h.now() - timedelta(hours=24) + due_in
        await handle.execute_update(
            IncidentWorkflow.discover, Discover(at=aware, by="On-call", how="alarm")
        )
        await h.wait_for(lambda: len(smtp.to(PTS)) == 1, 60)
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        events = [e for run in await runs_of(h.client, handle.id) for e in run.events]
    accepted = {
        str(m["X-Breachclock-Key"]): at
        for m, at in zip(smtp.messages, smtp.accepted_at, strict=True)
    }
    (filing,) = state.filings
    (filed,) = smtp.to(PTS)
    assert filing.sent_at >= accepted[str(filed["X-Breachclock-Key"])]
    assert [p.level for p in state.pages] == ["30m"], "the leads before it were past"
    for page in state.pages:
        (key,) = [k for k in accepted if ":page:" in k and k.endswith(f":{page.level}")]
        assert page.sent_at is not None and page.sent_at >= accepted[key]
    sent_here = [local_activity_type(e) for e in events]
    assert sent_here.count("file_report") == 1 and sent_here.count("send_page") == 1
