"""The HTTP API and the console as one ASGI app, over one Temporal client.

``create_app`` is given the process's settings and, where a program serves it beside
its worker (``bench.web_stall``'s comparison with the console on the engine's loop),
that program's client; in its own process (``python -m breachclock.web``, which
``make run`` starts beside the engine) it connects its own. The accounts store is
opened once for the app's life.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from breachclock.runtime.config import Settings
from breachclock.runtime.files import MAX_LIST_BYTES
from breachclock.runtime.store import open_account_store
from breachclock.runtime.telemetry import client_tracer, process_tracer
from breachclock.service.deliveries import DeliveryReports
from breachclock.service.engine import Engine
from breachclock.web import api, console, problems
from breachclock.web.auth import Auth
from breachclock.web.limits import BoundedBodies
from breachclock.web.tracing import TracedRequests

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(
    settings: Settings,
    client: Client | None = None,
    *,
    upload_limit: int = MAX_LIST_BYTES,
    first_run: Callable[[str], None] | None = None,
) -> FastAPI:
    """``first_run`` is told the ``admin`` password the first start made (once)."""
    store = open_account_store(settings)
    reports = DeliveryReports.of(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        password = await app.state.auth.first_run()
        if password is not None and first_run is not None:
            first_run(password)
        try:
            yield
        finally:
            await store.db.close()
            await reports.close()

    app = FastAPI(
        title="breachclock",
        summary="Privacy-incident reporting for telecom operators",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.engine = Engine(settings, client)
    app.state.auth = Auth(settings, store)
    app.state.upload_limit = upload_limit
    app.state.delivery_reports = reports
    problems.install(app)
    # The client's tracer where one is given (its spans and the request's share a
    # provider), else the process's, which the client the engine connects will use.
    tracer = client_tracer(client) if client is not None else process_tracer(settings)
    app.add_middleware(TracedRequests, tracer=tracer)
    app.include_router(api.router)
    console.install(app)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(BoundedBodies)

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        page = request.method == "GET" and not request.url.path.startswith("/api/")
        if response.status_code == 401 and page:  # a page asked for before signing in
            response = RedirectResponse("/login", status_code=303)
        new_session = getattr(request.state, "new_session", None)
        if new_session is not None:  # signed in by the SSO proxy's header
            console.set_session(request, response, new_session)
        response.headers.update(SECURITY_HEADERS)
        return response

    return app
