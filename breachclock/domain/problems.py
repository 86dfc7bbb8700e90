"""Refusals as data: a stable code, its parameters, and the input field it concerns.

A rule in the domain answers ``Problem | None`` (or raises ``invalid(...)`` inside a
pydantic validator); it never words the refusal itself and never names a flag, a route
or a page. Each surface renders a problem in its own terms and the reader's language:
the CLI adds the flag that sets ``field``, the console puts the message beside that
field, the API answers RFC 9457 problem details with a JSON pointer per problem. The
words are the catalogue's ``problem.<code>`` (``breachclock/domain/catalogue.py``).

Parameters are plain JSON values; an instant travels as ISO-8601 text and is written
by the message's format spec (``{due:when}``), an enum as its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from breachclock.domain.catalogue import Voice

Param = str | int | float | bool | None | list[str]


class Said(BaseModel):
    """A sentence as data: its catalogue key and parameters (an update's answer, a
    reason an assessment gives), worded by whoever shows it."""

    model_config = ConfigDict(frozen=True)
    namespace: ClassVar[str] = ""

    code: str
    params: dict[str, Param] = Field(default_factory=dict)

    def words(self, voice: Voice) -> str:
        key = self.namespace + self.code
        count = self.params.get("count")
        if isinstance(count, int) and voice.has_plural(key):
            rest = {k: v for k, v in self.params.items() if k != "count"}
            return voice.plural(key, count, **rest)
        return voice(key, **self.params)


def said(code: str, **params: Any) -> Said:
    return Said(code=code, params={k: plain(v) for k, v in params.items()})


class Problem(Said):
    """Why input was refused, for any surface to word."""

    namespace: ClassVar[str] = "problem."

    field: str | None = None
    """The input field it concerns, dotted (``late_reason``, ``facts.occurred.at``)."""
    because: list[Said] = Field(default_factory=list)
    """The findings behind it (an exemption the assessment does not support: why)."""

    def words(self, voice: Voice) -> str:
        key = self.namespace + self.code
        if not voice.has(key) and self.code.startswith("input."):
            key = "problem.input.invalid"  # a pydantic error type the catalogue lacks
        text = voice(key, **self.params)
        return " ".join([text, *(b.words(voice) for b in self.because)])

    def pointer(self) -> str | None:
        """``field`` as an RFC 6901 JSON pointer (``/facts/occurred/at``)."""
        if self.field is None:
            return None
        parts = (p.replace("~", "~0").replace("/", "~1") for p in self.field.split("."))
        return "/" + "/".join(parts)


def plain(value: Any) -> Param:
    """A parameter as JSON carries it."""
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, list | tuple | set | frozenset):
        return [str(plain(v)) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def problem(
    code: str, field: str | None = None, because: list[Said] | None = None, **params: Any
) -> Problem:
    return Problem(
        code=code,
        field=field,
        params={k: plain(v) for k, v in params.items()},
        because=because or [],
    )


def invalid(code: str, field: str | None = None, **params: Any) -> PydanticCustomError:
    """A problem raised inside a pydantic validator: pydantic adds where it sat, and
    ``field`` names the field within it that a model's own validator means;
    ``problems_of`` reads it back as a ``Problem``. The message is English, for logs and
    for whoever reads pydantic's own error."""
    values = {k: plain(v) for k, v in params.items()}
    english = Voice("en")(f"problem.{code}", **values)
    context = {**values, FIELD: field} if field else values
    return PydanticCustomError(code, english.replace("{", "{{").replace("}", "}}"), context)


FIELD = "__field__"


def invalid_from(found: Problem) -> PydanticCustomError:
    """A problem found outside pydantic, raised inside a validator."""
    return invalid(found.code, found.field, **found.params)


WRAPPERS = {"body", "query", "path", "changes", "input", "function-after", "function-before"}
"""Where pydantic says a value sat that is not the field's own name."""


def problems_of(
    err: ValidationError | Sequence[Mapping[str, Any]], under: str | None = None
) -> list[Problem]:
    """Each of pydantic's errors (a ``ValidationError``, or its ``errors()`` as a web
    framework passes them on) as a problem: ours (``invalid``) by their own code,
    pydantic's by ``input.<type>`` with its context (a limit, the values allowed)."""
    found = []
    errors = err.errors(include_url=False) if isinstance(err, ValidationError) else err
    for e in errors:
        context = {k: plain(v) for k, v in (e.get("ctx") or {}).items() if k != "error"}
        where = [str(p) for p in e["loc"] if str(p) not in WRAPPERS]
        inner = context.pop(FIELD, None)
        field = ".".join(([under] if under else []) + where + ([str(inner)] if inner else []))
        kind = e["type"]
        if "." in kind:  # one of ours
            found.append(Problem(code=kind, field=field or None, params=context))
        else:
            if kind in CHOICES and "expected" in context:
                expected = str(context.pop("expected"))
                context["allowed"] = [v.strip("'") for v in re.split(r",\s*|\s+or\s+", expected)]
            found.append(Problem(code=f"input.{kind}", field=field or None, params=context))
    return found


CHOICES = {"enum", "literal_error"}
"""pydantic's errors for a value outside a fixed set: its ``expected`` is English prose
("'a', 'b' or 'c'"), so the values are passed on as a list for each language to join."""


def first(*candidates: Problem | None) -> Problem | None:
    """The first problem of several rules checked in order."""
    return next((c for c in candidates if c is not None), None)


def every(candidates: Iterable[Problem | None]) -> list[Problem]:
    return [c for c in candidates if c is not None]
