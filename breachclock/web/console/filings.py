"""A filing as it was sent: the mail (its headers and text), its JSON and its PDF, each
the bytes that went to the regulator, and the whole message to download; a filing
sent before copies were kept says so."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from breachclock.service.engine import Refused
from breachclock.service.filings import sent_filing
from breachclock.web.auth import Principal
from breachclock.web.console.pages import ReaderLogged, engine_of, render, voice_of

router = APIRouter(include_in_schema=False)

Number = Annotated[int, Path(ge=1, le=10_000)]

TYPES = {"pdf": "application/pdf", "json": "application/json", "eml": "message/rfc822"}


@router.get("/incidents/{reference}/filings/{number}")
async def filing_page(
    request: Request, reference: str, number: Number, who: ReaderLogged
) -> HTMLResponse:
    try:
        sent = await sent_filing(engine_of(request), reference, number)
    except Refused as err:
        return refused(request, who, err)
    return render(
        request,
        "filing.html",
        who,
        title=reference,
        nav="register",
        reference=reference,
        sent=sent,
    )


@router.get("/incidents/{reference}/filings/{number}/sent.{kind}")
async def filing_download(
    request: Request,
    reference: str,
    number: Number,
    kind: Literal["pdf", "json", "eml"],
    who: ReaderLogged,
) -> Response:
    """One part of the mail as sent, or the whole message, byte for byte."""
    try:
        sent = await sent_filing(engine_of(request), reference, number)
    except Refused as err:
        return refused(request, who, err)
    part = {"pdf": sent.pdf, "json": sent.json}.get(kind)
    content = sent.raw if kind == "eml" else part.content if part else None
    if content is None:  # no copy kept: the page says so
        return render(request, "filing.html", who, code=404, title=reference, sent=sent)
    name = part.filename if part else f"{reference}-{number}.eml"
    return Response(
        content,
        media_type=TYPES[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def refused(request: Request, who: Principal, err: Refused) -> HTMLResponse:
    """No such incident or filing: a page that says so in the reader's words."""
    words = " ".join(p.words(voice_of(request)) for p in err.problems)
    return render(request, "filing.html", who, code=404, title="ui.filing_as_sent", refused=words)
