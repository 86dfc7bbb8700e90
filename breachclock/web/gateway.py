"""The SMS gateway's door into the engine: the delivery-report link Kannel calls.

Not for people: no session, no console. ``service.deliveries`` decides whether the
caller is the gateway and whether the report counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

import uvicorn
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from breachclock.runtime.kannel import wait_port
from breachclock.service.deliveries import DeliveryReports
from breachclock.service.engine import Refused
from breachclock.web import problems
from breachclock.web.problems import problems_response

router = APIRouter()
PATH = "/gateway/sms/dlr"


@router.api_route(PATH, methods=["GET", "POST"], include_in_schema=False)
async def delivery_report(
    request: Request,
    key: Annotated[str, Query(min_length=1, max_length=300)],
    sig: Annotated[str, Query(min_length=1, max_length=128)],
    type: Annotated[int, Query(ge=0, le=255)],
) -> Response:
    reports: DeliveryReports = request.app.state.delivery_reports
    sender = request.client.host if request.client else None
    try:
        changed = await reports.take(sender, key, sig, type, datetime.now(UTC))
    except Refused as err:
        answer: JSONResponse = problems_response(403, err.problems, request)
        return answer
    return PlainTextResponse("changed" if changed else "unchanged")


def door(reports: DeliveryReports) -> FastAPI:
    """The delivery-report route as an app of its own: the gateway's requests skip the
    console's middleware (sessions, security headers, a span each), which took half of a
    report's time: a campaign's reports come a few hundred a second, one per part."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.delivery_reports = reports
    problems.install(app)
    app.include_router(router)
    return app


class GatewayFirst:
    """ASGI middleware, outermost in the console's app: the gateway's door is served by
    ``door`` before the console's middleware runs; every other request goes on."""

    def __init__(self, app: ASGIApp, gateway: ASGIApp) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            await self.gateway(scope, receive, send)
        else:
            await self.app(scope, receive, send)


@asynccontextmanager
async def serving_alone(reports: DeliveryReports, port: int) -> AsyncIterator[None]:
    """The delivery-report route alone, served by uvicorn on 127.0.0.1:``port`` while
    inside (the SMS channel's tests, without the whole console)."""
    app = door(reports)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    await asyncio.to_thread(wait_port, port)
    try:
        yield
    finally:
        server.should_exit = True
        await task
