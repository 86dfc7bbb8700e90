"""The register of incidents: a row per incident, and the order a person reads them in,
most urgent first.

8 kap. 9 § lagen (2022:482) om elektronisk kommunikation (LEK) obliges the operator to
keep a running record of its privacy incidents, reported or not
(https://pts.se/sv/bransch/internet/sakerhet-och-skydd-av-uppgifter/Regler-om-skydd-av-uppgifter-vid-tillhandahallande-av-tjanster/forteckning-over-integritetsincidenter/):
the facts of each, its effects and the measures taken (as Directive 2002/58/EC art. 4(4),
which Regulation 611/2013 builds on, words it). A row therefore carries, beside its
state and deadline, the facts the filings are made of (when, how many, what kind,
how it arose, the root cause), the effects (for the subscribers, and the potential
consequences), the measures (taken and planned, dated), whether and when it was
reported, and whether the people were told or why not. It carries no personal data of
the affected people (the campaign's store holds those until the retention deletes
them); counts only. Values are stable codes; a surface adds the labels in its reader's
language (``register_export``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import IncidentState, Measure


class RegisterRow(BaseModel):
    """One incident as the register lists it (rows projected before the facts were part
    of it read with the facts unknown, until their incident changes or is rebuilt)."""

    reference: str
    title: str | None = None
    state: str
    regime: str | None = None
    next_deadline: datetime | None = None
    closed_reason: str | None = None
    never_filed: list[str] = []
    """Once closed: the reports that were due and never went."""
    opened_at: datetime | None = None
    occurred_at: datetime | None = None
    aware_at: datetime | None = None
    closed_at: datetime | None = None
    affected_count: int | None = None
    affected_scale: str | None = None
    breach_types: list[str] = []
    """Codes (``disclosure``…)."""
    data_kinds: list[str] = []
    services: list[str] = []
    systems: list[str] = []
    circumstances: str | None = None
    root_cause: str | None = None
    """A code (``technical_fault``…)."""
    root_cause_detail: str | None = None
    subscriber_effect: str | None = None
    potential_consequences: str | None = None
    measures_taken: list[Measure] = []
    measures_planned: list[Measure] = []
    reported: bool = False
    """At least one filing went to a regulator."""
    filings: int = 0
    first_filed_at: datetime | None = None
    late_filings: int = 0
    notified: bool | None = None
    """Whether the affected people are told (None: not decided)."""
    notified_count: int | None = None
    not_notified_because: str | None = None


def _facts(state: IncidentState) -> dict[str, object]:
    """What the register keeps of an incident beside its state: its facts, effects,
    measures, filings and notice (counts and decisions; no person's data)."""
    f = state.facts
    notice = f.subscriber_notice
    sent = state.filings  # sent ones (one prepared for a portal waits in its track)
    return {
        "opened_at": state.opened_at,
        "occurred_at": f.occurred.at if f.occurred else None,
        "aware_at": state.discovery.at if state.discovery else None,
        "closed_at": state.closure.at if state.closure else None,
        "affected_count": f.affected_count,
        "affected_scale": f.affected_scale,
        "breach_types": [b.value for b in f.breach_types or ()],
        "data_kinds": list(f.data_kinds or ()),
        "services": list(f.services or ()),
        "systems": list(f.systems or ()),
        "circumstances": f.circumstances,
        "root_cause": f.root_cause.value if f.root_cause else None,
        "root_cause_detail": f.root_cause_detail,
        "subscriber_effect": f.subscriber_effect,
        "potential_consequences": f.potential_consequences,
        "measures_taken": list(f.measures_taken or ()),
        "measures_planned": list(f.measures_planned or ()),
        "reported": bool(sent),
        "filings": len(sent),
        "first_filed_at": min((x.sent_at for x in sent), default=None),
        "late_filings": sum(1 for x in sent if x.late),
        "notified": notice.notified if notice else None,
        "notified_count": notice.notified_count if notice else None,
        "not_notified_because": notice.justification if notice and not notice.notified else None,
    }


def closed_row(state: IncidentState) -> RegisterRow:
    """A closed incident as the register keeps it."""
    return RegisterRow(
        reference=state.reference,
        title=state.title,
        state="closed",
        regime=state.regime.value,
        closed_reason=state.closure.reason if state.closure else None,
        never_filed=lifecycle.reports_due(state),
        **_facts(state),
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
        **_facts(state),
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
