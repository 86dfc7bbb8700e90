"""The register: every incident, most urgent first, with its amber countdowns; and
opening a new incident."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.model import OpenIncident
from breachclock.domain.incident.register import Which
from breachclock.domain.regimes import RegimeCode, privacy_regimes
from breachclock.service import incidents
from breachclock.service.engine import Refused
from breachclock.service.register import register_mark, register_view
from breachclock.web.console.live import changes
from breachclock.web.console.pages import (
    Manager,
    Reader,
    answered,
    auth_of,
    engine_of,
    render,
    voice_of,
)

router = APIRouter(include_in_schema=False)

PAGE = 50
"""Register rows per page."""


async def register_context(
    request: Request, which: str, regime: str | None, offset: int
) -> dict[str, Any]:
    chosen: Which = which if which in ("all", "closed", "never_reported") else "open"  # type: ignore[assignment]
    regime = regime if regime in {r.value for r in RegimeCode} else None
    offset = max(offset, 0)
    shown = await register_view(engine_of(request), chosen, regime, offset, PAGE)

    def page_query(at: int) -> str:
        return urlencode(
            {"filter": chosen, "offset": max(at, 0), **({"regime": regime} if regime else {})}
        )

    return {
        "rows": shown.rows,
        "total": shown.total,
        "offset": offset,
        "limit": PAGE,
        "which": chosen,
        "regime": regime,
        "regimes": [r.value for r in RegimeCode],
        "query": page_query(offset),
        "page_query": page_query,
    }


def regime_choices(t: Voice) -> list[tuple[str, str]]:
    return [(r.value, t(f"regime.{r.value}")) for r in privacy_regimes()]


@router.get("/")
async def register_page(
    request: Request, who: Reader, filter: str = "open", regime: str | None = None, offset: int = 0
) -> HTMLResponse:
    context = await register_context(request, filter, regime, offset)
    return render(
        request,
        "register.html",
        who,
        title="ui.register",
        nav="register",
        regime_choices=regime_choices(voice_of(request)),
        **context,
    )


@router.get("/register/rows")
async def register_rows(
    request: Request, who: Reader, filter: str = "open", regime: str | None = None, offset: int = 0
) -> HTMLResponse:
    context = await register_context(request, filter, regime, offset)
    return render(request, "register_rows.html", who, **context)


@router.get("/register/events")
async def register_events(request: Request, who: Reader) -> StreamingResponse:
    """A server-sent event each time the register changes (looked at once a second, by
    the change feed's number: an open page costs no read of the register)."""
    return changes(request, lambda: register_mark(engine_of(request)))


@router.post("/incidents")
async def open_form(
    request: Request,
    who: Manager,
    reference: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=2000)],
    regime: Annotated[str, Form(max_length=10)] = "pts",
) -> HTMLResponse:
    fields = ("reference", "title", "regime")
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
        return answered(request, who, problems=err.problems, fields=fields)
    await auth_of(request).record(who, request, "incident.open", opening.reference)
    response = answered(request, who, fields=fields)
    response.headers["HX-Redirect"] = f"/incidents/{opening.reference}"
    return response
