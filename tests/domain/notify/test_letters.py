"""The letters' counts: merged in either order to the larger, refused when they cannot
be, and the posting times a batch may have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from breachclock.domain.notify.letters import (
    Letters,
    letters_problems,
    posted_key,
    posting_problems,
)
from breachclock.domain.problems import Problem

DAY = datetime(2026, 6, 3, 14, tzinfo=UTC)


def codes(found: list[Problem]) -> list[str]:
    return [p.code for p in found]


def test_counts_sent_at_once_merge_to_the_larger_in_either_order() -> None:
    early = Letters(posted=2, no_address=1, first_posted=DAY, last_posted=DAY)
    later = Letters(
        posted=5, returned=1, no_address=1, first_posted=DAY, last_posted=DAY + timedelta(days=2)
    )
    assert early.merged(later) == later.merged(early) == later
    assert later.merged(early).told == 4
    assert posted_key("INC-1", "S1") == "INC-1:S1:letter:posted"


def test_counts_that_cannot_be_are_refused() -> None:
    assert codes(letters_problems(Letters(), told=False)) == ["letters.no_campaign"]
    wrong = Letters(posted=1, returned=2, first_posted=DAY + timedelta(days=1), last_posted=DAY)
    assert codes(letters_problems(wrong, told=True)) == [
        "letters.returned_exceeds",
        "letters.days_reversed",
    ]
    assert codes(letters_problems(Letters(posted=1), told=True)) == ["letters.posted_without_day"]


def test_a_posting_is_not_in_the_future_nor_over_400_days_back() -> None:
    assert posting_problems(DAY + timedelta(minutes=4), DAY) == [], "a client's clock"
    assert codes(posting_problems(DAY + timedelta(hours=1), DAY)) == ["letters.posted_in_future"]
    assert codes(posting_problems(DAY - timedelta(days=401), DAY)) == ["letters.posted_too_early"]
