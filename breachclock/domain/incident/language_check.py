"""Free text in another language than the filing's, found at approval (issue 20: about
40 % of the demo's free text was English inside Swedish filings).

The engine words everything it writes in the filing's language; what a person typed
goes in as typed. So before a person approves a filing, each free-text fact is judged
by its language (``runtime.language`` detects it; this module only decides), and one in
another language is a warning the approver may override; the override is recorded.

- Texts under ``MIN_LETTERS`` letters or ``MIN_WORDS`` words are not judged: a name,
  a system, "none", a compound or two ("udeladte telefonnumre", read as German) say
  nothing reliable about their language.
- Only the first ``JUDGED_CHARS`` characters of a text are judged: enough to tell its
  language, and a bound on the work (facts may hold 256 KiB).
- Swedish, Danish and Norwegian are close: a short text (under ``CLOSE_LETTERS``
  letters) detected as a neighbour of the filing's language is not a warning, as the
  detector confuses them there ("Uønsket kontakt; fare for personer …" read as Bokmål).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from breachclock.domain.incident.model import TEXT_FACTS, Facts, SubscriberNotice
from breachclock.domain.incident.report import LEGACY_EMAIL_ONLY, LEGACY_MEANS
from breachclock.domain.problems import Problem, problem

MIN_LETTERS = 20
MIN_WORDS = 3
JUDGED_CHARS = 2_000
CLOSE_LETTERS = 200
CLOSE = frozenset({"sv", "da", "nb", "nn"})
"""Scandinavian languages a detector tells apart only in longer texts."""

TEXTS = ("affected_scale", *TEXT_FACTS)
LISTS = ("services", "data_kinds", "systems", "contributing_causes")
MEASURES = ("measures_taken", "measures_planned")


class Finding(NamedTuple):
    """One judged text: its field (``facts.circumstances``), what was judged of it, and
    the language found (an ISO 639-1 code; None: none of those the detector knows)."""

    field: str
    text: str
    language: str | None


def free_texts(facts: Facts, late_reason: str | None = None) -> list[tuple[str, str]]:
    """Each free text of ``facts`` (and the ``late_reason`` typed at approval) that a
    filing carries as typed, long enough to judge, by field, cut to ``JUDGED_CHARS``."""
    found: list[tuple[str, str | None]] = [("late_reason", late_reason)]
    found += [(f"facts.{n}", getattr(facts, n)) for n in TEXTS]
    if facts.occurred:
        found.append(("facts.occurred.how", facts.occurred.how))
    for name in LISTS:
        found += [(f"facts.{name}.{i}", t) for i, t in enumerate(getattr(facts, name) or ())]
    for name in MEASURES:
        found += [
            (f"facts.{name}.{i}.what", m.what) for i, m in enumerate(getattr(facts, name) or ())
        ]
    found += [(f"facts.unknown_because.{k}", v) for k, v in facts.unknown_because.items()]
    notice = facts.subscriber_notice
    if notice is not None:
        found += [
            ("facts.subscriber_notice.justification", notice.justification),
            ("facts.subscriber_notice.means", typed_means(notice)),
        ]
    return [(field, text[:JUDGED_CHARS]) for field, text in found if text and judged(text)]


def typed_means(notice: SubscriberNotice) -> str | None:
    """The means of notice as a person typed them, which the filing carries as typed;
    None where the filing words a campaign's means itself (its plan, its calls, or the
    English sentence campaigns once recorded)."""
    means = notice.means or ""
    if notice.plan is not None or notice.call_attempts is not None:
        return None
    if means == LEGACY_EMAIL_ONLY or re.match(LEGACY_MEANS, means):
        return None
    return means


def letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def judged(text: str) -> bool:
    return letters(text) >= MIN_LETTERS and len(text.split(None, MIN_WORDS)) >= MIN_WORDS


def foreign(findings: Iterable[Finding], language: str) -> list[Problem]:
    """A warning for each text found in another language than ``language`` (the
    filing's), beside its field."""
    return [
        problem(
            "approve.other_language",
            f.field,
            name=top(f.field),
            found=f.language,
            filing=language,
        )
        for f in findings
        if f.language is not None and f.language != language and not _close(f, language)
    ]


def _close(finding: Finding, language: str) -> bool:
    """A short text in a neighbour of the filing's language: not told apart reliably."""
    near = finding.language in CLOSE and language in CLOSE
    return near and letters(finding.text) < CLOSE_LETTERS


def top(field: str) -> str:
    """The fact a field path is part of (``facts.measures_taken.0.what``: ``measures_taken``;
    ``late_reason``: itself)."""
    return field.removeprefix("facts.").split(".")[0]


def overridden(problems: Iterable[Problem]) -> list[str]:
    """The facts an approver lets go in another language, for the record."""
    return sorted({top(p.field) for p in problems if p.field})
