"""The message catalogue: every language complete, every key the code names present,
placeholders alike in every language, and the voice's ways with times and numbers."""

from __future__ import annotations

import ast
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from breachclock.domain.catalogue import (
    DATA,
    LANGUAGES,
    MESSAGE,
    CatalogueKeyError,
    Voice,
    foreign,
    marking,
    messages,
)
from breachclock.domain.incident.containment import TakedownStatus
from breachclock.domain.notify.assessment import HARMFUL_KINDS, Consequence
from breachclock.domain.problems import Problem, problem

ROOT = Path(__file__).parents[2]
CODE = [ROOT / "breachclock", ROOT / "workflows", ROOT / "activities"]

NAMESPACE = {
    "problem": "problem.",
    "invalid": "problem.",
    "of": "problem.",
    "InstantError": "problem.",
    "BadLink": "problem.",
    "said": "",
    "answer": "",
    "approved": "",
}
"""Calls whose constant string argument is a catalogue key, and the key's namespace."""


def keys_named_in_code() -> set[str]:
    """Every catalogue key the code names as a constant (the first string argument of the
    calls above; ``approved`` takes it second)."""
    found = set()
    for folder in CODE:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in NAMESPACE:
                    continue
                for arg in node.args[:2]:
                    candidates = [arg]
                    if isinstance(arg, ast.IfExp):
                        candidates = [arg.body, arg.orelse]
                    for c in candidates:
                        if (
                            isinstance(c, ast.Constant)
                            and isinstance(c.value, str)
                            and ("." in c.value or name == "said")
                        ):
                            found.add(NAMESPACE[name] + c.value)
                    if candidates and any(isinstance(c, ast.Constant) for c in candidates):
                        break
    return found


FAMILIES = [
    *(f"reason.data.{k.value}" for k in HARMFUL_KINDS),
    *(f"reason.consequence.{c.value}" for c in Consequence if c is not Consequence.NONE_IDENTIFIED),
    *(f"timeline.takedown_{s.value}" for s in TakedownStatus if s is not TakedownStatus.REQUESTED),
    "timeline.paged_overdue",
    "timeline.paged_reminder",
]
"""Keys the code makes from a value (an f-string), one for each value there is."""


def placeholders(text: str) -> set[tuple[str, str]]:
    return {
        (name, spec or "")
        for _, name, spec, _ in string.Formatter().parse(text)
        if name is not None
    }


def test_every_language_has_every_key() -> None:
    plain = {lang: {k for k in messages(lang).plain if "@" not in k} for lang in LANGUAGES}
    missing = {lang: sorted(set().union(*plain.values()) - keys) for lang, keys in plain.items()}
    assert missing == {lang: [] for lang in LANGUAGES}
    plural = {lang: set(messages(lang).plural) for lang in LANGUAGES}
    assert plural["sv"] == plural["da"] == plural["en"]


def test_an_override_overrides_a_key_of_its_language() -> None:
    for lang in LANGUAGES:
        table = messages(lang).plain
        orphans = [k for k in table if "@" in k and k.split("@")[0] not in table]
        assert orphans == [], lang


def test_no_message_is_left_empty() -> None:
    for lang in LANGUAGES:
        empty = [k for k, v in messages(lang).plain.items() if not v.strip()]
        assert empty == [], lang


def test_every_language_fills_the_same_placeholders() -> None:
    english = messages("en").plain
    for lang in ("sv", "da"):
        table = messages(lang).plain
        differ = [
            k
            for k, v in table.items()
            if "@" not in k and k in english and placeholders(v) != placeholders(english[k])
        ]
        assert differ == [], lang


def test_every_key_the_code_names_is_in_every_language() -> None:
    wanted = keys_named_in_code() | set(FAMILIES)
    assert len(wanted) > 150
    for lang in LANGUAGES:
        table = messages(lang).keys()
        assert sorted(wanted - table) == [], lang


# ------------------------------------------------------------------ the voice

NOW = datetime(2026, 12, 5, 13, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "zone", "shown"),
    [
        ("sv", "Europe/Stockholm", "lör 5 dec. 14:03 CET"),
        ("da", "Europe/Copenhagen", "lør. 5. dec. 14.03 CET"),
        ("en", "Europe/London", "Sat 5 Dec 13:03 GMT"),
    ],
)
def test_an_instant_on_a_screen_is_weekday_day_month_time_and_zone(
    language: str, zone: str, shown: str
) -> None:
    assert Voice(language, zone, now=NOW).human(NOW) == shown  # type: ignore[arg-type]


def test_another_year_is_shown() -> None:
    voice = Voice("sv", "Europe/Stockholm", now=NOW)
    assert voice.human(NOW - timedelta(days=400)) == "fre 31 okt. 2025 14:03 CET"


@pytest.mark.parametrize(
    ("language", "ahead", "shown"),
    [
        ("sv", timedelta(hours=3, minutes=12, seconds=40), "om 3 h 12 min"),
        ("sv", -timedelta(hours=2, minutes=5), "försenad 2 h 5 min"),
        ("da", timedelta(hours=3, minutes=12), "om 3 t 12 min"),
        ("en", timedelta(days=3, hours=1, minutes=9), "in 3 d 1 h"),
        ("en", timedelta(seconds=30), "in 0 min"),
    ],
)
def test_a_countdown_in_words(language: str, ahead: timedelta, shown: str) -> None:
    assert Voice(language).countdown(NOW + ahead, NOW) == shown  # type: ignore[arg-type]


def test_numbers_group_as_the_language_does() -> None:
    assert [Voice(lang).number(3300) for lang in LANGUAGES] == ["3\u00a0300", "3.300", "3,300"]


def test_an_unknown_key_is_an_error_not_a_blank() -> None:
    with pytest.raises(CatalogueKeyError):
        Voice("sv")("no.such.key")


def test_a_regime_override_wins_for_its_regime_only() -> None:
    pts = Voice("sv", regime="pts").scoped("filing.")
    imy = Voice("sv", regime="imy").scoped("filing.")
    assert pts("title") == "Rapport om integritetsincident"
    assert imy("title") == "Anmälan av personuppgiftsincident"


def test_a_value_without_words_stays_as_recorded() -> None:
    assert Voice("sv").value("filing.kind", "initial") == "inledande rapport"
    assert Voice("sv").value("filing.kind", "something_new") == "something_new"


# ------------------------------------------------------- problems in words


def test_a_problem_is_worded_in_each_language_with_its_parameters() -> None:
    late = problem(
        "approve.late_reason",
        "late_reason",
        stage="initial_report",
        due=datetime(2026, 11, 24, 8, 5, tzinfo=UTC),
    )
    assert late.pointer() == "/late_reason"
    worded = {lang: late.words(Voice(lang, "Europe/Stockholm")) for lang in LANGUAGES}
    assert "2026-11-24 kl. 09:05 CET" in worded["sv"]
    assert "inledande rapport" in worded["sv"]
    assert "24.11.2026 kl. 09.05 CET" in worded["da"]
    assert "initial report" in worded["en"]


def test_a_problem_travels_as_json_and_back() -> None:
    found = problem("close.reports_due", "abandon_reports", reports=["pts.supplementary_report"])
    again = Problem.model_validate_json(found.model_dump_json())
    assert again == found
    assert "kompletterande rapport" in again.words(Voice("sv"))


# ------------------------------------------------- marking, for language tests


def test_marking_tells_the_catalogues_words_from_the_data_in_them() -> None:
    voice = Voice("sv")
    with marking():
        text = voice("problem.incident.closed", reference="INC-1")
    assert text.startswith(MESSAGE[0]) and text.endswith(MESSAGE[1])
    assert f"{DATA[0]}INC-1{DATA[1]}" in text
    assert foreign(text, ["INC-1"]) == []
    assert foreign(text) == ["INC-1"]


def test_text_outside_the_catalogue_is_found() -> None:
    with marking():
        text = "Status: " + Voice("sv")("ui.save") + " the engine was unavailable"
    assert foreign(text) == ["Status:", "the engine was unavailable"]


def test_numbers_times_and_punctuation_are_not_foreign() -> None:
    with marking():
        text = Voice("da", "Europe/Copenhagen")(
            "problem.instant.far_ahead", at="2027-12-03T12:01:00+00:00"
        )
    assert foreign(f"— 12 · {text} (3 300)") == []
