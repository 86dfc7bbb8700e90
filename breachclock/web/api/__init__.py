"""The HTTP API: a router per noun, each route one call into the service layer, so
nothing reaches an incident by a path that skips a check. The OpenAPI document is
generated from the routes' pydantic models (``/api/openapi.json``).

The console uses the guards and views from here (``allowed``, ``auth_of``,
``engine_of``, ``call_view``).
"""

from fastapi import APIRouter

from breachclock.web.api import accounts, calls, containment, filings, incidents, intake, people
from breachclock.web.api.calls import call_view
from breachclock.web.api.common import allowed, auth_of, engine_of

__all__ = ["allowed", "auth_of", "call_view", "engine_of", "router"]

router = APIRouter(prefix="/api")
for noun in (incidents, filings, people, calls, containment, accounts, intake):
    router.include_router(noun.router)
