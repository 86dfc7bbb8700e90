"""An incident's page: its sections (overview with the clocks and what is missing,
report, people and calls, containment, timeline, audit), the live parts that a
server-sent event refreshes, and the overview's actions (discovery, acknowledging and
snoozing a page, events, closing).

Each section is its own URL (``?tab=``), so a person under stress sees one job at a
time and a link can point at it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident import views
from breachclock.domain.incident.model import Close, Discover, TimelineInput
from breachclock.service import incidents
from breachclock.service.engine import Refused
from breachclock.web.console import containment, people, report
from breachclock.web.console.live import changes
from breachclock.web.console.pages import (
    Manager,
    Reader,
    ReaderLogged,
    Responder,
    auth_of,
    engine_of,
    outcome,
    render,
    spoken,
    text_or_none,
    voice_of,
    zoned,
)

router = APIRouter(include_in_schema=False)

TABS = ("overview", "report", "people", "containment", "timeline", "audit")
TIMELINE_SHOWN = 200
"""Timeline entries on the page (newest); the whole one is in the API."""
AUDIT_SHOWN = 100
SNOOZES = (30, 60, 120)
SECTIONS = {"report": report.context, "people": people.context, "containment": containment.context}
"""The sections with reads of their own, beyond the live parts every section has."""


def deadlines(state: Any, now: datetime) -> list[dict[str, Any]]:
    """The clocks, as instants (the views give them as the operator's local ISO)."""
    rows = []
    for d in views.deadlines(state, now):
        due = datetime.fromisoformat(d["due_at"]) if d["due_at"] else None
        done = datetime.fromisoformat(d["done_at"]) if d["done_at"] else None
        never = bool(d["never_filed"]) or (state.closure is not None and done is None)
        rows.append(
            {
                "regime": d["regime"],
                "stage": d["name"],
                "due": due,
                "done": done,
                "never": never,
                "live": due is not None and done is None and not never,
            }
        )
    return rows


async def live_context(request: Request, reference: str) -> dict[str, Any]:
    """What the live parts of every section show."""
    found = await incidents.standing(engine_of(request), reference)
    state = found.state
    timeline = sorted(state.timeline, key=lambda e: (e.at, e.recorded_at))
    now = datetime.now(UTC)
    return {
        "state": state,
        "found": found,
        "deadlines": deadlines(state, now),
        "wait": views.notice_wait(state, now),
        "missing": state.facts.missing(),
        "campaign": people.campaign(state, found.live),
        "timeline": timeline[-TIMELINE_SHOWN:][::-1],
        "timeline_total": found.timeline_total,
    }


@router.get("/incidents/{reference}")
async def incident_page(
    request: Request, reference: str, who: ReaderLogged, tab: str = "overview"
) -> HTMLResponse:
    tab = tab if tab in TABS else "overview"
    context = await live_context(request, reference)
    extra: dict[str, Any] = {}
    if tab == "audit":
        extra["audit"] = await auth_of(request).store.audit_of(reference, AUDIT_SHOWN)
    if tab in SECTIONS:
        extra.update(await SECTIONS[tab](request, context["state"], voice_of(request)))
    return render(
        request,
        "incident.html",
        who,
        title=reference,
        nav="register",
        tab=tab,
        tabs=TABS,
        snoozes=SNOOZES,
        **context,
        **extra,
    )


@router.get("/incidents/{reference}/live/{part}")
async def incident_live(request: Request, reference: str, part: str, who: Reader) -> HTMLResponse:
    """One live part of the page, fetched again when the page's event stream says so."""
    context = await live_context(request, reference)
    if part == "audit":
        context["audit"] = await auth_of(request).store.audit_of(reference, AUDIT_SHOWN)
    name = {
        "clocks": "incident_clocks.html",
        "timeline": "incident_timeline.html",
        "audit": "incident_audit.html",
        "campaign": "incident_campaign.html",
        "filings": "incident_filings.html",
    }.get(part, "incident_clocks.html")
    return render(request, name, who, **context)


@router.get("/incidents/{reference}/events")
async def incident_events(request: Request, reference: str, who: Reader) -> StreamingResponse:
    """A server-sent event each time the incident or its campaign's counts change."""
    engine = engine_of(request)
    store = auth_of(request).store

    async def probe() -> Any:
        found = await incidents.standing(engine, reference)
        latest = await store.audit_of(reference, 1)
        return [found.model_dump(mode="json"), [a.model_dump(mode="json") for a in latest]]

    return changes(request, probe)


# ----------------------------------------------------------------- actions


@router.post("/incidents/{reference}/discover")
async def discover_form(
    request: Request,
    reference: str,
    who: Responder,
    at: Annotated[str, Form(max_length=100)],
    how: Annotated[str, Form(max_length=20_000)],
) -> HTMLResponse:
    async def act(t: Voice) -> str:
        engine = engine_of(request)
        found = await incidents.discover(
            engine, reference, engine.parse(Discover, at=zoned(request, at), by=who.name, how=how)
        )
        return t(
            "ui.discovered",
            dues=[
                t("ui.due_line", stage=t.value("stage", d.name), at=d.due_at)
                for d in found.deadlines
            ],
        )

    return await outcome(request, who, act, fields=("at", "how"))


@router.post("/incidents/{reference}/event")
async def event_form(
    request: Request,
    reference: str,
    who: Responder,
    at: Annotated[str, Form(max_length=100)],
    what: Annotated[str, Form(max_length=20_000)],
    how_established: Annotated[str | None, Form(max_length=200)] = None,
) -> HTMLResponse:
    async def act(t: Voice) -> str:
        engine = engine_of(request)
        event = engine.parse(
            TimelineInput,
            at=zoned(request, at),
            what=what,
            by=who.name,
            how_established=text_or_none(how_established),
        )
        return spoken(await incidents.add_event(engine, reference, event), t)

    return await outcome(request, who, act, fields=("at", "what", "how_established"))


@router.post("/incidents/{reference}/acknowledge")
async def acknowledge_form(request: Request, reference: str, who: Responder) -> HTMLResponse:
    """Own the page of the nearest deadline: its later pages reach no further."""

    async def act(t: Voice) -> str:
        return spoken(await incidents.acknowledge(engine_of(request), reference, who.name), t)

    return await outcome(request, who, act)


@router.post("/incidents/{reference}/snooze")
async def snooze_form(
    request: Request, reference: str, who: Responder, minutes: Annotated[int, Form()]
) -> HTMLResponse:
    async def act(t: Voice) -> str:
        answer = await incidents.snooze(engine_of(request), reference, who.name, minutes)
        return spoken(answer, t)

    return await outcome(request, who, act)


@router.post("/incidents/{reference}/close")
async def close_form(
    request: Request,
    reference: str,
    who: Manager,
    reason: Annotated[str | None, Form(max_length=20_000)] = None,
    abandon_reports: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    async def act(t: Voice) -> str:
        engine = engine_of(request)
        closing = engine.parse(
            Close, by=who.name, reason=text_or_none(reason), abandon_reports=abandon_reports
        )
        return spoken(await incidents.close(engine, reference, closing), t)

    return await outcome(request, who, act, fields=("reason", "abandon_reports"))


@router.get("/ack/{token}")
async def ack_page(request: Request, token: str, who: Responder) -> HTMLResponse:
    """A page e-mail's link: which incident and deadline, and a button to own it (a link
    followed by a mail scanner acknowledges nothing: the POST does)."""
    try:
        reference, deadline = incidents.verify_ack_link(engine_of(request), token)
    except Refused as err:
        return render(
            request, "ack.html", who, code=410, title="ui.acknowledge", problems=err.problems
        )
    return render(
        request,
        "ack.html",
        who,
        title="ui.acknowledge",
        reference=reference,
        deadline=deadline,
        token=token,
    )


@router.post("/ack/{token}")
async def ack_link_form(request: Request, token: str, who: Responder) -> HTMLResponse:
    async def act(t: Voice) -> str:
        engine = engine_of(request)
        reference, _ = incidents.verify_ack_link(engine, token)
        answer = await incidents.acknowledge(engine, reference, who.name, token=token)
        await auth_of(request).record(who, request, "incident.acknowledge_link", reference)
        return spoken(answer, t)

    return await outcome(request, who, act)
