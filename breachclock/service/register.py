"""The register: every incident, open ones from Temporal's visibility (their search
attributes and the title kept in their memo), closed ones from the store, which has
the final word on them."""

from __future__ import annotations

from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.register import RegisterRow, closed_row, most_urgent_first
from breachclock.runtime.search_attributes import NEXT_DEADLINE, REGIME, STATE
from breachclock.runtime.temporal import WORKFLOW_ID_PREFIX
from breachclock.service.engine import Engine

TITLE = "title"
"""The memo field an incident's workflow starts with: its title, shown in the register."""


async def register(engine: Engine) -> list[RegisterRow]:
    rows: dict[str, RegisterRow] = {}
    async with engine.records() as store:
        for raw in await store.all_registered():
            row = closed_row(IncidentState.model_validate_json(raw))
            rows[row.reference] = row
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
    return most_urgent_first(rows.values())
