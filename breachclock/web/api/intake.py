"""Monitoring's way in: Alertmanager's webhook, for a token of the narrow ``intake``
role (which can do nothing else) or a manager."""

from __future__ import annotations

from fastapi import APIRouter, Request

from breachclock.service import intake
from breachclock.web.api.common import Intake, auth_of, engine_of
from breachclock.web.problems import REFUSALS

router = APIRouter(tags=["intake"], responses=REFUSALS)


@router.post("/intake/alertmanager", response_model=intake.IntakeResult)
async def alertmanager_route(
    request: Request, who: Intake, hook: intake.AlertmanagerWebhook
) -> intake.IntakeResult:
    """An alert labelled ``breachclock="incident"`` opens an incident and pages the on-call."""
    result = await intake.alertmanager(engine_of(request), hook, f"Alertmanager ({who.name})")
    if result.opened:
        await auth_of(request).record(who, request, "open (alertmanager)", result.reference)
    return result
