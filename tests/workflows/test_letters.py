"""Letters on Temporal's time-skipping server: a print batch, recorded as posted, and the
filing to the regulator counting the letters from the engine's own record."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.catalogue import Voice
from breachclock.domain.notify.delivery import Status
from breachclock.service import letters
from breachclock.service.engine import Engine, Refused
from tests.conftest import SmtpSink, approve_pending, harness
from tests.notify_support import decide, finish, people, ready

pytestmark = pytest.mark.usefixtures("campaign_history")

PTS = "incidentrapport@pts.se"
ADDRESS = "Storgatan 1\n111 22 Stockholm"


async def test_the_filing_counts_the_letters_posted_and_those_without_an_address(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(
        skipping, tmp_path, smtp, BREACHCLOCK_SIMULATOR_OUTCOMES={"invalid_number": 1.0}
    ) as h:
        reference = "INC-LETTER-1"
        handle = await h.discovered(reference)
        crowd = people(2, email=False, postal_address=ADDRESS)
        crowd += people(1, start=3, email=False)
        await ready(h.settings, handle, reference, crowd)
        await decide(handle)
        state = await finish(h.env, handle)
        counts = state.notification.waves[0].counts
        assert counts is not None and counts.people == {Status.UNREACHABLE: 3}
        engine = Engine(h.settings, h.env.client)

        made = await letters.make_batch(engine, reference, "Mia Manager")
        assert made.batch is not None and made.batch.people == 2 and made.no_address == 1
        pdf = await letters.print_file(engine, reference, made.batch.id, Voice("sv"))
        pages = tmp_path / "batch.pdf"
        pages.write_bytes(pdf)
        text = "\n".join(p.extract_text() for p in PdfReader(pages).pages)
        assert "Person Number1" in text and "111 22 Stockholm" in text
        assert "Ett fel i en migrering gjorde hemliga nummer synliga." in text, "the notice"
        assert len(PdfReader(pages).pages) == 3, "the list, then a letter a person"

        with pytest.raises(Refused) as early:
            await letters.record_posted(
                engine, reference, made.batch.id, datetime(2020, 1, 1, tzinfo=UTC), "Mia"
            )
        assert early.value.problems[0].code == "letters.posted_too_early"
        at = datetime.now(UTC)
        posted = await letters.record_posted(engine, reference, made.batch.id, at, "Mia")
        again = await letters.record_posted(engine, reference, made.batch.id, at, "Mia")
        assert (posted.new, again.new) == (2, 0)

        result = await approve_pending(handle, "DPO")
        assert result.filed is not None
        (filing,) = smtp.to(PTS)
        body = filing.get_payload(0).get_payload(decode=True).decode()  # type: ignore[union-attr]
        # The filing's day is the operator's (at 23:30 UTC it is already tomorrow there).
        day = at.astimezone(ZoneInfo(h.settings.operator_zone)).date().isoformat()
        assert f"2 har underrättats per brev (postat {day})" in body
        assert "0 väntar på ett brev som ännu inte postats" in body
        assert "1 har inte kunnat nås alls (1 saknar postadress, 0 brev kom" in body
        assert "Storgatan" not in body and "Number1" not in body
