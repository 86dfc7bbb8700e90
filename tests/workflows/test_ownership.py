"""Owned escalation on the time-skipping server: an acknowledged page stops the widening
(the filing still goes on time), its link acknowledges once, a snooze holds reminders."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import FilingKind, IncidentState
from breachclock.service import incidents
from breachclock.service.engine import Engine, Refused
from tests.conftest import SmtpSink, harness
from workflows.incident import IncidentWorkflow

PTS = "incidentrapport@pts.se"


async def status(handle: WorkflowHandle[Any, Any]) -> IncidentState:
    result: IncidentState = await handle.query(IncidentWorkflow.status)
    return result


def body(message: Any) -> str:
    return str(message.get_payload(decode=True).decode())


async def test_an_acknowledged_page_stops_widening_and_the_filing_still_goes(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        engine = Engine(h.settings, h.client)
        handle = await h.discovered("INC-ACK")
        await skipping.sleep(timedelta(hours=18, minutes=5))
        (first,) = smtp.messages
        assert "Kvittera det på incidentens sida i konsolen" in body(first)
        assert "/incidents/INC-ACK" in body(first) and "--deadline" not in body(first)
        link = re.search(r"/ack/(\S+)", body(first))
        assert link is not None, "the page carries a signed link to the console"
        found = incidents.verify_ack_link(engine, link.group(1))
        assert found == ("INC-ACK", "initial_report")
        with pytest.raises(Refused, match="not valid"):
            incidents.verify_ack_link(engine, link.group(1)[:-3] + "AAA")

        with pytest.raises(Refused, match="is for incident INC-ACK, not INC-OTHER"):
            await incidents.acknowledge(engine, "INC-OTHER", "Kim", token=link.group(1))
        answer = await incidents.acknowledge(engine, "INC-ACK", "Kim", token=link.group(1))
        assert (
            answer.message == "the initial report acknowledged by Kim: its pages reach no further"
        )
        with pytest.raises(Refused, match="used already"):
            await incidents.acknowledge(engine, "INC-ACK", "Lee", token=link.group(1))
        again = await incidents.acknowledge(engine, "INC-ACK", "Lee")
        assert again.message == "the initial report was already acknowledged by Kim"

        await skipping.sleep(timedelta(hours=5, minutes=45))
        state = await status(handle)

    assert [p.level for p in state.pages] == ["6h", "2h", "30m"]
    assert [p.recipients for p in state.pages] == [1, 1, 1], "nobody wider once owned"
    (filing,) = state.filings
    assert filing.kind is FilingKind.INITIAL and not filing.late, "the deadline still fired"
    assert len(smtp.to(PTS)) == 1
    (owned,) = [e for e in state.timeline if "acknowledged" in e.what]
    assert owned.by == "Kim" and "through the page's link" in owned.what
    assert state.tracks[0].acknowledged["initial_report"].by == "Kim"


async def test_a_snooze_holds_the_next_page_but_never_the_filing(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        engine = Engine(h.settings, h.client)
        handle = await h.discovered("INC-SNOOZE")
        aware = await h.now()
        with pytest.raises(Refused) as refused:
            await incidents.snooze(engine, "INC-SNOOZE", "Kim", 45)
        (wrong,) = refused.value.problems
        assert (wrong.code, wrong.params["allowed"]) == ("input.literal_error", ["30", "60", "120"])
        await skipping.sleep(timedelta(hours=21, minutes=50))
        answer = await incidents.snooze(engine, "INC-SNOOZE", "Kim", 30)
        assert answer.message.startswith("reminders snoozed until ")
        await skipping.sleep(timedelta(hours=2))
        state = await status(handle)

    levels = {p.level: p.sent_at - aware for p in state.pages}
    assert set(levels) == {"6h", "2h", "30m"}
    assert timedelta(hours=22, minutes=20) <= levels["2h"] < timedelta(hours=22, minutes=22)
    (filing,) = state.filings
    assert filing.sent_at - aware < timedelta(hours=23, minutes=47), "the filing never waits"
    assert any(e.what.startswith("reminders snoozed until") for e in state.timeline)
