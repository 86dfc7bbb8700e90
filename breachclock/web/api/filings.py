"""Filings: the report as it would be filed now, approving a filing, a portal receipt, the justification
for facts still missing, and the NIS2 security report beside the privacy one."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from breachclock.domain.incident.model import Justify, OpenSecurityReport, RecordReceipt
from breachclock.domain.incident.pdf import render_pdf
from breachclock.domain.incident.report import render_json, render_text
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime import offload
from breachclock.service import incidents
from breachclock.web.api.common import (
    IdempotencyKey,
    Manager,
    Message,
    Reader,
    engine_of,
    keyed,
    parse,
    request_model,
)
from breachclock.web.problems import REFUSALS
from workflows.messages import ApproveResult

router = APIRouter(tags=["filings"], responses=REFUSALS)

JustifyRequest = request_model(Justify, "by")
SecurityReportRequest = request_model(OpenSecurityReport, "by")
ReceiptRequest = request_model(RecordReceipt, "by", "filing")


class ApproveRequest(BaseModel):
    """A person's go for one filing."""

    model_config = {"extra": "forbid"}
    filing: str | None = None
    """The stage to file (``initial_report``); unset: the one pending."""
    late_reason: str | None = None
    track: RegimeCode | None = None
    other_language_ok: bool = False
    """File free text in another language than the filing's as it is (without it,
    such text is refused, 422, a problem per field); the facts let go are recorded."""


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
    async with keyed(request, key) as engine:
        return await incidents.approve(
            engine,
            reference,
            who.name,
            filing,
            approval.late_reason,
            approval.track,
            approval.other_language_ok,
        )


@router.post("/incidents/{reference}/justification", response_model=Message)
async def justify_route(
    request: Request,
    reference: str,
    who: Manager,
    body: JustifyRequest,  # type: ignore[valid-type]
    key: IdempotencyKey = None,
) -> Message:
    """Why facts are still missing at the follow-up: the extension's reason."""
    async with keyed(request, key) as engine:
        justification = await parse(request, Justify, by=who.name)
        return Message.of(await incidents.justify(engine, reference, justification), request)


@router.post("/incidents/{reference}/security-report", response_model=Message)
async def security_report_route(
    request: Request,
    reference: str,
    who: Manager,
    body: SecurityReportRequest,  # type: ignore[valid-type]
    key: IdempotencyKey = None,
) -> Message:
    """It is also a significant security incident: the NIS2 report runs its own clocks."""
    async with keyed(request, key) as engine:
        opening = await parse(request, OpenSecurityReport, by=who.name)
        return Message.of(await incidents.open_security_report(engine, reference, opening), request)


@router.post("/incidents/{reference}/filings/{number}/receipt", response_model=Message)
async def receipt_route(
    request: Request,
    reference: str,
    number: int,
    who: Manager,
    body: ReceiptRequest,  # type: ignore[valid-type]
    key: IdempotencyKey = None,
) -> Message:
    """A filing prepared for the authority's portal was filed there: its receipt."""
    async with keyed(request, key) as engine:
        receipt = await parse(request, RecordReceipt, by=who.name, filing=number)
        return Message.of(await incidents.record_receipt(engine, reference, receipt), request)


REPORT_TYPES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as text, JSON or PDF (``format``).",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/incidents/{reference}/report", response_class=Response, responses=REPORT_TYPES)
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
        # Laid out in the worker process: on the loop it held up the engine's timers.
        pdf = await offload.in_process(render_pdf, draft)
        return Response(pdf, media_type="application/pdf")
    return PlainTextResponse(render_text(draft))
