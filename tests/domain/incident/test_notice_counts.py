"""The final report says, from the campaign's own counts, how many people were told by
telephone, by e-mail and by letter (and when the letters were posted), how many wait for
a letter not yet posted, how many could not be reached, and how many not yet reached."""

from __future__ import annotations

from datetime import UTC, datetime

from breachclock.domain.incident.notice_fact import letter_counts, outcome_counts
from breachclock.domain.incident.report import render_text
from breachclock.domain.notify.delivery import Counts, Status
from breachclock.domain.notify.letters import Letters
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
        "bekräftad) och 7 per e-post; 0 har underrättats per brev; 3 väntar på ett brev som "
        "ännu inte postats; 0 har inte kunnat nås alls (0 saknar postadress, 0 brev kom "
        "tillbaka obeställbara); 1 har ännu inte nåtts"
    ) in text


def test_letters_posted_returned_and_without_an_address_are_counted_with_their_days() -> None:
    counts = Counts(people={Status.CALLED: 40, Status.UNREACHABLE: 10})
    letters = Letters(
        posted=7,
        returned=1,
        no_address=2,
        first_posted=datetime(2026, 6, 2, 22, 30, tzinfo=UTC),  # 3 June in Stockholm
        last_posted=datetime(2026, 6, 5, 9, tzinfo=UTC),
    )
    notice = {
        **COMVIQ.facts.subscriber_notice.model_dump(),  # type: ignore[union-attr]
        "outcomes": outcome_counts(counts) | letter_counts(letters),
        "letters_from": letters.first_posted,
        "letters_until": letters.last_posted,
    }
    text = render_text(variant(COMVIQ, facts={"subscriber_notice": notice}))
    assert (
        "0 per e-post; 6 har underrättats per brev (postade mellan 2026-06-03 och "
        "2026-06-05); 1 väntar på ett brev som ännu inte postats; 3 har inte kunnat nås "
        "alls (2 saknar postadress, 1 brev kom tillbaka obeställbara); 0 har ännu inte nåtts"
    ) in text
    assert "brev – postade: 7" in text, "and in the table of outcomes"


def test_a_notice_a_person_recorded_claims_no_counts() -> None:
    notice = {"notified": True, "means": "brev till samtliga", "notified_count": 12}
    text = render_text(variant(COMVIQ, facts={"subscriber_notice": notice}))
    assert SAYS not in text and "Antal underrättade: 12" in text
