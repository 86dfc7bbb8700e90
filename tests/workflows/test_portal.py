"""Denmark files on Erhvervsstyrelsen's Virk Indberet portal: the engine prepares the
filing and pages the people who file it, nothing goes to the authority by mail, and the
filing counts as sent when a person records the portal's receipt. On Temporal's
time-skipping server, with a real SMTP server."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.header import decode_header, make_header
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident import views
from breachclock.domain.incident.model import FilingKind, IncidentState, RecordReceipt
from breachclock.domain.regimes import RegimeCode, dk
from breachclock.service.engine import refusal_problems
from tests.conftest import SmtpSink, harness, subject_of
from workflows.incident import IncidentWorkflow

pytestmark = pytest.mark.usefixtures("history")

ONCALL = "oncall@operator.example"


async def status(handle: WorkflowHandle[Any, Any]) -> IncidentState:
    result: IncidentState = await handle.query(IncidentWorkflow.status)
    return result


async def refused(handle: WorkflowHandle[Any, Any], request: RecordReceipt) -> list[str]:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(IncidentWorkflow.record_receipt, request)
    return [p.code for p in refusal_problems(caught.value)]


def receipt(**kw: Any) -> RecordReceipt:
    fields: dict[str, Any] = {"by": "Dorthe, vagt", "filing": 1, "receipt": "ERST-2026-0001"}
    return RecordReceipt(**{**fields, **kw})


def attachments(message: Any) -> list[str]:
    return sorted(p.get_filename() for p in message.get_payload()[1:])


async def test_a_danish_filing_is_prepared_for_the_portal_and_filed_on_its_receipt(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered(regime=RegimeCode.DK)
        await skipping.sleep(timedelta(hours=17, minutes=55))
        assert (await status(handle)).tracks[0].prepared is None
        await skipping.sleep(timedelta(minutes=10))
        state = await status(handle)
        prepared = state.tracks[0].prepared
        assert prepared is not None and prepared.number == 1
        assert state.filings == [], "prepared is not filed: a person files on the portal"
        (task,) = [m for m in smtp.to(ONCALL) if "portal" in str(m["Subject"])]
        body = task.get_payload()[0].get_payload(decode=True).decode()
        assert dk.PORTAL in body and "/incidents/INC-1" in body, "where to file, where to record"
        subject = str(make_header(decode_header(task["Subject"])))
        assert "Indsend på portalen" in subject and "Erhvervsstyrelsen" in subject
        assert attachments(task) == ["INC-1-1.json", "INC-1-1.pdf", "INC-1-1.txt"]
        assert all(m["To"].endswith("operator.example") for m in smtp.messages), (
            "nothing goes to an authority by mail"
        )

        now = await h.now()
        (waiting,) = views.status(state, now)["awaiting_receipt"]
        assert waiting["portal"] == dk.PORTAL and waiting["number"] == 1
        assert await refused(handle, receipt(filing=7, at=now)) == ["portal.unknown_filing"]
        assert await refused(handle, receipt(at=now + timedelta(hours=1))) == ["time.future"]
        done = await handle.execute_update(IncidentWorkflow.record_receipt, receipt(at=now))
        assert done.said.code == "answer.portal_receipt"
        again = await handle.execute_update(IncidentWorkflow.record_receipt, receipt(at=now))
        assert again.said.code == "answer.portal_receipt_already"
        other = receipt(at=now, receipt="ERST-2026-0002")
        assert await refused(handle, other) == ["portal.receipt_conflict"]
        state = await status(handle)

        # The 3-day mark with nothing more known: prepared for the portal with what is
        # known, at the first page's lead, as the initial report was.
        await skipping.sleep(timedelta(hours=72 - 6, minutes=1))
        follow_up = (await status(handle)).tracks[0].prepared
        assert follow_up is not None and follow_up.kind is FilingKind.AT_DEADLINE
        tasks = [m for m in smtp.to(ONCALL) if "portal" in str(m["Subject"])]
        assert attachments(tasks[-1]) == ["INC-1-2.json", "INC-1-2.pdf", "INC-1-2.txt"]

    (filing,) = state.filings
    assert filing.receipt is not None and filing.receipt.number == "ERST-2026-0001"
    shown = views.status(state, filing.sent_at)
    assert shown["filings"][0]["receipt"] == "ERST-2026-0001" and shown["awaiting_receipt"] == []
    assert "portal receipt ERST-2026-0001" in views.status_text(state, filing.sent_at)
    assert filing.recipient == dk.PORTAL and not filing.late
    assert state.tracks[0].prepared is None and state.state_label == "reported"
    assert "follow_up_report" in state.tracks[0].anchors, "the 3-day clock runs from the receipt"
    codes = [e.code for e in state.timeline]
    assert codes.index("timeline.portal_prepared") < codes.index("timeline.portal_receipt")


async def test_a_portal_filing_without_a_receipt_escalates_past_its_deadline(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered(regime=RegimeCode.DK)
        await skipping.sleep(timedelta(hours=24, minutes=5))
        state = await status(handle)
        assert state.filings == [] and state.tracks[0].prepared is not None
        assert any(p.level == "overdue-1" for p in state.pages), "late as if not filed"
        assert len([m for m in smtp.messages if "portal" in str(m["Subject"])]) == 1
        overdue = next(m for m in smtp.messages if "försenad sedan" in subject_of(m))
        page = overdue.get_payload(decode=True).decode()
        assert "väntar på att någon lämnar in den" in page and dk.PORTAL in page, page
        assert "/incidents/INC-1" in page, "where to record the receipt"
        await handle.execute_update(IncidentWorkflow.record_receipt, receipt(at=await h.now()))
        state = await status(handle)

    (filing,) = state.filings
    assert filing.late and "klargjort" in (filing.late_reason or "")
    assert state.timeline[-1].code == "timeline.portal_receipt_late"


async def test_two_people_recording_different_receipts_at_once_one_is_refused(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered(regime=RegimeCode.DK)
        await skipping.sleep(timedelta(hours=18, minutes=5))
        now = await h.now()
        first, second = receipt(at=now), receipt(at=now, receipt="ERST-2026-0002")
        results = await asyncio.gather(
            handle.execute_update(IncidentWorkflow.record_receipt, first),
            handle.execute_update(IncidentWorkflow.record_receipt, second),
            return_exceptions=True,
        )
        state = await status(handle)

    refused_ = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(refused_) == 1 and len(state.filings) == 1
    (problem_,) = refusal_problems(refused_[0])
    assert problem_.code == "portal.receipt_conflict"
