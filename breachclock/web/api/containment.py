"""Containment: asking a directory, search engine or host to take published data down,
and recording what they did."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from breachclock.domain.incident.containment import TakedownTask
from breachclock.service import containment
from breachclock.web.api.common import (
    IdempotencyKey,
    Lister,
    Manager,
    Message,
    Reader,
    engine_of,
    keyed,
)
from breachclock.web.problems import REFUSALS

router = APIRouter(tags=["containment"], responses=REFUSALS)


class TakedownAsk(BaseModel):
    model_config = {"extra": "forbid"}
    recipient: Annotated[str, Field(max_length=100)]
    """An id in the directory of the incident's country (``GET /api/takedown-recipients``)."""
    scope: Annotated[str, Field(max_length=2000)]
    count: Annotated[int, Field(ge=0)]


@router.post("/incidents/{reference}/takedowns", response_model=Message)
async def takedown_route(
    request: Request,
    reference: str,
    who: Manager,
    ask: TakedownAsk,
    key: IdempotencyKey = None,
) -> Message:
    async with keyed(request, key) as engine:
        answer = await containment.request_takedown(
            engine, reference, ask.recipient, ask.scope, ask.count, who.name
        )
        return Message.of(answer, request)


class TakedownUpdate(BaseModel):
    model_config = {"extra": "forbid"}
    status: Literal["acknowledged", "confirmed", "failed"]
    """``confirmed`` with ``how_verified``, ``failed`` with ``reason``."""
    at: Annotated[str, Field(max_length=100)] | None = None
    how_verified: Annotated[str, Field(max_length=2000)] | None = None
    reason: Annotated[str, Field(max_length=2000)] | None = None


@router.post("/incidents/{reference}/takedowns/{recipient}", response_model=Message)
async def takedown_status_route(
    request: Request,
    reference: str,
    recipient: str,
    who: Manager,
    update: TakedownUpdate,
    key: IdempotencyKey = None,
) -> Message:
    async with keyed(request, key) as engine:
        answer = await containment.report_takedown(
            engine,
            reference,
            recipient,
            update.status,
            who.name,
            update.at,
            update.how_verified,
            update.reason,
        )
        return Message.of(answer, request)


@router.get("/incidents/{reference}/takedowns", response_model=list[TakedownTask])
async def takedowns_route(request: Request, reference: str, who: Reader) -> list[TakedownTask]:
    return await containment.takedowns(engine_of(request), reference)


@router.get("/takedown-recipients", response_model=dict[str, dict[str, Any]])
async def recipients_route(request: Request, who: Lister) -> dict[str, Any]:
    """The takedown directory, by country."""
    return {
        country: {rid: r.model_dump(mode="json") for rid, r in found.items()}
        for country, found in containment.directory(engine_of(request)).items()
    }
