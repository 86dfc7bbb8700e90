"""Problems as tests compare them: the code, the field and the parameters every surface
relies on, rather than the words (which are the catalogue's, tested there)."""

from __future__ import annotations

from typing import Any

from breachclock.domain.problems import Problem


def code(found: Problem | None) -> tuple[str, str | None] | None:
    """A problem as its code and field."""
    return None if found is None else (found.code, found.field)


def said(found: Problem | None) -> tuple[str, str | None, dict[str, Any]] | None:
    """A problem as its code, field and parameters."""
    return None if found is None else (found.code, found.field, dict(found.params))


def codes(found: list[Problem]) -> list[str]:
    return [p.code for p in found]
