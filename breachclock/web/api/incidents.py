"""Incidents: open, discovery, events, facts, acknowledging and snoozing pages, closing;
the register, an incident's status, timeline and audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident import notification_views, register_export, views
from breachclock.domain.incident.model import (
    Acknowledge,
    Close,
    Discover,
    FactsPatch,
    OpenIncident,
    Snooze,
    TimelineInput,
)
from breachclock.domain.incident.register import RegisterRow, Which
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime.store.accounts import AuditEntry
from breachclock.service import incidents
from breachclock.service.register import register, register_view
from breachclock.web.api.common import (
    IdempotencyKey,
    Lister,
    Manager,
    Message,
    Reader,
    Responder,
    auth_of,
    engine_of,
    keyed,
    parse,
    request_model,
)
from breachclock.web.problems import REFUSALS, language_of
from workflows.messages import Discovered

router = APIRouter(tags=["incidents"], responses=REFUSALS)

OpenRequest = request_model(OpenIncident, "opened_by")
DiscoverRequest = request_model(Discover, "by")
EventRequest = request_model(TimelineInput, "by")
CloseRequest = request_model(Close, "by")
AcknowledgeRequest = request_model(Acknowledge, "by", "link")
SnoozeRequest = request_model(Snooze, "by")


class Opened(BaseModel):
    reference: str
    regime: RegimeCode


class Missing(BaseModel):
    missing: list[str]
    """What a complete report still lacks."""


class LabelledRow(RegisterRow):
    labels: dict[str, str | list[str]] = Field(default_factory=dict)
    """The coded values' words in the reader's language (``state``, ``root_cause``…)."""


class RegisterPage(BaseModel):
    total: int
    offset: int
    limit: int
    columns: dict[str, str] = Field(default_factory=dict)
    """Each column's code and its label in the reader's language."""
    rows: list[LabelledRow]


@router.post("/incidents", status_code=201, response_model=Opened)
async def open_route(request: Request, who: Manager, body: OpenRequest) -> Opened:  # type: ignore[valid-type]
    opening = await parse(request, OpenIncident, opened_by=who.name)
    await incidents.open_incident(engine_of(request), opening)
    await auth_of(request).record(who, request, "open", opening.reference)
    return Opened(reference=opening.reference, regime=opening.regime)


@router.post("/incidents/{reference}/discovery", response_model=Discovered)
async def discover_route(
    request: Request,
    reference: str,
    who: Responder,
    body: DiscoverRequest,  # type: ignore[valid-type]
    key: IdempotencyKey = None,
) -> Discovered:
    """When the operator became aware, and how: the clocks start here."""
    async with keyed(request, key) as engine:
        return await incidents.discover(
            engine, reference, await parse(request, Discover, by=who.name)
        )


@router.post("/incidents/{reference}/events", response_model=Message)
async def event_route(
    request: Request,
    reference: str,
    who: Responder,
    body: EventRequest,  # type: ignore[valid-type]
    key: IdempotencyKey = None,
) -> Message:
    async with keyed(request, key) as engine:
        event = await parse(request, TimelineInput, by=who.name)
        return Message.of(await incidents.add_event(engine, reference, event), request)


@router.post("/incidents/{reference}/facts", response_model=Missing)
async def facts_route(
    request: Request,
    reference: str,
    who: Manager,
    body: FactsPatch,
    key: IdempotencyKey = None,
) -> Missing:
    """Facts to record or correct: only the fields named in ``changes`` change."""
    async with keyed(request, key) as engine:
        patch = await parse(request, FactsPatch)
        return Missing(missing=await incidents.record_facts(engine, reference, patch))


@router.post("/incidents/{reference}/close", response_model=Message)
async def close_route(
    request: Request,
    reference: str,
    who: Manager,
    body: CloseRequest,  # type: ignore[valid-type]
    key: IdempotencyKey = None,
) -> Message:
    async with keyed(request, key) as engine:
        closing = await parse(request, Close, by=who.name)
        return Message.of(await incidents.close(engine, reference, closing), request)


@router.post("/incidents/{reference}/acknowledgements", response_model=Message)
async def acknowledge_route(
    request: Request,
    reference: str,
    who: Responder,
    ack: AcknowledgeRequest,  # type: ignore[valid-type]
    key: IdempotencyKey = None,
) -> Message:
    """The page's deadline is owned (``deadline``: the stage, unset: the nearest); its
    later pages reach no further."""
    async with keyed(request, key) as engine:
        body = await parse(request, Acknowledge, by=who.name)
        answer = await incidents.acknowledge(engine, reference, who.name, body.deadline, body.track)
        return Message.of(answer, request)


@router.post("/incidents/{reference}/snooze", response_model=Message)
async def snooze_route(
    request: Request,
    reference: str,
    who: Responder,
    snooze: SnoozeRequest,  # type: ignore[valid-type]
) -> Message:
    """Lead and reminder pages wait 30, 60 or 120 minutes; filings and deadlines never do."""
    body = await parse(request, Snooze, by=who.name)
    answer = await incidents.snooze(engine_of(request), reference, who.name, body.minutes)
    return Message.of(answer, request)


# ------------------------------------------------------------------- reads


@router.get("/incidents", response_model=RegisterPage)
async def list_route(
    request: Request,
    who: Lister,
    which: Annotated[Which, Query(alias="filter")] = "all",
    regime: RegimeCode | None = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RegisterPage:
    """The register, most urgent first (LEK 8:9): each incident's facts, effects and
    measures, reported or not, under stable codes with their words in the reader's
    language."""
    shown = await register_view(
        engine_of(request), which, regime.value if regime else None, offset, limit
    )
    voice = reader_voice(request)
    return RegisterPage(
        total=shown.total,
        offset=offset,
        limit=limit,
        columns=register_export.columns(voice),
        rows=[
            LabelledRow(**row.model_dump(), labels=register_export.labels(row, voice))
            for row in shown.rows
        ],
    )


CSV_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.get("/register.csv", response_class=Response, responses=CSV_TEXT)
async def register_csv(request: Request, who: Lister) -> Response:
    """The whole register as CSV (LEK 8:9), labelled in the reader's language."""
    rows = (await register(engine_of(request))).complete()
    text = register_export.csv_text(rows, reader_voice(request))
    return Response(text, media_type="text/csv; charset=utf-8")


def reader_voice(request: Request) -> Voice:
    """The caller's language (``Accept-Language``) in the operator's zone."""
    return Voice(language_of(request), engine_of(request).settings.operator_zone)


class IncidentStatus(BaseModel):
    """The incident as ``status --json`` shows it, and its campaign's counts."""

    model_config = {"extra": "allow"}
    reference: str
    state: str
    notification: dict[str, Any] = Field(default_factory=dict)


@router.get("/incidents/{reference}", response_model=IncidentStatus)
async def status_route(request: Request, reference: str, who: Reader) -> dict[str, Any]:
    found = await incidents.standing(engine_of(request), reference)
    data = views.status(found.state, datetime.now(UTC))
    data["notification"] = notification_views.notification(found.state, found.live)
    return data


@router.get("/incidents/{reference}/timeline", response_model=list[dict[str, Any]])
async def timeline_route(request: Request, reference: str, who: Reader) -> list[dict[str, Any]]:
    return views.timeline(await engine_of(request).state(reference))


@router.get("/incidents/{reference}/audit", response_model=list[AuditEntry])
async def audit_route(request: Request, reference: str, who: Reader) -> list[AuditEntry]:
    """Who read or changed this incident, when, from where; newest first."""
    return await auth_of(request).store.audit_of(reference)
