"""The register: every incident, as the read model keeps it (each workflow projects its
changes there), and the closed ones from the store's register, which has the final word
on them (it outlives Temporal's retention and the read model's rebuilds)."""

from __future__ import annotations

from pydantic import BaseModel

from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.register import (
    Entry,
    RegisterRow,
    Which,
    closed_row,
    kept,
    most_urgent_first,
)
from breachclock.service.engine import Engine

TITLE = "title"
"""The memo field an incident's workflow starts with: its title (for Temporal's UI)."""


class Register(BaseModel):
    rows: list[RegisterRow]

    def complete(self) -> list[RegisterRow]:
        """Every row (the stores answer in full or raise; nothing here waits on Temporal)."""
        return self.rows


async def register(engine: Engine) -> Register:
    """One query of the register and one of the read model; no call to Temporal."""
    rows: dict[str, RegisterRow] = {}
    async with engine.records() as store:
        for raw in await store.all_registered():
            row = closed_row(IncidentState.model_validate_json(raw))
            rows[row.reference] = row
    async with engine.read_model() as view:
        for row in await view.rows():
            rows.setdefault(row.reference, row)
    return Register(rows=most_urgent_first(rows.values()))


class Shown(BaseModel):
    """One page of a view of the register, and how many rows the whole view has."""

    rows: list[RegisterRow]
    total: int


async def register_view(
    engine: Engine, which: Which, regime: str | None, offset: int, limit: int
) -> Shown:
    """Rows ``offset`` to ``offset + limit`` of the view ``which``, most urgent first, as
    ``register`` has them, at the cost of the page rather than of the register: every
    incident's ``Entry`` orders and filters, and only the rows shown are unsealed. A
    closed incident the read model does not show closed (its last projection not yet
    kept, or a read model restored from before) is read from the register."""
    async with engine.records() as store, engine.read_model() as view:
        entries = {e.reference: e for e in await view.entries()}
        rows: dict[str, RegisterRow] = {}
        for reference in await store.registered_references():
            if reference in entries and entries[reference].state == "closed":
                continue
            raw = await store.registered(reference)
            if raw is not None:
                rows[reference] = closed_row(IncidentState.model_validate_json(raw))
                entries[reference] = Entry.of(rows[reference])
        chosen = most_urgent_first(e for e in entries.values() if kept(e, which, regime))
        page = [e.reference for e in chosen[offset : offset + limit]]
        rows |= await view.rows_of([r for r in page if r not in rows])
    return Shown(rows=[rows[r] for r in page if r in rows], total=len(chosen))


async def register_mark(engine: Engine) -> tuple[int, int]:
    """Changes whenever the register may have: the read model's change feed number and
    the number of closed incidents in the store's register (a cheap look for live pages)."""
    async with engine.records() as store, engine.read_model() as view:
        return await view.last_seq(), len(await store.registered_references())
