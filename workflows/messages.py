"""The incident workflow's messages: what it starts from, and what its updates answer.

Small on purpose: an update answers with a line and a few fields, never the whole
state (``status`` is the query for that).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from breachclock.domain.catalogue import Voice
    from breachclock.domain.incident.model import (
        Filing,
        IncidentState,
        OpenIncident,
        Policy,
    )
    from breachclock.domain.incident.notice_checks import ITEM_NAMES
    from breachclock.domain.notify.subscribers import Language, Rejected, Subscriber
    from breachclock.domain.problems import Said, said
    from breachclock.domain.regimes import RegimeCode


class IncidentStart(BaseModel):
    opening: OpenIncident
    policy: Policy | None = None
    """None: the engine's own, read by the worker when the workflow starts."""
    carried: IncidentState | None = None
    """The state carried over by continue-as-new."""
    projected: int = 0
    """The read model's version of the incident last projected, carried over likewise."""


class ApproveResult(BaseModel):
    filed: Filing | None
    message: str
    """In English; ``said`` is the same for any reader's language."""
    said: Said | None = None


class Due(BaseModel):
    regime: RegimeCode
    name: str
    due_at: datetime | None


class Discovered(BaseModel):
    at: datetime
    deadlines: list[Due]


class Answer(BaseModel):
    """What an update that changes the record answers: a line for the person, in English
    (``message``) and as ``said``, for every surface to word in its reader's language."""

    message: str
    said: Said | None = None


def answer(code: str, **params: Any) -> Answer:
    said_ = said(code, **params)
    return Answer(message=said_.words(Voice("en")), said=said_)


class SubscriberLoad(BaseModel):
    """One page of the affected list, staged in the store by the client under ``page_key``,
    and (with the first page) the rows skipped as invalid. No person's details travel
    here: they reach the worker through the store, sealed."""

    model_config = ConfigDict(hide_input_in_errors=True)

    source: str = Field(max_length=300)
    """The file's name, so loading it again replaces its skipped rows instead of adding them."""
    page_key: str | None = Field(default=None, pattern=r"^[0-9a-f]{16,64}$")
    count: int = Field(default=0, ge=0, le=1000)
    languages: list[Language | None] = Field(default_factory=list, max_length=4)
    """The languages this page's people read (None: the regime's default)."""
    items: list[str] = Field(default_factory=list, max_length=ITEM_NAMES)
    """The affected items this page's people name (CRM names): the notice labels each."""
    skipped: list[Rejected] = Field(default_factory=list, max_length=1000)
    skipped_total: int = 0
    people: list[Subscriber] = Field(default_factory=list, max_length=1000)
    """Pages recorded before staging carried the people here; new clients leave it empty."""


class LoadResult(BaseModel):
    added: int
    repeated: int
    people: int
    """On the list now."""
    changed: list[str] = []
    """Ids already on the list whose rows in this page hold different details."""


MAX_LOAD_PAGE = 1000
