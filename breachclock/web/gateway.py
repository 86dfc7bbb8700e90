"""The SMS gateway's door into the engine: the delivery-report link Kannel calls.

Not for people: no session, no console. ``service.deliveries`` decides whether the
caller is the gateway and whether the report counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qsl

import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import State
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from breachclock.domain.catalogue import Voice
from breachclock.domain.problems import problems_of
from breachclock.runtime.kannel import wait_port
from breachclock.service.deliveries import DeliveryReports
from breachclock.service.engine import Refused
from breachclock.web.problems import language_of, problem_response, problems_response, title

PATH = "/gateway/sms/dlr"
METHODS = ("GET", "POST")


class Report(BaseModel):
    """The report link's query, as ``runtime.gateway.dlr_url`` makes it."""

    key: Annotated[str, Field(min_length=1, max_length=300)]
    sig: Annotated[str, Field(min_length=1, max_length=128)]
    type: Annotated[int, Field(ge=0, le=255)]


class Door:
    """The delivery-report link as a plain ASGI app, served before the console's app.

    A campaign's reports come a few hundred a second, one per part. Through the
    framework (its middleware, routing and parameter injection) a report took five
    times the CPU the report itself needs (the signature and one store write), and the
    console's process was half of an SMS campaign's CPU. Here a report is read, checked
    and recorded, and answered in plain text; a refusal is a problem in the caller's
    language, as from every other route."""

    def __init__(self, reports: DeliveryReports) -> None:
        self.reports = reports
        self.state = State({"delivery_reports": reports})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("app", self)  # where a refusal finds the engine's language
        answer = await self._answer(scope)
        await answer(scope, receive, send)

    async def _answer(self, scope: Scope) -> Response:
        if scope["method"] not in METHODS:
            request = Request(scope)
            refused = problem_response(405, title(405, Voice(language_of(request))), request)
            refused.headers["Allow"] = ", ".join(METHODS)
            return refused
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        try:
            report = Report.model_validate(query)
        except ValidationError as err:
            return problems_response(422, problems_of(err), Request(scope))
        client = scope.get("client")
        try:
            changed = await self.reports.take(
                client[0] if client else None,
                report.key,
                report.sig,
                report.type,
                datetime.now(UTC),
            )
        except Refused as err:
            return problems_response(403, err.problems, Request(scope))
        return PlainTextResponse("changed" if changed else "unchanged")


class GatewayFirst:
    """The console's app as served: the gateway's door is answered by ``Door`` before
    the console's framework runs; every other request, and the lifespan, go on."""

    def __init__(self, app: ASGIApp, door: Door) -> None:
        self.app = app
        self.door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            await self.door(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def outermost(app: FastAPI) -> GatewayFirst:
    """The console's app with the gateway's door in front (``web.app.create_app``)."""
    return GatewayFirst(app, Door(app.state.delivery_reports))


@asynccontextmanager
async def serving_alone(reports: DeliveryReports, port: int) -> AsyncIterator[None]:
    """The delivery-report route alone, served by uvicorn on 127.0.0.1:``port`` while
    inside (the SMS channel's tests, without the whole console)."""
    app = Door(reports)
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
