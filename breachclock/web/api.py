"""The HTTP API: one route for each CLI command, each one call into the service layer,
so nothing reaches an incident by a path that skips a check.

Inputs are checked by the same pydantic models the workflows use (``engine.parse``,
with the operator's zone); writes take an ``Idempotency-Key`` that becomes the
update's id, so a retried request never acts twice.
"""

import json
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident import notification_views, views
from breachclock.domain.incident.containment import TakedownTask
from breachclock.domain.incident.model import (
    Close,
    Discover,
    FactsPatch,
    Justify,
    NoticeOrder,
    OpenIncident,
    OpenSecurityReport,
    TimelineInput,
)
from breachclock.domain.incident.pdf import render_pdf
from breachclock.domain.incident.register import RegisterRow
from breachclock.domain.incident.report import render_json, render_text
from breachclock.domain.notify.assessment import Assessment, Decision, Recommendation
from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.notify.identity import IdentityMethod
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime.store.accounts import AuditEntry
from breachclock.runtime.store.people import Recipient
from breachclock.service import calls, containment, incidents, intake, notification
from breachclock.service.engine import Engine
from breachclock.service.register import register
from breachclock.web.auth import CSRF_FIELD, CSRF_HEADER, Action, Auth, Principal, check_csrf
from breachclock.web.problems import language_of
from workflows.messages import Answer, ApproveResult, Discovered

T = TypeVar("T")

DOCUMENTED: list[type[BaseModel]] = []
"""Input models read with ``engine.parse``: described in the OpenAPI document."""


def takes(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body is ``model``."""
    DOCUMENTED.append(model)
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def auth_of(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


async def signed_in(request: Request) -> Principal:
    who = await auth_of(request).principal(request)
    if who is None:
        raise HTTPException(401, "sign in first (a session, or Authorization: Bearer TOKEN)")
    return who


def allowed(
    action: Action, audit: str | None = None
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A route's guard: signed in, the role allows ``action``, a browser's write carries
    its CSRF token; the request goes in the audit log as ``audit`` (and its incident)."""

    async def guard(request: Request, who: Annotated[Principal, Depends(signed_in)]) -> Principal:
        if not who.may(action):
            raise HTTPException(403, f"a {who.role.value} may not do this ({action.value})")
        if request.method not in ("GET", "HEAD"):
            sent = request.headers.get(CSRF_HEADER)
            if sent is None and who.csrf is not None and _is_form(request):
                field = (await request.form()).get(CSRF_FIELD)
                sent = field if isinstance(field, str) else None
            check_csrf(who, sent)
        if audit is not None:
            reference = request.path_params.get("reference")
            await auth_of(request).record(who, request, audit, reference)
        return who

    return guard


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


async def json_object(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise HTTPException(400, f"the body is not JSON: {err}") from err
    if not isinstance(data, dict):
        raise HTTPException(422, "the body must be a JSON object")
    return data


Body = Annotated[dict[str, Any], Depends(json_object)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="The same key again is the same write: answered as the first, done once.",
    ),
]
Reader = Annotated[Principal, Depends(allowed(Action.READ, "read"))]
Responder = Annotated[Principal, Depends(allowed(Action.RESPOND, "change"))]
Manager = Annotated[Principal, Depends(allowed(Action.MANAGE, "change"))]
Agent = Annotated[Principal, Depends(allowed(Action.CALL))]
Lister = Annotated[Principal, Depends(allowed(Action.READ, "list"))]

router = APIRouter(prefix="/api")


class Opened(BaseModel):
    reference: str
    regime: RegimeCode


class Missing(BaseModel):
    missing: list[str]
    """What a complete report still lacks."""


class Message(BaseModel):
    """An update's answer: a line in the caller's language, and its code for a program."""

    message: str
    code: str | None = None

    @classmethod
    def of(cls, answer: Answer, request: Request) -> "Message":
        if answer.said is None:
            return cls(message=answer.message)
        return cls(message=answer.said.words(Voice(language_of(request))), code=answer.said.code)


class RegisterPage(BaseModel):
    total: int
    offset: int
    limit: int
    rows: list[RegisterRow]


class CallView(BaseModel):
    """What an agent sees of the call they hold: never the incident's facts."""

    key: str
    name: str | None
    phone: str
    greeting: str
    held_until: datetime | None
    identify_by: list[IdentityMethod]
    """How the person may prove who they are; a delivered call names one of them."""


class Script(BaseModel):
    key: str
    script: str


class LoadAnswer(BaseModel):
    read: int
    rejected: int
    summary: notification.LoadSummary


def _by(data: dict[str, Any], who: Principal, field: str = "by") -> dict[str, Any]:
    """Who did it: the signed-in person unless the body names who (a discovery's finder)."""
    return {**data, field: data.get(field) or who.name}


# ------------------------------------------------------------------ writes


@router.post(
    "/incidents", status_code=201, response_model=Opened, openapi_extra=takes(OpenIncident)
)
async def open_route(request: Request, who: Manager, body: Body) -> Opened:
    engine = engine_of(request)
    opening = engine.parse(OpenIncident, **_by(body, who, "opened_by"))
    await incidents.open_incident(engine, opening)
    await auth_of(request).record(who, request, "open", opening.reference)
    return Opened(reference=opening.reference, regime=opening.regime)


def writes(
    path: str,
    model: type[BaseModel],
    act: Callable[[Engine, str, Any], Awaitable[Any]],
    guard: Any,
    answer: type[BaseModel] = Answer,
    by: str | None = "by",
    shaped: Callable[[Any], BaseModel] | None = None,
) -> None:
    """A write route: the body read as ``model`` (who did it: the signed-in person,
    unless ``by`` is in the body), one service call, its Idempotency-Key as the update id."""

    async def route(
        request: Request, reference: str, who: guard, body: Body, key: IdempotencyKey = None
    ) -> Any:
        engine = engine_of(request)
        with engine.keyed(key):
            arg = engine.parse(model, **(_by(body, who, by) if by else body))
            result = await act(engine, reference, arg)
        return shaped(result) if shaped else result

    route.__name__ = f"{model.__name__.lower()}_route"
    router.post(path, response_model=answer, openapi_extra=takes(model))(route)


writes("/incidents/{reference}/discovery", Discover, incidents.discover, Responder, Discovered)
writes("/incidents/{reference}/events", TimelineInput, incidents.add_event, Responder)
writes(
    "/incidents/{reference}/facts",
    FactsPatch,
    incidents.record_facts,
    Manager,
    Missing,
    by=None,
    shaped=lambda missing: Missing(missing=missing),
)
writes("/incidents/{reference}/justification", Justify, incidents.justify, Manager)
writes(
    "/incidents/{reference}/security-report",
    OpenSecurityReport,
    incidents.open_security_report,
    Manager,
)
writes("/incidents/{reference}/close", Close, incidents.close, Manager)
writes(
    "/incidents/{reference}/assessment",
    Assessment,
    notification.assess,
    Manager,
    Recommendation,
    by=None,
)


async def once(request: Request, key: str | None, act: Callable[[Engine], Awaitable[T]]) -> T:
    """``act`` on the engine with the request's Idempotency-Key as its update's id."""
    engine = engine_of(request)
    with engine.keyed(key):
        return await act(engine)


class AcknowledgeRequest(BaseModel):
    deadline: str | None = None
    """The stage whose page is owned (``initial_report``); unset: the nearest."""
    track: RegimeCode | None = None
    by: str | None = None


@router.post("/incidents/{reference}/acknowledgements", response_model=Answer)
async def acknowledge_route(
    request: Request,
    reference: str,
    who: Responder,
    ack: AcknowledgeRequest,
    key: IdempotencyKey = None,
) -> Answer:
    """``ack``: the page's deadline is owned; its later pages reach no further."""
    return await once(
        request,
        key,
        lambda engine: incidents.acknowledge(
            engine, reference, ack.by or who.name, ack.deadline, ack.track
        ),
    )


class SnoozeRequest(BaseModel):
    minutes: int
    """30, 60 or 120: lead and reminder pages wait; filings and deadlines never do."""
    by: str | None = None


@router.post("/incidents/{reference}/snooze", response_model=Answer)
async def snooze_route(
    request: Request, reference: str, who: Responder, snooze: SnoozeRequest
) -> Answer:
    return await incidents.snooze(
        engine_of(request), reference, snooze.by or who.name, snooze.minutes
    )


class TakedownAsk(BaseModel):
    recipient: str
    """An id in the directory of the incident's country (``GET /api/takedown-recipients``)."""
    scope: str
    count: int
    by: str | None = None


@router.post("/incidents/{reference}/takedowns", response_model=Answer)
async def takedown_route(
    request: Request,
    reference: str,
    who: Manager,
    ask: TakedownAsk,
    key: IdempotencyKey = None,
) -> Answer:
    return await once(
        request,
        key,
        lambda engine: containment.request_takedown(
            engine, reference, ask.recipient, ask.scope, ask.count, ask.by or who.name
        ),
    )


class TakedownUpdate(BaseModel):
    status: str
    """``acknowledged``, ``confirmed`` (with ``how_verified``) or ``failed`` (with ``reason``)."""
    at: str | None = None
    how_verified: str | None = None
    reason: str | None = None
    by: str | None = None


@router.post("/incidents/{reference}/takedowns/{recipient}", response_model=Answer)
async def takedown_status_route(
    request: Request,
    reference: str,
    recipient: str,
    who: Manager,
    update: TakedownUpdate,
    key: IdempotencyKey = None,
) -> Answer:
    return await once(
        request,
        key,
        lambda engine: containment.report_takedown(
            engine,
            reference,
            recipient,
            update.status,
            update.by or who.name,
            update.at,
            update.how_verified,
            update.reason,
        ),
    )


@router.get("/incidents/{reference}/takedowns", response_model=list[TakedownTask])
async def takedowns_route(request: Request, reference: str, who: Reader) -> list[TakedownTask]:
    return await containment.takedowns(engine_of(request), reference)


@router.get("/takedown-recipients")
async def recipients_route(request: Request, who: Lister) -> dict[str, Any]:
    """The takedown directory, by country."""
    return {
        country: {rid: r.model_dump(mode="json") for rid, r in found.items()}
        for country, found in containment.directory(engine_of(request)).items()
    }


class ApproveRequest(BaseModel):
    filing: str | None = None
    """The stage to file (``initial_report``); unset: the one pending."""
    late_reason: str | None = None
    track: RegimeCode | None = None
    by: str | None = None


@router.post("/incidents/{reference}/approvals", response_model=ApproveResult)
async def approve_route(
    request: Request,
    reference: str,
    who: Manager,
    approval: ApproveRequest,
    key: IdempotencyKey = None,
) -> ApproveResult:
    engine = engine_of(request)
    filing = approval.filing
    if filing is None:
        filing = (await incidents.draft(engine, reference, approval.track)).stage
    with engine.keyed(key):
        return await incidents.approve(
            engine, reference, approval.by or who.name, filing, approval.late_reason, approval.track
        )


async def streamed(request: Request, limit: int) -> AsyncIterator[Path]:
    """The request body streamed to an owner-only file, refused past ``limit`` bytes."""
    folder = tempfile.mkdtemp(prefix="breachclock-upload-")
    name = Path(request.query_params.get("name") or "subscribers.csv").name
    path = Path(folder) / name
    try:
        size = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"the list is larger than {limit} bytes")
                out.write(chunk)
        yield path
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)


async def upload(request: Request) -> AsyncIterator[Path]:
    async for path in streamed(request, request.app.state.upload_limit):
        yield path


@router.put(
    "/incidents/{reference}/subscribers",
    response_model=LoadAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {}, "application/x-ndjson": {}},
            "description": "The affected list as the CLI reads it (CSV or JSONL); "
            "?name=FILE.csv|FILE.jsonl names its kind.",
        }
    },
)
async def subscribers_route(
    request: Request,
    reference: str,
    who: Manager,
    path: Annotated[Path, Depends(upload)],
    skip_invalid: bool = False,
    delimiter: Annotated[str | None, Query(max_length=1)] = None,
) -> LoadAnswer:
    read, summary = await notification.load(
        engine_of(request), reference, path, skip_invalid, delimiter
    )
    return LoadAnswer(read=len(read.subscribers), rejected=len(read.rejected), summary=summary)


@router.put("/incidents/{reference}/notice", response_model=Answer)
async def notice_route(
    request: Request, reference: str, who: Manager, body: Body, key: IdempotencyKey = None
) -> Answer:
    """Body: the notice's passages (``IncidentNotice`` without reference and regime)."""
    engine = engine_of(request)
    with engine.keyed(key):
        return await notification.set_notice(engine, reference, body)


@router.post(
    "/incidents/{reference}/decision", response_model=Message, openapi_extra=takes(Decision)
)
async def decide_route(
    request: Request, reference: str, who: Manager, body: Body, key: IdempotencyKey = None
) -> Message:
    engine = engine_of(request)
    with engine.keyed(key):
        decision = {**body, "decided_by": body.get("decided_by") or who.name}
        return Message.of(await notification.decide(engine, reference, **decision), request)


@router.post(
    "/incidents/{reference}/order", response_model=Message, openapi_extra=takes(NoticeOrder)
)
async def order_route(
    request: Request, reference: str, who: Manager, body: Body, key: IdempotencyKey = None
) -> Message:
    engine = engine_of(request)
    with engine.keyed(key):
        order = engine.parse(NoticeOrder, **{**body, "recorded_by": who.name})
        return Message.of(await notification.order(engine, reference, order), request)


# ------------------------------------------------------------------- reads

RegisterFilter = Literal["all", "open", "closed", "never_reported"]


def filtered(
    rows: list[RegisterRow], which: RegisterFilter, regime: str | None
) -> list[RegisterRow]:
    if which == "open":
        rows = [r for r in rows if r.state != "closed"]
    elif which == "closed":
        rows = [r for r in rows if r.state == "closed"]
    elif which == "never_reported":
        rows = [r for r in rows if r.never_filed]
    return [r for r in rows if regime is None or r.regime == regime]


@router.get("/incidents", response_model=RegisterPage)
async def list_route(
    request: Request,
    who: Lister,
    which: Annotated[RegisterFilter, Query(alias="filter")] = "all",
    regime: RegimeCode | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RegisterPage:
    """The register, most urgent first (LEK 8:9)."""
    rows = filtered(
        (await register(engine_of(request))).complete(), which, regime.value if regime else None
    )
    return RegisterPage(
        total=len(rows), offset=offset, limit=limit, rows=rows[offset : offset + limit]
    )


@router.get("/register.csv", response_class=PlainTextResponse)
async def register_csv(request: Request, who: Lister) -> Response:
    """The whole register as CSV (LEK 8:9)."""
    rows = (await register(engine_of(request))).complete()
    return Response(register_text(rows), media_type="text/csv; charset=utf-8")


def register_text(rows: list[RegisterRow]) -> str:
    import csv
    import io

    out = io.StringIO()
    fields = list(RegisterRow.model_fields)
    writer = csv.DictWriter(out, fields)
    writer.writeheader()
    for row in rows:
        data = row.model_dump(mode="json")
        data["never_filed"] = " ".join(row.never_filed)
        writer.writerow({k: _cell(v) for k, v in data.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    """A cell no spreadsheet runs as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@router.get("/incidents/{reference}")
async def status_route(request: Request, reference: str, who: Reader) -> dict[str, Any]:
    """The incident as ``status --json`` shows it, and its campaign's counts."""
    found = await incidents.standing(engine_of(request), reference)
    data = views.status(found.state, datetime.now(UTC))
    data["notification"] = notification_views.notification(found.state, found.live)
    return data


@router.get("/incidents/{reference}/timeline")
async def timeline_route(request: Request, reference: str, who: Reader) -> list[dict[str, Any]]:
    return views.timeline(await engine_of(request).state(reference))


@router.get("/incidents/{reference}/report")
async def report_route(
    request: Request,
    reference: str,
    who: Reader,
    format: Literal["text", "json", "pdf"] = "text",
    track: RegimeCode | None = None,
) -> Response:
    """The report as it would be filed now."""
    draft = await incidents.draft(engine_of(request), reference, track)
    if format == "json":
        return Response(render_json(draft), media_type="application/json")
    if format == "pdf":
        return Response(render_pdf(draft), media_type="application/pdf")
    return PlainTextResponse(render_text(draft))


@router.get("/incidents/{reference}/people/{subscriber_id}", response_model=notification.PersonView)
async def person_route(
    request: Request, reference: str, subscriber_id: str, who: Reader
) -> notification.PersonView:
    return await notification.person(engine_of(request), reference, subscriber_id)


@router.get("/incidents/{reference}/unreachable", response_model=list[Recipient])
async def unreachable_route(request: Request, reference: str, who: Reader) -> list[Recipient]:
    return await notification.unreachable(engine_of(request), reference)


@router.get("/incidents/{reference}/audit", response_model=list[AuditEntry])
async def audit_route(request: Request, reference: str, who: Reader) -> list[AuditEntry]:
    """Who read or changed this incident, when, from where; newest first."""
    return await auth_of(request).store.audit_of(reference)


# ------------------------------------------------------------------- calls


@router.post("/calls/next", response_model=CallView | None)
async def next_call_route(request: Request, who: Agent) -> CallView | None:
    """The oldest due call nobody holds, now held by you: name, number, greeting only."""
    held = await calls.next_call(engine_of(request), who.name)
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


@router.get("/calls/{key}/script", response_model=Script)
async def script_route(request: Request, key: str, who: Agent) -> Script:
    """The script of a call you hold, once the person has confirmed who they are."""
    held = await calls.held(engine_of(request), key, who.name)
    await auth_of(request).record(who, request, f"script read {key}", held.item.reference)
    return Script(key=key, script=held.call.notice)


class Outcome(BaseModel):
    outcome: CallOutcome
    identified_by: IdentityMethod | None = None
    """How the person proved who they are: required for ``reached_verified``."""


@router.post("/calls/{key}/outcome", status_code=204)
async def record_route(request: Request, key: str, who: Agent, outcome: Outcome) -> Response:
    await calls.record_call(
        engine_of(request), key, outcome.outcome, who.name, outcome.identified_by
    )
    return Response(status_code=204)


# ------------------------------------------------------------------ intake


@router.post("/intake/alertmanager", response_model=intake.IntakeResult)
async def alertmanager_route(
    request: Request, who: Manager, hook: intake.AlertmanagerWebhook
) -> intake.IntakeResult:
    """Alertmanager's webhook (configure a receiver with an API token of role manager):
    an alert labelled ``breachclock="incident"`` opens an incident and pages the on-call."""
    result = await intake.alertmanager(engine_of(request), hook, f"Alertmanager ({who.name})")
    if result.opened:
        await auth_of(request).record(who, request, "open (alertmanager)", result.reference)
    return result
