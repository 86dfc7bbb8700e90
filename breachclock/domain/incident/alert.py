"""What monitoring said about an incident it opened: the alert behind it.

The on-call wants the way back to the graph (``generatorURL``) and the alert's identity
(labels, fingerprint, when it started firing); Alertmanager's later word that the alert
resolved is noted beside it, and never closes the incident: that is a person's decision.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from breachclock.domain.inputs import REFERENCE_PATTERN, InputModel
from breachclock.domain.instants import Instant

LABELS = 64
"""Labels kept of one alert (Alertmanager has no limit; an incident's state has one)."""
LABEL_TEXT = 1_000

Label = Annotated[str, Field(max_length=LABEL_TEXT)]


class AlertSource(InputModel):
    """The alert that opened an incident, as Alertmanager's webhook gave it."""

    fingerprint: Annotated[str, Field(max_length=200)] | None = None
    labels: Annotated[dict[Label, Label], Field(max_length=LABELS)] = Field(default_factory=dict)
    starts_at: Instant | None = None
    generator_url: Annotated[str, Field(max_length=LABEL_TEXT)] | None = None
    follows: Annotated[str, Field(pattern=REFERENCE_PATTERN)] | None = None
    """The closed incident the same alert group opened before, when it fires again."""


class AlertResolved(InputModel):
    """Alertmanager's word that an alert stopped firing (``endsAt``)."""

    fingerprint: Annotated[str, Field(max_length=200)] | None = None
    at: Instant
