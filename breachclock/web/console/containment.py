"""The containment section: takedown requests to the directories that published the
data (sent once, under their business key), their acknowledgement, and the removal
as verified by a person."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.containment import TakedownStatus
from breachclock.domain.incident.model import IncidentState
from breachclock.service import containment
from breachclock.service.engine import Refused
from breachclock.web.console.pages import Manager, engine_of, outcome, spoken, text_or_none

router = APIRouter(include_in_schema=False)

REPORTABLE = (TakedownStatus.ACKNOWLEDGED, TakedownStatus.CONFIRMED, TakedownStatus.FAILED)


async def context(request: Request, state: IncidentState, t: Voice) -> dict[str, Any]:
    try:
        known = containment.directory(engine_of(request)).get(
            containment.COUNTRY.get(state.regime, "se"), {}
        )
    except Refused:
        known = {}
    return {
        "takedowns": state.takedowns,
        "recipients": [(r.id, r.name) for r in known.values()],
        "statuses": [(s.value, t(f"takedown.status.{s.value}")) for s in REPORTABLE],
    }


@router.post("/incidents/{reference}/takedowns")
async def takedown_form(
    request: Request,
    reference: str,
    who: Manager,
    recipient: Annotated[str, Form(max_length=100)],
    scope: Annotated[str, Form(max_length=20_000)],
    count: Annotated[int, Form(ge=0)],
) -> HTMLResponse:
    async def act(t: Voice) -> str:
        answer = await containment.request_takedown(
            engine_of(request), reference, recipient, scope, count, who.name
        )
        return spoken(answer, t)

    return await outcome(request, who, act, fields=("recipient", "scope", "count"))


@router.post("/incidents/{reference}/takedowns/{recipient}")
async def takedown_status_form(
    request: Request,
    reference: str,
    recipient: str,
    who: Manager,
    status: Annotated[str, Form(max_length=20)],
    how_verified: Annotated[str | None, Form(max_length=20_000)] = None,
    reason: Annotated[str | None, Form(max_length=20_000)] = None,
) -> HTMLResponse:
    async def act(t: Voice) -> str:
        answer = await containment.report_takedown(
            engine_of(request),
            reference,
            recipient,
            status,
            who.name,
            how_verified=text_or_none(how_verified),
            reason=text_or_none(reason),
        )
        return spoken(answer, t)

    return await outcome(request, who, act)  # the row's form: its refusal at its foot
