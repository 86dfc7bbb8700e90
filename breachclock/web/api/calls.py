"""The agents' worklist: take the next call, confirm who answered (then, and only then,
the script), record how it went. Calls are held by the principal's ``holder`` (an
account, or one token: labels may repeat)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from breachclock.domain.catalogue import Voice
from breachclock.domain.notify import identity
from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.notify.identity import IdentityMethod
from breachclock.service import calls
from breachclock.service.engine import Refused
from breachclock.web.api.common import Agent, auth_of, engine_of
from breachclock.web.problems import REFUSALS, language_of

router = APIRouter(tags=["calls"], responses=REFUSALS)


class CallView(BaseModel):
    """What an agent sees of the call they hold: never the incident's facts."""

    key: str
    name: str | None
    phone: str
    greeting: str
    held_until: datetime | None
    identify_by: list[IdentityMethod]
    """How the person may prove who they are; the script is given once one is confirmed."""


class Identified(BaseModel):
    model_config = {"extra": "forbid"}
    identified_by: IdentityMethod
    """How the person proved who they are: one of the call's ``identify_by``."""


class Script(BaseModel):
    key: str
    script: str


class Outcome(BaseModel):
    model_config = {"extra": "forbid"}
    outcome: CallOutcome
    identified_by: IdentityMethod | None = None
    """How the person proved who they are: required for ``reached_verified``."""


@router.post("/calls/next", response_model=CallView | None)
async def next_call_route(request: Request, who: Agent) -> CallView | None:
    """The oldest due call nobody holds, now held by you: name, number, greeting only."""
    held = await calls.next_call(engine_of(request), who.holder)
    if held is None:
        return None
    await auth_of(request).record(who, request, f"call taken {held.item.key}", held.item.reference)
    return call_view(held)


def call_view(held: calls.HeldCall) -> CallView:
    return CallView(
        key=held.item.key,
        name=held.call.name,
        phone=held.call.phone,
        greeting=held.call.greeting,
        held_until=held.item.claimed_until,
        identify_by=list(held.call.methods),
    )


@router.post("/calls/{key}/script", response_model=Script)
async def script_route(request: Request, key: str, who: Agent, proof: Identified) -> Script:
    """The identity step: the person confirmed who they are, by a method the call
    accepts; then the script of the call you hold (as the console gives it)."""
    held = await calls.held(engine_of(request), key, who.holder)
    refused = identity.refusal(CallOutcome.REACHED_VERIFIED, proof.identified_by, held.call.methods)
    if refused:
        raise Refused(refused)
    await auth_of(request).record(
        who,
        request,
        f"identity confirmed ({proof.identified_by.value}), script read {key}",
        held.item.reference,
    )
    voice = Voice(language_of(request))
    words = await calls.script(engine_of(request), held, proof.identified_by, voice)
    return Script(key=key, script=words)


@router.post("/calls/{key}/outcome", status_code=204, response_class=Response)
async def record_route(request: Request, key: str, who: Agent, outcome: Outcome) -> Response:
    await calls.record_call(
        engine_of(request), key, outcome.outcome, who.holder, outcome.identified_by
    )
    await auth_of(request).record(who, request, f"call recorded {key}: {outcome.outcome}", None)
    return Response(status_code=204)
