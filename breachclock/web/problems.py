"""Errors as RFC 9457 problem details: ``title`` and ``detail`` in the caller's language
(``Accept-Language``, else the engine's), and ``errors`` lists each coded problem with the
JSON pointer of the field it concerns, so a client can put it beside that field.

Input that is not what a route takes is 422 (``Invalid``, pydantic's findings); a
refusal of the incident as it stands is 409; a name nobody knows is 404. The same
schema is declared for every route's error answers (``REFUSALS``), so the OpenAPI
document says what a client meets.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route

from breachclock.domain.catalogue import LANGUAGES, Language, Voice
from breachclock.domain.problems import Problem, problem, problems_of
from breachclock.service.engine import Invalid, Refused, Unreachable, retry_after

PROBLEM_JSON = "application/problem+json"

NOT_FOUND = {
    "incident.unknown",
    "call.unknown",
    "person.unknown",
    "account.unknown",
    "token.unknown",
}
"""Refusals that mean the thing named does not exist (404, not 409)."""


class HttpProblem(HTTPException):
    """A refusal by the web layer itself (who is asking, how the request is made), with
    its HTTP status. An ``HTTPException``, so the framework lets it through where it
    turns other errors met reading a body into 400."""

    def __init__(self, status: int, *problems: Problem) -> None:
        self.problems = list(problems)
        super().__init__(status, "; ".join(p.code for p in problems))


class ProblemEntry(BaseModel):
    code: str
    """The problem's stable code (``incident.unknown``, ``input.missing``)."""
    detail: str
    pointer: str | None = None
    """RFC 6901 pointer to the field in the request body it concerns."""


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemEntry] | None = None


def _inline_schema() -> dict[str, Any]:
    """``ProblemDetails``' JSON schema with its entries inlined (no ``$defs``), to declare
    under ``application/problem+json`` without a components entry."""
    schema = ProblemDetails.model_json_schema()
    defs = schema.pop("$defs", {})
    entry = defs["ProblemEntry"]
    errors = schema["properties"]["errors"]
    errors["anyOf"] = [
        {"type": "array", "items": entry} if option.get("type") == "array" else option
        for option in errors["anyOf"]
    ]
    return schema


PROBLEM_SCHEMA = _inline_schema()

DESCRIPTIONS = {
    400: "The request cannot be read (a body that is not JSON, a duplicated identity header).",
    401: "Not signed in (no session, no live token).",
    403: "The role does not allow it, or a browser's write lacks its CSRF token.",
    404: "No such incident, call, person or account (or no such route).",
    405: "The route does not take this method.",
    409: "Refused by the engine for the incident as it stands, or the key is busy.",
    413: "The body is larger than this route takes.",
    422: "Not what the route takes: each problem with the pointer of its field.",
    503: "Temporal or the store does not answer.",
}

REFUSALS: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
    for status, text in DESCRIPTIONS.items()
}
"""Every error answer a route may give, for ``APIRouter(responses=...)``."""


def title(status: int, voice: Voice) -> str:
    key = f"problem.http.{status}"
    return voice(key) if voice.has(key) else voice("problem.http.other", status=status)


def problem_response(
    status: int, detail: str, request: Request, errors: list[dict[str, str]] | None = None
) -> JSONResponse:
    voice = Voice(language_of(request))
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title(status, voice),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def language_of(request: Request) -> Language:
    """The first of the caller's ``Accept-Language`` the catalogue speaks, else the engine's."""
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    settings = getattr(getattr(request.app.state, "engine", None), "settings", None)
    return getattr(settings, "language", "en")


def problems_response(status: int, found: list[Problem], request: Request) -> JSONResponse:
    """Coded problems in the caller's language: one line, and each with its field."""
    voice = Voice(language_of(request))
    errors = []
    for p in found:
        entry = {"code": p.code, "detail": one_line(p.words(voice))}
        if p.pointer():
            entry["pointer"] = p.pointer() or ""
        errors.append(entry)
    detail = "; ".join(
        f"{p.field}: {e['detail']}" if p.field else e["detail"]
        for p, e in zip(found, errors, strict=True)
    )
    return problem_response(status, detail or title(status, voice), request, errors)


def one_line(text: str) -> str:
    """A refusal that lists (a subscriber file's bad rows) as one line, item after item."""
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def refused_status(err: Refused) -> int:
    """Input not as the route takes it is 422; a reference nobody knows is 404; every
    other refusal is the engine's answer to this incident as it stands (409)."""
    if isinstance(err, Invalid):
        return 422
    return 404 if any(p.code in NOT_FOUND for p in err.problems) else 409


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path: the framework names only the first
    route's, and FastAPI makes one route per method."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def _refused(request: Request, err: Refused) -> JSONResponse:
        response = problems_response(refused_status(err), err.problems, request)
        wait = retry_after(err)
        if wait is not None:  # a concurrent duplicate: 409, and when to try again
            response.headers["Retry-After"] = str(wait)
        return response

    @app.exception_handler(HttpProblem)
    async def _web(request: Request, err: HttpProblem) -> JSONResponse:
        return problems_response(err.status_code, err.problems, request)

    @app.exception_handler(Unreachable)
    async def _unreachable(request: Request, err: Unreachable) -> JSONResponse:
        return problems_response(503, [problem("engine.unreachable")], request)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException) -> JSONResponse:
        """The framework's own (no route, wrong method): its status, in the caller's words."""
        response = problem_response(
            err.status_code, title(err.status_code, Voice(language_of(request))), request
        )
        response.headers.update(err.headers or {})
        if err.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        found = problems_of(err.errors())
        if any(p.code == "input.json_invalid" for p in found):
            return problems_response(400, [problem("request.unreadable")], request)
        return problems_response(422, found, request)
