"""The register of incidents (LEK 8:9 asks for one): a row per incident, and the order
a person reads them in, most urgent first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import IncidentState


class RegisterRow(BaseModel):
    reference: str
    title: str | None = None
    state: str
    regime: str | None = None
    next_deadline: datetime | None = None
    closed_reason: str | None = None
    never_filed: list[str] = []
    """Once closed: the reports that were due and never went."""


def closed_row(state: IncidentState) -> RegisterRow:
    """A closed incident as the register keeps it."""
    return RegisterRow(
        reference=state.reference,
        title=state.title,
        state="closed",
        regime=state.regime.value,
        closed_reason=state.closure.reason if state.closure else None,
        never_filed=lifecycle.reports_due(state),
    )


def row_of(state: IncidentState) -> RegisterRow:
    """Any incident's row: a closed one as ``closed_row``; an open one with its state and
    nearest deadline (what its search attributes say)."""
    if state.closure is not None:
        return closed_row(state)
    return RegisterRow(
        reference=state.reference,
        title=state.title,
        state=state.state_label,
        regime=state.regime.value,
        next_deadline=lifecycle.next_deadline(state),
    )


RECENT_ENTRIES = 200
"""Timeline entries an incident's page is given: the latest, by when they happened."""


def page_state(state: IncidentState) -> IncidentState:
    """The incident as its page reads it: everything but the timeline, of which only the
    ``RECENT_ENTRIES`` latest (by when they happened; ``len(state.timeline)`` says how many
    there are in all). A page then costs the same at 50 entries as at 5,000."""
    latest = sorted(state.timeline, key=lambda e: (e.at, e.recorded_at))[-RECENT_ENTRIES:]
    return state.model_copy(update={"timeline": latest})


@dataclass(frozen=True)
class Entry:
    """What orders and filters a register row, without what people wrote in it (the
    title, the closing reason): a page reads these for every incident, and the whole
    row only for those it shows."""

    reference: str
    state: str
    regime: str | None
    next_deadline: datetime | None
    never_filed: bool

    @classmethod
    def of(cls, row: RegisterRow) -> Entry:
        return cls(row.reference, row.state, row.regime, row.next_deadline, bool(row.never_filed))


Which = Literal["all", "open", "closed", "never_reported"]
"""The register's views: every incident, the open or closed ones, or those closed with a
report that was due and never went."""


def kept(entry: Entry, which: Which, regime: str | None) -> bool:
    """Whether ``entry`` is in the view ``which`` (of one ``regime``'s incidents, if given)."""
    if regime is not None and entry.regime != regime:
        return False
    if which == "open":
        return entry.state != "closed"
    if which == "closed":
        return entry.state == "closed"
    return entry.never_filed if which == "never_reported" else True


class Dated(Protocol):
    @property
    def reference(self) -> str: ...
    @property
    def next_deadline(self) -> datetime | None: ...


D = TypeVar("D", bound=Dated)


def most_urgent_first(rows: Iterable[D]) -> list[D]:
    """The nearest deadline first; incidents without one (not yet discovered, closed)
    after, by reference."""
    return sorted(
        rows,
        key=lambda r: (r.next_deadline is None, r.next_deadline or datetime.max, r.reference),
    )
