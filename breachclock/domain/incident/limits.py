"""How big an incident may grow, so that it always fits Temporal's limits.

An incident's whole state travels in workflow payloads: the ``status`` query's answer,
every filing's draft (the activity's input), the input of the run it continues as.
Temporal refuses a payload over 2 MB, and a workflow task whose commands carry one
fails for ever: the incident could no longer file, nor even be asked how it stands.
So the state has a budget well inside that, people's input may fill only part of it
(the rest is kept for the engine's own records of pages and filings), and every
input that adds to it is refused, naming the limit, once it would not fit.
"""

from __future__ import annotations

from pydantic import BaseModel

from breachclock.domain.problems import Problem, problem

STATE_LIMIT = 1_500_000
"""Bytes of the incident's state as JSON: the engine compacts its own records past this."""
INPUT_LIMIT = 1_250_000
"""Bytes of state people's input may bring it to."""
FACTS_LIMIT = 256 * 1024
"""Bytes of the report's facts (JSON)."""
TIMELINE_LIMIT = 10_000
"""Timeline entries an incident may hold."""
LIST_ITEMS = 100
"""Items in any one list of facts (services, measures, causes …)."""
EVENT_TEXT = 2_000
"""Characters of one timeline event."""
KEPT_PAGES = 200
"""Pages the state keeps in full once it must compact (the oldest go; their count stays)."""


def json_size(value: BaseModel | str) -> int:
    """Bytes of ``value`` as it travels (UTF-8 JSON)."""
    if isinstance(value, str):
        return len(value.encode()) + 2
    return len(value.__pydantic_serializer__.to_json(value))


def kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB"


def too_big(current: int, adding: int) -> Problem | None:
    """The refusal when ``adding`` bytes would take the state past its input budget;
    None when it fits."""
    if current + adding <= INPUT_LIMIT:
        return None
    return problem(
        "limits.record_full",
        adding_kib=round(adding / 1024),
        total_kib=round((current + adding) / 1024),
        limit_kib=round(INPUT_LIMIT / 1024),
    )
