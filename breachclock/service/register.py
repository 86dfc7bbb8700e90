"""The register: every incident, as the read model keeps it (each workflow projects its
changes there), and the closed ones from the store's register, which has the final word
on them (it outlives Temporal's retention and the read model's rebuilds)."""

from __future__ import annotations

from pydantic import BaseModel

from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.register import RegisterRow, closed_row, most_urgent_first
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
