"""Free text in another language than the filing's, judged with the real detector
(lingua): English inside the Swedish Comviq filing is found, field by field; the
seed cases' own Swedish and Danish texts are not, short texts are not judged, and a
huge text is judged by its start only."""

from __future__ import annotations

import time
from typing import Any

from breachclock.domain.incident.language_check import (
    JUDGED_CHARS,
    Finding,
    foreign,
    free_texts,
    overridden,
)
from breachclock.domain.incident.model import Facts
from breachclock.domain.problems import Problem
from breachclock.runtime.language import languages_of
from tests.filing_cases import COMVIQ, YOUSEE
from tests.problems import said


def problems(facts: Facts, language: str, late_reason: str | None = None) -> list[Problem]:
    texts = free_texts(facts, late_reason)
    found = languages_of([t for _, t in texts])
    return foreign(
        (Finding(f, t, lang) for (f, t), lang in zip(texts, found, strict=True)), language
    )


def warnings(facts: Facts, language: str) -> list[Any]:
    return [said(p) for p in problems(facts, language)]


def test_the_seed_cases_own_language_draws_no_warning() -> None:
    assert warnings(COMVIQ.facts, "sv") == []
    assert warnings(YOUSEE.facts, "da") == [], "Danish read as Norwegian is not a warning"


def test_english_in_a_swedish_filing_is_found_beside_each_field() -> None:
    english = Facts.model_validate(
        COMVIQ.facts.model_dump()
        | {
            "circumstances": "A migration program set 'publish' on customers who had asked "
            "for secret numbers; the data went to directory-enquiry companies.",
            "measures_taken": [
                *(COMVIQ.facts.measures_taken or []),
                {"what": "directory companies told to remove the numbers"},
            ],
            "systems": ["CRM"],  # too short to judge
        }
    )
    found = warnings(english, "sv")
    assert found == [
        (
            "approve.other_language",
            "facts.circumstances",
            {"name": "circumstances", "found": "en", "filing": "sv"},
        ),
        (
            "approve.other_language",
            "facts.measures_taken.2.what",
            {"name": "measures_taken", "found": "en", "filing": "sv"},
        ),
    ]
    assert overridden(problems(english, "sv")) == ["circumstances", "measures_taken"]
    late = "the relay refused the report until after the deadline had passed"
    assert said(problems(COMVIQ.facts, "sv", late)[0]) == (
        "approve.other_language",
        "late_reason",
        {"name": "late_reason", "found": "en", "filing": "sv"},
    ), "the late reason typed with the approval, too"
    assert warnings(english, "en") != [], "the Swedish texts in an English filing, in turn"


def test_a_huge_text_is_judged_by_its_start_in_bounded_time() -> None:
    huge = Facts(circumstances="The export ran again. " * 900)
    ((field, text),) = free_texts(huge)
    assert field == "facts.circumstances" and len(text) == JUDGED_CHARS
    started = time.perf_counter()
    assert warnings(huge, "da")[0][2]["found"] == "en"
    assert time.perf_counter() - started < 2
