"""Errors as RFC 9457 problem details, with the validator's one line as ``detail``."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from breachclock.service.engine import Refused, Unreachable

NOT_FOUND_PREFIXES = ("no incident ", "no open incident ", "no call ")

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


def problem(status: int, detail: str, request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "type": "about:blank",
            "title": TITLES.get(status, "Error"),
            "status": status,
            "detail": detail,
            "instance": request.url.path,
        },
        status_code=status,
        media_type="application/problem+json",
    )


def one_line(text: str) -> str:
    """A refusal that lists (a subscriber file's bad rows) as one line, item after item."""
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def refused_status(err: Refused) -> int:
    """A reference nobody knows is 404; every other refusal is the engine's answer to
    this incident as it stands (409)."""
    return 404 if str(err).startswith(NOT_FOUND_PREFIXES) else 409


def install(app: FastAPI) -> None:
    @app.exception_handler(Refused)
    async def _refused(request: Request, err: Refused) -> JSONResponse:
        return problem(refused_status(err), one_line(str(err)), request)

    @app.exception_handler(Unreachable)
    async def _unreachable(request: Request, err: Unreachable) -> JSONResponse:
        return problem(503, str(err), request)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException) -> JSONResponse:
        return problem(err.status_code, str(err.detail), request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        return problem(422, _one_line(err), request)


def _one_line(err: RequestValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path"))
        parts.append(f"{where}: {e['msg']}" if where else str(e["msg"]))
    return "; ".join(parts)
