"""What every model of people's input shares, kept apart so the notification rules can
use it without importing the incident's whole state (which refers to them)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"

Text = Annotated[str, Field(min_length=1, max_length=20_000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class InputModel(BaseModel):
    """Unknown fields are an error (not a silent loss); errors never quote the input, which
    may hold a phone number or a name; input is immutable once accepted."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)
