"""Notify or not: the recommendation, art. 4 protection, and checking a recorded decision."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import ValidationError

from breachclock.domain.catalogue import Voice
from breachclock.domain.notify.assessment import (
    Assessment,
    Consequence,
    DataKind,
    Decision,
    Protection,
    ProtectionMethod,
    check_decision,
    recommend,
)
from breachclock.domain.problems import Said


def assessment(**changes: Any) -> Assessment:
    base: dict[str, Any] = {
        "data_kinds": ["subscriber_identity"],
        "consequences": ["none_identified"],
        "stolen": False,
        "known_with_third_party": False,
    }
    return Assessment.model_validate({**base, **changes})


AES_OK = {"method": "standard_encryption", "algorithm": "AES-256-GCM"}


EN = Voice("en")


def english(said: Sequence[Said]) -> list[str]:
    """Reasons or problems as an English reader reads them."""
    return [s.words(EN) for s in said]


def test_harmless_identity_data_is_exempt_as_no_adverse_effect() -> None:
    rec = recommend(assessment())
    assert rec.notify is False
    assert rec.exemption == "no_adverse_effect"
    assert any("justify" in r for r in english(rec.reasons))


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (DataKind.SECRET_NUMBER_OR_ADDRESS, "Secret numbers"),
        (DataKind.FINANCIAL, "Financial"),
        (DataKind.SENSITIVE_CATEGORY, "union membership"),
        (DataKind.LOCATION, "Location"),
        (DataKind.ITEMISED_CALL_LIST, "call lists"),
        (DataKind.BROWSING_HISTORY, "Browsing history"),
    ],
)
def test_sensitive_kinds_of_data_call_for_notice(kind: DataKind, words: str) -> None:
    rec = recommend(assessment(data_kinds=["subscriber_identity", kind.value]))
    assert rec.notify is True
    assert rec.exemption is None
    assert any(words in r for r in english(rec.reasons))


@pytest.mark.parametrize("flag", ["stolen", "known_with_third_party"])
def test_circumstances_call_for_notice(flag: str) -> None:
    rec = recommend(assessment(**{flag: True}))
    assert rec.notify is True
    expected = "stolen" if flag == "stolen" else "third party"
    assert any(expected in r for r in english(rec.reasons))


@pytest.mark.parametrize(
    "consequence", [c for c in Consequence if c is not Consequence.NONE_IDENTIFIED]
)
def test_any_likely_consequence_calls_for_notice(consequence: Consequence) -> None:
    rec = recommend(assessment(consequences=[consequence.value]))
    assert rec.notify is True
    assert rec.exemption is None


def test_none_identified_cannot_be_combined() -> None:
    with pytest.raises(ValidationError, match="no consequence identified"):
        assessment(consequences=["none_identified", "humiliation"])


def test_data_kinds_and_consequences_must_be_given() -> None:
    with pytest.raises(ValidationError):
        assessment(data_kinds=[])
    with pytest.raises(ValidationError):
        assessment(consequences=[])


def test_unknown_field_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        assessment(encrypted=True)


def test_standard_encryption_with_safe_key_is_exempt_and_must_be_shown() -> None:
    rec = recommend(
        assessment(
            data_kinds=["secret_number_or_address", "location"], stolen=True, protection=AES_OK
        )
    )
    assert rec.notify is False
    assert rec.exemption == "unintelligible"
    text = " ".join(english(rec.reasons))
    assert "AES-256-GCM" in text
    assert "show the authority" in text
    assert "Secret numbers" in text  # what would otherwise have called for notice


def test_keyed_hash_is_exempt_but_plain_hash_is_not() -> None:
    keyed = recommend(
        assessment(stolen=True, protection={"method": "keyed_hash", "algorithm": "HMAC-SHA-256"})
    )
    assert keyed.exemption == "unintelligible"
    unkeyed = recommend(
        assessment(stolen=True, protection={"method": "keyed_hash", "algorithm": "SHA-256"})
    )
    assert unkeyed.notify is True
    assert unkeyed.exemption is None
    assert any("not a standardised keyed hash" in r for r in english(unkeyed.reasons))


@pytest.mark.parametrize(
    ("protection", "words"),
    [
        ({**AES_OK, "key_compromised": True}, "key was compromised"),
        ({**AES_OK, "key_derivable": True}, "can be derived"),
        ({"method": "other", "algorithm": "base64"}, "neither standardised encryption"),
        ({"method": "standard_encryption"}, "No algorithm is named"),
        ({"method": "standard_encryption", "algorithm": "ROT13"}, "not one breachclock recognises"),
    ],
)
def test_weak_protection_does_not_exempt(protection: dict[str, Any], words: str) -> None:
    rec = recommend(assessment(data_kinds=["secret_number_or_address"], protection=protection))
    assert rec.notify is True
    assert rec.exemption is None
    assert any(words in r for r in english(rec.reasons))


def test_weak_protection_on_harmless_data_still_not_unintelligible() -> None:
    rec = recommend(assessment(protection={**AES_OK, "key_compromised": True}))
    assert rec.exemption == "no_adverse_effect"


def test_users_besides_subscribers_are_named() -> None:
    rec = recommend(assessment(stolen=True, affects_users_besides_subscribers=True))
    assert rec.notify is True
    assert any("Users other than the subscribers" in r for r in english(rec.reasons))


def test_protection_shortcomings_empty_only_for_valid_protection() -> None:
    assert Protection.model_validate(AES_OK).shortcomings() == []
    assert Protection(method=ProtectionMethod.NONE).shortcomings() != []


# --- decisions -----------------------------------------------------------------------------

JUSTIFICATION = "The leaked file was AES-256-GCM encrypted; the key stayed in the HSM."


def test_not_notifying_needs_a_justification_of_20_chars() -> None:
    with pytest.raises(ValidationError, match="justification"):
        Decision(notify=False, exemption="no_adverse_effect", decided_by="DPO")
    with pytest.raises(ValidationError, match="20 characters"):
        Decision(
            notify=False, exemption="no_adverse_effect", justification="too short", decided_by="DPO"
        )
    Decision(notify=True, decided_by="DPO")  # notifying needs none


def test_claiming_unintelligible_with_compromised_key_is_a_problem() -> None:
    a = assessment(stolen=True, protection={**AES_OK, "key_compromised": True})
    decision = Decision(
        notify=False, exemption="unintelligible", justification=JUSTIFICATION, decided_by="DPO"
    )
    problems = check_decision(a, decision)
    assert len(problems) == 1
    assert "does not hold" in english(problems)[0]
    assert "compromised" in english(problems)[0]


def test_claiming_unintelligible_with_valid_protection_holds() -> None:
    a = assessment(stolen=True, protection=AES_OK)
    decision = Decision(
        notify=False, exemption="unintelligible", justification=JUSTIFICATION, decided_by="DPO"
    )
    assert check_decision(a, decision) == []


def test_no_adverse_effect_contradicted_by_secret_numbers() -> None:
    a = assessment(data_kinds=["secret_number_or_address"])
    decision = Decision(
        notify=False,
        exemption="no_adverse_effect",
        justification="Only a handful of numbers, we think it is fine.",
        decided_by="DPO",
    )
    problems = check_decision(a, decision)
    assert problems and "Secret numbers" in english(problems)[0]


def test_not_notifying_without_a_ground_is_a_problem() -> None:
    decision = Decision(
        notify=False, justification="We decided not to, for reasons.", decided_by="DPO"
    )
    assert any("needs a ground" in p for p in english(check_decision(assessment(), decision)))


def test_notifying_is_always_allowed_but_not_with_an_exemption() -> None:
    assert (
        check_decision(assessment(protection=AES_OK), Decision(notify=True, decided_by="DPO")) == []
    )
    problems = check_decision(
        assessment(), Decision(notify=True, exemption="no_adverse_effect", decided_by="DPO")
    )
    assert problems and "drop the exemption" in english(problems)[0]


def test_a_notice_recommendation_heads_its_reasons_with_the_rule_not_among_them() -> None:
    rec = recommend(assessment(data_kinds=["secret_number_or_address"], stolen=True))
    assert rec.notify is True
    assert rec.basis is not None and "art. 3 of Regulation (EU) No 611/2013" in rec.basis.words(EN)
    assert english(rec.reasons) and not any(
        r.endswith(":") or "art. 3" in r for r in english(rec.reasons)
    )
