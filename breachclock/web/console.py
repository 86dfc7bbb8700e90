"""The console: server-rendered pages (Jinja2, autoescaped) with htmx for the forms
and the live parts, which poll every few seconds. Every form posts to a route here
that calls the same service function as the API and the CLI; a refusal is the
validator's line, shown beside the form (or the field) it came from."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from breachclock.domain.incident import notification_views, views
from breachclock.domain.incident.model import (
    REQUIRED_FACTS,
    Close,
    Discover,
    Facts,
    FactsPatch,
    IncidentState,
    Justify,
    OpenIncident,
    TimelineInput,
)
from breachclock.domain.incident.report import FACT_LABELS, render_text
from breachclock.domain.instants import show, zone
from breachclock.domain.notify import identity
from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.notify.identity import IdentityMethod
from breachclock.domain.regimes import RegimeCode
from breachclock.service import calls, incidents, notification
from breachclock.service.engine import Refused
from breachclock.service.register import register
from breachclock.web.api import allowed, auth_of, call_view, engine_of, filtered
from breachclock.web.auth import SESSION_COOKIE, Action, Principal, Role, check_csrf
from breachclock.web.text import words

TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # every value a person typed is escaped
    )
)
PAGE = 50
"""Register rows per page."""
TIMELINE_SHOWN = 200
"""Timeline entries on the incident page (newest); the whole one is in the API."""

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(allowed(Action.READ))]
ReaderLogged = Annotated[Principal, Depends(allowed(Action.READ, "read (console)"))]
Responder = Annotated[Principal, Depends(allowed(Action.RESPOND, "change (console)"))]
Manager = Annotated[Principal, Depends(allowed(Action.MANAGE, "change (console)"))]
Agent = Annotated[Principal, Depends(allowed(Action.CALL))]


class Viewer:
    """What a template needs of the signed-in person."""

    def __init__(self, who: Principal) -> None:
        self.name = who.name
        self.role = who.role
        self.may_manage = who.may(Action.MANAGE)
        self.may_respond = who.may(Action.RESPOND)


def render(
    request: Request, name: str, who: Principal | None, code: int = 200, **context: Any
) -> HTMLResponse:
    settings = engine_of(request).settings
    tz = zone(settings.operator_zone)
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "t": words(settings.web_language),
            "lang": settings.web_language,
            "who": Viewer(who) if who else None,
            "csrf": who.csrf if who else "",
            "local": lambda at: show(at, tz),
            "zone": settings.operator_zone,
            "title": context.pop("title", "breachclock"),
            **context,
        },
        status_code=code,
    )


# ----------------------------------------------------------------- sign in


@router.get("/favicon.ico")
async def favicon() -> Response:
    return Response(status_code=204)  # no icon, and no 404 in every browser's console


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None, title="Sign in")


@router.post("/login")
async def login(
    request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()]
) -> Response:
    auth = auth_of(request)
    session = await auth.sign_in(name, password)
    if session is None:
        return render(request, "login.html", None, code=401, failed=True)
    account = await auth.store.account(name)
    home = "/calls" if account is not None and account.role == Role.AGENT else "/"
    response = RedirectResponse(home, status_code=303)
    set_session(request, response, session[0])
    return response


def set_session(request: Request, response: Response, secret: str) -> None:
    settings = engine_of(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=not settings.web_insecure_cookies,
        samesite="strict",
        path="/",
    )


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
    auth = auth_of(request)
    who = await auth.principal(request)
    if who is not None:
        check_csrf(who, csrf)
        await auth.store.end_session(request.cookies.get(SESSION_COOKIE, ""), datetime.now(UTC))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- register


def lead_seconds(request: Request) -> int:
    leads = engine_of(request).settings.policy().escalation_leads
    return int(max(leads).total_seconds()) if leads else 0


async def register_context(
    request: Request, which: str, regime: str | None, offset: int
) -> dict[str, Any]:
    which = which if which in ("all", "open", "closed", "never_reported") else "open"
    rows = filtered((await register(engine_of(request))).complete(), which, regime)  # type: ignore[arg-type]

    def page_query(at: int) -> str:
        return urlencode(
            {"filter": which, "offset": max(at, 0), **({"regime": regime} if regime else {})}
        )

    return {
        "rows": rows[offset : offset + PAGE],
        "total": len(rows),
        "offset": offset,
        "limit": PAGE,
        "which": which,
        "regime": regime,
        "query": page_query(offset),
        "page_query": page_query,
        "lead": lead_seconds(request),
    }


@router.get("/")
async def register_page(
    request: Request, who: Reader, filter: str = "open", regime: str | None = None, offset: int = 0
) -> HTMLResponse:
    context = await register_context(request, filter, regime, max(offset, 0))
    return render(request, "register.html", who, title="Register", **context)


@router.get("/register/rows")
async def register_rows(
    request: Request, who: Reader, filter: str = "open", regime: str | None = None, offset: int = 0
) -> HTMLResponse:
    context = await register_context(request, filter, regime, max(offset, 0))
    return render(request, "register_rows.html", who, **context)


@router.post("/incidents")
async def open_form(
    request: Request,
    who: Manager,
    reference: Annotated[str, Form()],
    title: Annotated[str, Form()],
    regime: Annotated[str, Form()] = "pts",
) -> HTMLResponse:
    engine = engine_of(request)
    try:
        opening = engine.parse(
            OpenIncident,
            reference=reference.strip(),
            title=title,
            regime=regime,
            opened_by=who.name,
        )
        await incidents.open_incident(engine, opening)
    except Refused as err:
        return render(request, "message.html", who, refused=str(err))
    await auth_of(request).record(who, request, "open", opening.reference)
    response = render(request, "message.html", who, message=f"{opening.reference} ✔")
    response.headers["HX-Redirect"] = f"/incidents/{opening.reference}"
    return response


# ---------------------------------------------------------------- incident


def fact_fields(state: IncidentState) -> list[tuple[str, str, str]]:
    known = state.facts.model_dump(mode="json")
    shown = [n for n in REQUIRED_FACTS if n in Facts.model_fields]
    shown += [
        n for n in ("affected_scale", "root_cause_detail", "security_aspects") if n not in shown
    ]
    return [(name, FACT_LABELS.get(name, name), _text(known.get(name))) for name in shown]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def fact_value(name: str, text: str) -> Any:
    """What a person typed in one field, as the facts model reads it: JSON where it
    parses as such (numbers, lists, objects), a comma list for list fields, else text."""
    text = text.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
        if not isinstance(value, str):
            return value
    except json.JSONDecodeError:
        pass
    annotation = str(Facts.model_fields[name].annotation) if name in Facts.model_fields else ""
    if "list" in annotation:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


async def live_context(request: Request, reference: str) -> dict[str, Any]:
    found = await incidents.standing(engine_of(request), reference)
    state = found.state
    now = datetime.now(UTC)
    tz = zone(state.policy.operator_zone)
    deadlines = []
    for d in views.deadlines(state, now):
        due = datetime.fromisoformat(d["due_at"]) if d["due_at"] else None
        live = due is not None and not d["done_at"] and state.closure is None
        deadlines.append({**d, "due": due, "live": live, "due_text": show(due, tz)})
    campaign = notification_views.notification(state, found.live)
    counts = {k: v for k, v in {**campaign["by_status"], **campaign["calls"]}.items() if v}
    timeline = views.timeline(state)
    leads = state.policy.escalation_leads
    return {
        "state": state,
        "status": views.status(state, now),
        "deadlines": deadlines,
        "labels": FACT_LABELS,
        "campaign": {**campaign, "counts": counts},
        "timeline": timeline[-TIMELINE_SHOWN:][::-1],
        "timeline_total": found.timeline_total,
        "timeline_more": found.timeline_total > TIMELINE_SHOWN,
        "audit": await auth_of(request).store.audit_of(reference, 50),
        "lead": int(max(leads).total_seconds()) if leads else 0,
    }


@router.get("/incidents/{reference}")
async def incident_page(request: Request, reference: str, who: ReaderLogged) -> HTMLResponse:
    context = await live_context(request, reference)
    return render(
        request,
        "incident.html",
        who,
        title=reference,
        fact_fields=fact_fields(context["state"]),
        **context,
    )


@router.get("/incidents/{reference}/live")
async def incident_live(request: Request, reference: str, who: Reader) -> HTMLResponse:
    return render(request, "incident_live.html", who, **await live_context(request, reference))


async def outcome(
    request: Request, who: Principal, act: Callable[[], Awaitable[str]]
) -> HTMLResponse:
    """Run a form's action: its answer, or the refusal's one line, as a fragment."""
    try:
        message = await act()
    except Refused as err:
        return render(request, "message.html", who, refused=str(err))
    return render(request, "message.html", who, message=message)


def _form_value(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@router.post("/incidents/{reference}/discover")
async def discover_form(
    request: Request,
    reference: str,
    who: Responder,
    at: Annotated[str, Form()],
    how: Annotated[str, Form()],
    by: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    async def act() -> str:
        engine = engine_of(request)
        found = await incidents.discover(
            engine,
            reference,
            engine.parse(Discover, at=at, by=_form_value(by) or who.name, how=how),
        )
        tz = zone(engine.settings.operator_zone)
        return "✔ " + "; ".join(
            f"{d.regime.value.upper()} {d.name}: {show(d.due_at, tz)}" for d in found.deadlines
        )

    return await outcome(request, who, act)


@router.post("/incidents/{reference}/event")
async def event_form(
    request: Request,
    reference: str,
    who: Responder,
    at: Annotated[str, Form()],
    what: Annotated[str, Form()],
    how_established: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    async def act() -> str:
        engine = engine_of(request)
        event = engine.parse(
            TimelineInput,
            at=at,
            what=what,
            by=who.name,
            how_established=_form_value(how_established),
        )
        return (await incidents.add_event(engine, reference, event)).message

    return await outcome(request, who, act)


@router.post("/incidents/{reference}/acknowledge")
async def acknowledge_form(request: Request, reference: str, who: Responder) -> HTMLResponse:
    """Own the page of the nearest deadline: its later pages reach no further."""

    async def act() -> str:
        return (await incidents.acknowledge(engine_of(request), reference, who.name)).message

    return await outcome(request, who, act)


@router.post("/incidents/{reference}/snooze")
async def snooze_form(
    request: Request, reference: str, who: Responder, minutes: Annotated[int, Form()]
) -> HTMLResponse:
    async def act() -> str:
        return (await incidents.snooze(engine_of(request), reference, who.name, minutes)).message

    return await outcome(request, who, act)


@router.get("/ack/{token}")
async def ack_page(request: Request, token: str, who: Responder) -> HTMLResponse:
    """A page e-mail's link: which incident and deadline, and a button to own it (a link
    followed by a mail scanner acknowledges nothing: the POST does)."""
    try:
        reference, deadline = incidents.verify_ack_link(engine_of(request), token)
    except Refused as err:
        return render(request, "ack.html", who, code=410, title="Acknowledge", refused=str(err))
    return render(
        request,
        "ack.html",
        who,
        title="Acknowledge",
        reference=reference,
        deadline=deadline,
        token=token,
    )


@router.post("/ack/{token}")
async def ack_link_form(request: Request, token: str, who: Responder) -> HTMLResponse:
    async def act() -> str:
        engine = engine_of(request)
        reference, _ = incidents.verify_ack_link(engine, token)
        answer = await incidents.acknowledge(engine, reference, who.name, token=token)
        await auth_of(request).record(who, request, "acknowledge (link)", reference)
        return answer.message

    return await outcome(request, who, act)


@router.post("/incidents/{reference}/facts")
async def facts_form(
    request: Request,
    reference: str,
    who: Manager,
    field: Annotated[str, Form()],
    value: Annotated[str, Form()] = "",
) -> HTMLResponse:
    async def act() -> str:
        engine = engine_of(request)
        patch = engine.parse(FactsPatch, changes={field: fact_value(field, value)})
        missing = await incidents.record_facts(engine, reference, patch)
        return f"✔ ({len(missing)} missing)"

    return await outcome(request, who, act)


@router.get("/incidents/{reference}/draft")
async def draft_fragment(request: Request, reference: str, who: Manager) -> HTMLResponse:
    try:
        draft = await incidents.draft(engine_of(request), reference)
    except Refused as err:
        return render(request, "draft.html", who, refused=str(err))
    return render(
        request,
        "draft.html",
        who,
        text=render_text(draft),
        stage=draft.stage,
        track=draft.regime.value,
        reference=reference,
    )


@router.post("/incidents/{reference}/approve")
async def approve_form(
    request: Request,
    reference: str,
    who: Manager,
    filing: Annotated[str, Form()],
    track: Annotated[str | None, Form()] = None,
    late_reason: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    async def act() -> str:
        code = RegimeCode(track) if track else None
        result = await incidents.approve(
            engine_of(request), reference, who.name, filing, _form_value(late_reason), code
        )
        return result.message

    return await outcome(request, who, act)


@router.post("/incidents/{reference}/justify")
async def justify_form(
    request: Request, reference: str, who: Manager, text: Annotated[str, Form()]
) -> HTMLResponse:
    async def act() -> str:
        engine = engine_of(request)
        justification = engine.parse(Justify, by=who.name, text=text)
        return (await incidents.justify(engine, reference, justification)).message

    return await outcome(request, who, act)


@router.post("/incidents/{reference}/decide")
async def decide_form(
    request: Request,
    reference: str,
    who: Manager,
    notify: Annotated[str, Form()],
    exemption: Annotated[str | None, Form()] = None,
    justification: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    async def act() -> str:
        answer = await notification.decide(
            engine_of(request),
            reference,
            notify=notify == "true",
            exemption=_form_value(exemption),
            justification=_form_value(justification),
            decided_by=who.name,
        )
        return answer.message

    return await outcome(request, who, act)


@router.post("/incidents/{reference}/close")
async def close_form(
    request: Request,
    reference: str,
    who: Manager,
    reason: Annotated[str | None, Form()] = None,
    abandon_reports: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    async def act() -> str:
        engine = engine_of(request)
        request_ = engine.parse(
            Close, by=who.name, reason=_form_value(reason), abandon_reports=abandon_reports
        )
        return (await incidents.close(engine, reference, request_)).message

    return await outcome(request, who, act)


# ------------------------------------------------------------------- calls

OUTCOMES = [o.value for o in CallOutcome]


@router.get("/calls")
async def calls_page(request: Request, who: Agent) -> HTMLResponse:
    return render(request, "calls.html", who, title="Calls")


def call_fragment(request: Request, who: Principal, **context: Any) -> HTMLResponse:
    return render(request, "call.html", who, outcomes=OUTCOMES, **context)


@router.post("/calls/next")
async def next_call_form(request: Request, who: Agent) -> HTMLResponse:
    held = await calls.next_call(engine_of(request), who.name)
    if held is None:
        return call_fragment(
            request, who, message=words(engine_of(request).settings.web_language)["no_calls"]
        )
    await auth_of(request).record(who, request, f"call taken {held.item.key}", held.item.reference)
    return call_fragment(request, who, call=call_view(held))


@router.post("/calls/{key}/identity")
async def identity_form(
    request: Request, key: str, who: Agent, identified_by: Annotated[str, Form()]
) -> HTMLResponse:
    """The person proved who they are, by a method the call accepts: the script of the
    call, for the agent holding it (and the method goes with the outcome)."""
    try:
        held = await calls.held(engine_of(request), key, who.name)
    except Refused as err:
        return call_fragment(request, who, refused=str(err))
    method = next((m for m in IdentityMethod if m.value == identified_by), None)
    problem = identity.refusal(CallOutcome.REACHED_VERIFIED, method, held.call.methods)
    if problem:
        return call_fragment(request, who, call=call_view(held), refused=problem)
    await auth_of(request).record(
        who,
        request,
        f"identity confirmed ({identified_by}), script read {key}",
        held.item.reference,
    )
    return call_fragment(
        request, who, call=call_view(held), script=held.call.notice, identified_by=identified_by
    )


@router.post("/calls/{key}/outcome")
async def outcome_form(
    request: Request,
    key: str,
    who: Agent,
    outcome: Annotated[str, Form()],
    identified_by: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    try:
        method = IdentityMethod(identified_by) if identified_by else None
        await calls.record_call(engine_of(request), key, CallOutcome(outcome), who.name, method)
    except (Refused, ValueError) as err:
        return call_fragment(request, who, refused=str(err))
    await auth_of(request).record(who, request, f"call recorded {key}: {outcome}", None)
    return call_fragment(
        request, who, message=words(engine_of(request).settings.web_language)["recorded"]
    )
