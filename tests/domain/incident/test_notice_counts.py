"""The final report says, from the campaign's own counts, how many people were told by
telephone and by e-mail, how many are left for a letter, and how many not yet reached."""

from __future__ import annotations

from breachclock.domain.incident.notice_fact import outcome_counts
from breachclock.domain.incident.report import render_text
from breachclock.domain.notify.delivery import Counts, Status
from tests.filing_cases import COMVIQ, variant

SAYS = "Så underrättades de berörda (systemets egna siffror)"


def test_the_counts_are_the_campaign_s_and_add_up_to_the_list() -> None:
    counts = Counts(
        people={Status.CALLED: 40, Status.EMAILED: 7, Status.UNREACHABLE: 3, Status.PENDING: 1}
    )
    notice = {**COMVIQ.facts.subscriber_notice.model_dump(), "outcomes": outcome_counts(counts)}  # type: ignore[union-attr]
    text = render_text(variant(COMVIQ, facts={"subscriber_notice": notice}))
    assert (
        f"{SAYS}: av 51 personer på listan har 40 underrättats per telefon (identiteten "
        "bekräftad) och 7 per e-post; 3 kunde inte nås per telefon eller e-post och ska "
        "underrättas per brev; 1 har ännu inte nåtts"
    ) in text


def test_a_notice_a_person_recorded_claims_no_counts() -> None:
    notice = {"notified": True, "means": "brev till samtliga", "notified_count": 12}
    text = render_text(variant(COMVIQ, facts={"subscriber_notice": notice}))
    assert SAYS not in text and "Antal underrättade: 12" in text
