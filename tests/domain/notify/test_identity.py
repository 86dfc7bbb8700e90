"""A delivered call says how the person proved who they are, by a method that counts."""

from __future__ import annotations

import pytest

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.notice_fact import outcome_counts
from breachclock.domain.notify.delivery import CallOutcome, Counts
from breachclock.domain.notify.identity import (
    ALL_METHODS,
    RATING,
    Disclosure,
    IdentityMethod,
    concerned_script,
    disclosure,
    refusal,
)
from tests.problems import said

ONLY_BANKID = (IdentityMethod.BANKID,)


def test_a_delivered_call_needs_a_method_that_counts() -> None:
    verified = CallOutcome.REACHED_VERIFIED
    assert refusal(verified, IdentityMethod.BANKID, ONLY_BANKID) is None
    assert said(refusal(verified, None, ONLY_BANKID)) == (
        "identity.method_needed",
        "identified_by",
        {"methods": ["bankid"]},
    )
    assert said(refusal(verified, IdentityMethod.KNOWN_CALLBACK, ONLY_BANKID)) == (
        "identity.method_not_accepted",
        "identified_by",
        {"method": "known_callback", "methods": ["bankid"]},
    )


@pytest.mark.parametrize(
    "outcome", [o for o in CallOutcome if o is not CallOutcome.REACHED_VERIFIED]
)
def test_only_a_delivered_call_has_a_method(outcome: CallOutcome) -> None:
    assert refusal(outcome, None, ALL_METHODS) is None
    assert said(refusal(outcome, IdentityMethod.BANKID, ALL_METHODS)) == (
        "identity.method_without_delivery",
        "identified_by",
        {"outcome": outcome.value},
    )


def test_the_filing_counts_delivered_calls_by_method() -> None:
    counts = Counts(
        calls={CallOutcome.REACHED_VERIFIED: 3}, identified={"bankid": 2, "known_callback": 1}
    )
    both = counts.plus(Counts(identified={"bankid": 1}))
    figures = outcome_counts(both)
    assert figures["identified.bankid"] == 3 and figures["identified.known_callback"] == 1


def test_possession_only_methods_allow_saying_an_incident_concerns_the_subscription() -> None:
    assert disclosure(IdentityMethod.KNOWN_CALLBACK) is Disclosure.CONCERNED
    assert disclosure(IdentityMethod.ONE_TIME_CODE) is Disclosure.CONCERNED
    assert disclosure(None) is None
    for strong_method in (
        IdentityMethod.BANKID,
        IdentityMethod.SECURITY_QUESTIONS,
        IdentityMethod.CODE_OTHER_CHANNEL,
    ):
        assert disclosure(strong_method) is Disclosure.DETAILS
    assert set(RATING) == set(IdentityMethod)


def test_the_script_after_possession_names_only_the_stronger_methods_accepted() -> None:
    accepted = (IdentityMethod.KNOWN_CALLBACK, IdentityMethod.BANKID)
    line = concerned_script("Tre", accepted)
    assert line.params["methods"] == ["bankid"]
    text = line.words(Voice("sv"))
    assert "Tre" in text and "BankID" in text and "återuppringning" not in text
