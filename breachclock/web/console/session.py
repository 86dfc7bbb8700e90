"""Signing in and out, and the reader's choice of language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from breachclock.domain.catalogue import LANGUAGES
from breachclock.service.signin import Throttled
from breachclock.web.auth import SESSION_COOKIE, Role
from breachclock.web.console.pages import (
    LANGUAGE_COOKIE,
    Denied,
    auth_of,
    csrf_ok,
    engine_of,
    render,
)

router = APIRouter(include_in_schema=False)

YEAR = 365 * 24 * 3600


@router.get("/favicon.ico")
async def favicon() -> Response:
    return Response(status_code=204)  # no icon, and no 404 in every browser's console


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None, title="ui.sign_in")


@router.post("/login")
async def login(
    request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()]
) -> Response:
    auth = auth_of(request)
    try:
        session = await auth.sign_in(request, name, password)
    except Throttled as locked:
        page = render(
            request, "login.html", None, code=429, wait=locked.retry_after, title="ui.sign_in"
        )
        page.headers["Retry-After"] = str(locked.retry_after)
        return page
    if session is None:
        return render(request, "login.html", None, code=401, failed=True, title="ui.sign_in")
    account = await auth.store.account(name)
    home = "/calls" if account is not None and account.role == Role.AGENT else "/"
    response = RedirectResponse(home, status_code=303)
    set_session(request, response, session[0])
    return response


def set_session(request: Request, response: Response, secret: str) -> None:
    settings = engine_of(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        secure=not settings.web_insecure_cookies,
        samesite="strict",
        path="/",
    )


@router.post("/logout")
async def logout(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
    auth = auth_of(request)
    who = await auth.principal(request)
    if who is not None:
        if not csrf_ok(who, csrf):
            raise Denied(403, who, forged=True)
        await auth.sign_out(request, who, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
async def choose_language(
    request: Request,
    language: Annotated[str, Form(max_length=8)],
    csrf: Annotated[str | None, Form()] = None,
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """The language of every page from now on, for this browser (signed in or not: the
    sign-in page is read before anyone is known)."""
    who = await auth_of(request).principal(request)
    if who is not None and not csrf_ok(who, csrf):
        raise Denied(403, who, forged=True)
    here = back.startswith("/") and not back.startswith(("//", "/\\"))
    response = RedirectResponse(back if here else "/", status_code=303)
    if language in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=YEAR, samesite="strict", path="/", httponly=True
        )
    return response
