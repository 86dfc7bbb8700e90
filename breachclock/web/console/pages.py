"""What every console page shares: the templates, the reader's voice (their language,
the operator's zone), the guards that turn "not signed in" and "not allowed" into
pages rather than JSON, and the way an action's answer or refusal comes back.

Every word on a page comes from the one catalogue (``ui.*`` and the domain's own
keys) through a ``Voice``; templates call it as ``t("ui.key")``. A refusal is the
domain's coded ``Problem``, worded in the reader's language and put beside the field
it names (an out-of-band swap into ``#err-<field>``), never the CLI's advice.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from breachclock.domain.catalogue import LANGUAGES, Language, Voice
from breachclock.domain.problems import Problem, Said
from breachclock.service.engine import Refused
from breachclock.web.api import auth_of as auth_of  # the app's one Auth, as the API reads it
from breachclock.web.api import engine_of as engine_of
from breachclock.web.auth import CSRF_FIELD, CSRF_HEADER, Action, Principal

LANGUAGE_COOKIE = "bc_lang"
"""The signed-in person's language, their choice in the header (a year's cookie)."""

TEMPLATES = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
        autoescape=True,  # every value a person typed is escaped
    )
)


def language_of(request: Request) -> Language:
    """The reader's language: their choice, else the operator's setting."""
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    for language in LANGUAGES:
        if chosen == language:
            return language
    default: Language = engine_of(request).settings.web_language
    return default


def voice_of(request: Request) -> Voice:
    settings = engine_of(request).settings
    return Voice(language_of(request), settings.operator_zone, now=datetime.now(UTC))


class Viewer:
    """What a template needs of the signed-in person."""

    def __init__(self, who: Principal) -> None:
        self.name = who.name
        self.role = who.role
        self.may_manage = who.may(Action.MANAGE)
        self.may_respond = who.may(Action.RESPOND)
        self.may_read = who.may(Action.READ)
        self.may_call = who.may(Action.CALL)


class Clock:
    """Times for a template: human words, and the instant itself on hover."""

    def __init__(self, voice: Voice, lead: int) -> None:
        self.voice = voice
        self.lead = lead
        self.now = datetime.now(UTC)

    def at(self, instant: datetime | None) -> Markup:
        """``<time>`` with the human form ("fre 5 dec. 14:03 CET"), the instant in
        UTC as its ``datetime`` and its hover title."""
        if instant is None:
            return Markup("—")
        utc = instant.astimezone(UTC)
        return Markup('<time datetime="{0}" title="{1}">{2}</time>').format(
            utc.isoformat(), self.exact(utc), self.voice("ui.instant", at=utc)
        )

    def exact(self, instant: datetime) -> str:
        """The instant to the second with its offset, for the hover: no words to translate."""
        return instant.astimezone(self.voice.tz).isoformat(sep=" ", timespec="seconds")

    def field(self, instant: datetime | None = None) -> str:
        """An instant (default: now) as a ``datetime-local`` input shows it: the
        operator's wall clock, to the minute."""
        return (instant or self.now).astimezone(self.voice.tz).strftime("%Y-%m-%dT%H:%M")

    def left(self, due: datetime | None) -> Markup:
        """A countdown that the page's script keeps ticking, amber inside the widest
        escalation lead, red once past."""
        if due is None:
            return Markup("")
        utc = due.astimezone(UTC)
        seconds = (utc - self.now).total_seconds()
        kind = "overdue" if seconds < 0 else ("near" if seconds <= self.lead else "")
        return Markup(
            '<time class="countdown {0}" datetime="{1}" title="{2}" data-lead="{3}">{4}</time>'
        ).format(
            kind,
            utc.isoformat(),
            self.exact(utc),
            self.lead,
            self.voice.countdown(utc, self.now),
        )


def lead_seconds(request: Request) -> int:
    leads = engine_of(request).settings.policy().escalation_leads
    return int(max(leads).total_seconds()) if leads else 0


def render(
    request: Request, name: str, who: Principal | None, code: int = 200, **context: Any
) -> HTMLResponse:
    voice = voice_of(request)
    clock = Clock(voice, lead_seconds(request))
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "t": voice,
            "lang": voice.language,
            "languages": LANGUAGES,
            "who": Viewer(who) if who else None,
            "csrf": who.csrf if who else "",
            "clock": clock,
            "zone": voice.tz.key,
            "title": context.pop("title", None),
            **context,
        },
        status_code=code,
    )


# ------------------------------------------------------------------ guards


class Denied(Exception):
    """A page the person may not see or a write they may not make: a page in their
    language (401 sends them to sign in)."""

    def __init__(self, status: int, who: Principal | None = None, forged: bool = False) -> None:
        self.status = status
        self.who = who
        self.forged = forged
        """The write did not carry its session's CSRF token."""


def seen(action: Action, audit: str | None = None) -> Callable[..., Awaitable[Principal]]:
    """A page's guard: signed in, the role allows ``action``, a write carries its
    session's CSRF token; ``audit`` (a catalogue ``audit.*`` code) is logged."""

    async def guard(request: Request) -> Principal:
        auth = auth_of(request)
        who = await auth.principal(request)
        if who is None:
            raise Denied(401)
        if not who.may(action):
            raise Denied(403, who)
        if request.method not in ("GET", "HEAD"):
            sent = request.headers.get(CSRF_HEADER)
            if sent is None and who.csrf is not None:
                field = (await request.form()).get(CSRF_FIELD)
                sent = field if isinstance(field, str) else None
            if not csrf_ok(who, sent):
                raise Denied(403, who, forged=True)
        if audit is not None:
            await auth.record(who, request, audit, request.path_params.get("reference"))
        return who

    return guard


def csrf_ok(who: Principal, sent: str | None) -> bool:
    """A browser's write carries its session's CSRF token (an API token has none)."""
    if who.csrf is None:
        return True
    return sent is not None and hmac.compare_digest(sent, who.csrf)


Reader = Annotated[Principal, Depends(seen(Action.READ))]
ReaderLogged = Annotated[Principal, Depends(seen(Action.READ, "console.read"))]
Responder = Annotated[Principal, Depends(seen(Action.RESPOND, "console.change"))]
Manager = Annotated[Principal, Depends(seen(Action.MANAGE, "console.change"))]
Agent = Annotated[Principal, Depends(seen(Action.CALL))]


def install_denied(app: FastAPI) -> None:
    @app.exception_handler(Denied)
    async def _denied(request: Request, err: Denied) -> Response:
        if err.status == 401:
            if request.headers.get("HX-Request"):
                response = Response(status_code=401)
                response.headers["HX-Redirect"] = "/login"
                return response
            return RedirectResponse("/login", status_code=303)
        return render(
            request, "denied.html", err.who, code=err.status, title="ui.denied", forged=err.forged
        )


# ------------------------------------------------------------------ answers


def field_id(field: str, form: str = "") -> str:
    """The element beside a form field where its refusal goes (``form`` tells apart two
    forms on one page with a field of the same name)."""
    return f"err-{form + '-' if form else ''}" + field.replace(".", "-").replace("_", "-")


def answered(
    request: Request,
    who: Principal,
    message: str | None = None,
    problems: Iterable[Problem] = (),
    fields: Iterable[str] = (),
    form: str = "",
    **context: Any,
) -> HTMLResponse:
    """A form's result fragment: the answer, or each problem beside its field (those
    whose field the form has) and the rest at the form's foot. The fields' old
    refusals are cleared either way."""
    voice = voice_of(request)
    fields = list(fields)
    beside: dict[str, list[str]] = {f: [] for f in fields}
    general: list[str] = []
    for found in problems:
        name = _on_form(found.field, fields)
        (beside[name] if name else general).append(found.words(voice))
    return render(
        request,
        "answer.html",
        who,
        message=message,
        general=general,
        beside=[(field_id(f, form), " ".join(texts)) for f, texts in beside.items()],
        **context,
    )


def _on_form(field: str | None, fields: list[str]) -> str | None:
    """The form's field a problem concerns: its own, or the nearest enclosing one."""
    while field:
        if field in fields:
            return field
        field = field.rpartition(".")[0]
    return None


async def outcome(
    request: Request,
    who: Principal,
    act: Callable[[Voice], Awaitable[str]],
    fields: Iterable[str] = (),
    form: str = "",
) -> HTMLResponse:
    """Run a form's action: its answer in the reader's words, or its refusal."""
    try:
        message = await act(voice_of(request))
    except Refused as err:
        return answered(request, who, problems=err.problems, fields=fields, form=form)
    return answered(request, who, message=message, fields=fields, form=form)


def spoken(answer: Any, voice: Voice) -> str:
    """An update's answer in the reader's language (its English only where it has no
    coded form)."""
    said: Said | None = getattr(answer, "said", None)
    return said.words(voice) if said is not None else str(answer.message)


LOCAL_INPUT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
"""What a ``datetime-local`` input sends: the wall clock, no zone."""


def zoned(request: Request, value: str | None) -> str | None:
    """A time picked on the operator's wall clock, named with the operator's zone (the
    domain reads it there, and refuses a wall-clock time the clocks skip or repeat)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if LOCAL_INPUT.fullmatch(value):
        return f"{value} {engine_of(request).settings.operator_zone}"
    return value


def text_or_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None
