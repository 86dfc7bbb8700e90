"""The register: every incident, open ones from Temporal's visibility (their search
attributes and the title kept in their memo), closed ones from the store, which has
the final word on them."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.service import RPCError

from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.register import RegisterRow, closed_row, most_urgent_first
from breachclock.runtime.search_attributes import NEXT_DEADLINE, REGIME, STATE
from breachclock.runtime.temporal import WORKFLOW_ID_PREFIX
from breachclock.service.engine import Engine, Unreachable, unreachable

TITLE = "title"
"""The memo field an incident's workflow starts with: its title, shown in the register."""


class Register(BaseModel):
    rows: list[RegisterRow]
    unreachable: str | None = None
    """Why the open incidents are missing (Temporal did not answer); the closed ones,
    from the store, are all there."""

    def complete(self) -> list[RegisterRow]:
        """Every row, or ``Unreachable`` where the open incidents are missing (for an
        answer that must not look whole when it is not: the API's, the console's)."""
        if self.unreachable:
            raise Unreachable(f"{self.unreachable}; the open incidents cannot be listed")
        return self.rows


async def register(engine: Engine) -> Register:
    rows: dict[str, RegisterRow] = {}
    async with engine.records() as store:
        for raw in await store.all_registered():
            row = closed_row(IncidentState.model_validate_json(raw))
            rows[row.reference] = row
    try:
        await _open_incidents(engine, rows)
    except Unreachable as err:
        return Register(rows=most_urgent_first(rows.values()), unreachable=str(err))
    except RPCError as err:
        if not unreachable(err):
            raise
        return Register(rows=most_urgent_first(rows.values()), unreachable=err.message)
    return Register(rows=most_urgent_first(rows.values()))


async def _open_incidents(engine: Engine, rows: dict[str, RegisterRow]) -> None:
    client = await engine.client()
    async for wf in client.list_workflows("WorkflowType = 'Incident'"):
        reference = wf.id.removeprefix(WORKFLOW_ID_PREFIX)
        if not wf.id.startswith(WORKFLOW_ID_PREFIX) or reference in rows:
            continue  # for a closed incident the register has the final word
        attrs = wf.typed_search_attributes
        memo = await wf.memo()
        rows[reference] = RegisterRow(
            reference=reference,
            title=memo.get(TITLE) if isinstance(memo.get(TITLE), str) else None,
            state=attrs.get(STATE) or "opened",
            regime=attrs.get(REGIME),
            next_deadline=attrs.get(NEXT_DEADLINE),
        )
