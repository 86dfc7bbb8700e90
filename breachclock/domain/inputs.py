"""What every model of people's input shares, kept apart so the notification rules can
use it without importing the incident's whole state (which refers to them)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from breachclock.domain.problems import invalid

REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"

Text = Annotated[str, Field(min_length=1, max_length=20_000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _no_truth_value(value: object) -> object:
    """pydantic reads ``true`` as 1 where a number is asked for; the schema says integer,
    and a client sending a truth value meant something else."""
    if isinstance(value, bool):
        raise invalid("input.int_type")
    return value


Whole = Annotated[int, BeforeValidator(_no_truth_value)]
"""A count or number a person gives: an integer (or its digits, from a form), never a
truth value."""


def _no_number(value: object) -> object:
    """pydantic reads a number as days since 1970 where a date is asked for; the schema
    says a date (``2026-12-01``), and a number was meant as something else."""
    if isinstance(value, int | float):
        raise invalid("input.date_type")
    return value


Day = Annotated[date, BeforeValidator(_no_number)]
"""A calendar date a person gives, as ISO text (or a date)."""

Truth = Annotated[bool, Strict()]
"""Yes or no as a person's input says it: ``true`` or ``false``, not ``0`` or ``"no"``
(pydantic would read them; the schema promises a boolean, and the console's forms
turn their boxes into one before they get here)."""


class InputModel(BaseModel):
    """Unknown fields are an error (not a silent loss); errors never quote the input, which
    may hold a phone number or a name; input is immutable once accepted."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)
