"""Errors as RFC 9457 problem details: ``detail`` is one line in the caller's language
(``Accept-Language``, else the engine's), and ``errors`` lists each coded problem with the
JSON pointer of the field it concerns, so a client can put it beside that field."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from breachclock.domain.catalogue import LANGUAGES, Language, Voice
from breachclock.domain.problems import Problem, problems_of
from breachclock.service.engine import Refused, Unreachable, retry_after

NOT_FOUND = {"incident.unknown", "call.unknown", "person.unknown"}
"""Refusals that mean the thing named does not exist (404, not 409)."""

TITLES = {
    400: "Bad request",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not found",
    409: "Refused",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    503: "Engine unreachable",
}


def problem(
    status: int, detail: str, request: Request, errors: list[dict[str, str]] | None = None
) -> JSONResponse:
    body: dict[str, object] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


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
    return problem(status, detail, request, errors)


def one_line(text: str) -> str:
    """A refusal that lists (a subscriber file's bad rows) as one line, item after item."""
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def refused_status(err: Refused) -> int:
    """A reference nobody knows is 404; every other refusal is the engine's answer to
    this incident as it stands (409)."""
    return 404 if any(p.code in NOT_FOUND for p in err.problems) else 409


def install(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def _refused(request: Request, err: Refused) -> JSONResponse:
        response = problems_response(refused_status(err), err.problems, request)
        wait = retry_after(err)
        if wait is not None:  # a concurrent duplicate: 409, and when to try again
            response.headers["Retry-After"] = str(wait)
        return response

    @app.exception_handler(Unreachable)
    async def _unreachable(request: Request, err: Unreachable) -> JSONResponse:
        return problem(503, str(err), request)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException) -> JSONResponse:
        return problem(err.status_code, str(err.detail), request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return problems_response(422, problems_of(err.errors()), request)
