"""The console: server-rendered pages (Jinja2, autoescaped) with htmx for the forms,
and server-sent events for what changes while a page is open. A module per page or
noun; every form posts to a route that calls the same service function as the API and
the CLI, and speaks the reader's language from the one catalogue."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from breachclock.web.console import (
    accounts,
    calls,
    containment,
    filings,
    incident,
    pages,
    people,
    register,
    report,
    session,
)
from breachclock.web.console.session import set_session

router = APIRouter(include_in_schema=False)
for part in (
    session,
    register,
    incident,
    report,
    filings,
    people,
    containment,
    calls,
    accounts,
):
    router.include_router(part.router)


def install(app: FastAPI) -> None:
    """The console's routes, and its pages for "sign in first" and "not allowed"."""
    pages.install_denied(app)
    app.include_router(router)


__all__ = ["install", "router", "set_session"]
