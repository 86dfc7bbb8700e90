"""The Comviq case: awareness recorded after the 24-hour deadline had passed, so the
engine files the initial report at once, late, with its own reason. The reason a
person then gives (``approve --late-reason``) reaches the regulator in a supplement
in the filing's language, the filings the register keeps, and the timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.lifecycle import LATE_REASON
from breachclock.domain.incident.model import Approve, Discover, FilingKind, IncidentState
from tests.conftest import SmtpSink, approve_pending, harness
from workflows.incident import IncidentWorkflow

PTS = "incidentrapport@pts.se"
REASON = "Ärendet låg i fel kö hos kundtjänst i två dygn innan det eskalerades."


def body(message: Any) -> str:
    part = message.get_payload()[0] if message.is_multipart() else message
    return str(part.get_payload(decode=True).decode())


async def late_discovery(h: Any, skipping: WorkflowEnvironment) -> Any:
    handle = await h.open()
    await handle.execute_update(
        IncidentWorkflow.discover,
        Discover(at=await h.now() - timedelta(hours=30), by="On-call", how="old tickets"),
    )
    await skipping.sleep(timedelta(minutes=1))
    return handle


async def test_a_reason_given_after_the_late_filing_went_reaches_the_regulator(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await late_discovery(h, skipping)
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        (initial,) = state.filings
        assert initial.late and initial.late_reason != REASON
        approval = Approve(by="Manager", filing=initial.stage, late_reason=REASON)
        answer = await handle.execute_update(IncidentWorkflow.approve, approval)
        assert answer.said.code == "answer.approve.reason_sent"
        again = await handle.execute_update(
            IncidentWorkflow.approve,
            Approve(by="Manager", filing=initial.stage, late_reason=REASON),
        )
        assert again.said.code == "answer.approve.already_sent", "told once"
        state = await handle.query(IncidentWorkflow.status)
    first, supplement = state.filings
    assert supplement.kind is FilingKind.SUPPLEMENTARY and supplement.stage == LATE_REASON
    assert supplement.late_reason == REASON and supplement.regime is first.regime
    assert answer.said.params["number"] == supplement.number
    mails = smtp.to(PTS)
    assert len(mails) == 2
    text = body(mails[1])
    assert f"SKÄLET TILL ATT ANMÄLAN NR {first.number} LÄMNADES FÖR SENT" in text
    assert REASON in text
    (note,) = [e for e in state.timeline if e.code == "timeline.late_reason_given"]
    assert note.params["reason"] == REASON and note.by == "Manager"
    assert state.tracks[0].reason_owed is None


async def test_a_reason_given_with_the_next_filing_is_not_dropped(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    """Approving the (on-time) supplementary report with a late reason: the reason was
    for the initial report, and goes to the regulator too."""
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await late_discovery(h, skipping)
        result = await approve_pending(handle, late_reason=REASON)
        assert result.filed is not None
        await skipping.sleep(timedelta(minutes=1))
        state: IncidentState = await handle.query(IncidentWorkflow.status)
    stages = [f.stage for f in state.filings]
    assert stages[0] == "initial_report" and LATE_REASON in stages and len(stages) == 3
    (supplement,) = [f for f in state.filings if f.stage == LATE_REASON]
    assert supplement.late_reason == REASON
    assert sum(REASON in body(m) for m in smtp.to(PTS)) == 1
