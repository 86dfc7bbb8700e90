"""The agents' worklist: take the next call, read the greeting, confirm the person's
identity by a method the call accepts, only then read the script, and record the
outcome."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from breachclock.domain.catalogue import Voice
from breachclock.domain.notify import identity
from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.notify.identity import IdentityMethod
from breachclock.service import calls
from breachclock.service.engine import Refused
from breachclock.web.auth import Principal
from breachclock.web.console.pages import Agent, auth_of, engine_of, render, voice_of

router = APIRouter(include_in_schema=False)


def outcomes(t: Voice) -> list[tuple[str, str]]:
    return [(o.value, t(f"filing.call.{o.value}")) for o in CallOutcome]


def methods(t: Voice, held: calls.HeldCall) -> list[tuple[str, str]]:
    return [(m.value, t(f"filing.identity.{m.value}")) for m in held.call.methods]


def call_fragment(request: Request, who: Principal, **context: Any) -> HTMLResponse:
    t = voice_of(request)
    held = context.get("held")
    extra: dict[str, Any] = {"methods": methods(t, held)} if held is not None else {}
    return render(request, "call.html", who, outcomes=outcomes(t), **extra, **context)


def worded(request: Request, err: Refused) -> list[str]:
    t = voice_of(request)
    return [p.words(t) for p in err.problems]


@router.get("/calls")
async def calls_page(request: Request, who: Agent) -> HTMLResponse:
    return render(request, "calls.html", who, title="ui.worklist", nav="calls")


@router.post("/calls/next")
async def next_call_form(request: Request, who: Agent) -> HTMLResponse:
    held = await calls.next_call(engine_of(request), who.name)
    if held is None:
        return call_fragment(request, who, message="ui.no_calls")
    await auth_of(request).record(who, request, "call.taken", held.item.reference)
    return call_fragment(request, who, held=held)


@router.post("/calls/{key}/identity")
async def identity_form(
    request: Request, key: str, who: Agent, identified_by: Annotated[str, Form(max_length=40)]
) -> HTMLResponse:
    """The person proved who they are, by a method the call accepts: the script of the
    call, for the agent holding it (and the method goes with the outcome)."""
    try:
        held = await calls.held(engine_of(request), key, who.name)
    except Refused as err:
        return call_fragment(request, who, refused=worded(request, err))
    method = next((m for m in IdentityMethod if m.value == identified_by), None)
    problem = identity.refusal(CallOutcome.REACHED_VERIFIED, method, held.call.methods)
    if problem:
        return call_fragment(request, who, held=held, refused=[problem.words(voice_of(request))])
    await auth_of(request).record(who, request, "call.identified", held.item.reference)
    return call_fragment(
        request,
        who,
        held=held,
        script=await calls.script(engine_of(request), held, method, voice_of(request)),
        identified_by=identified_by,
    )


@router.post("/calls/{key}/outcome")
async def outcome_form(
    request: Request,
    key: str,
    who: Agent,
    outcome: Annotated[str, Form(max_length=40)],
    identified_by: Annotated[str | None, Form(max_length=40)] = None,
) -> HTMLResponse:
    chosen = next((o for o in CallOutcome if o.value == outcome), None)
    method = next((m for m in IdentityMethod if m.value == identified_by), None)
    try:
        if chosen is None:
            raise Refused.of("call.outcome_unknown", "outcome", outcome=outcome)
        await calls.record_call(engine_of(request), key, chosen, who.name, method)
    except Refused as err:
        return call_fragment(request, who, refused=worded(request, err))
    await auth_of(request).record(who, request, "call.recorded", None)
    return call_fragment(request, who, message="ui.recorded")
