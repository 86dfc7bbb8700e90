"""Telling the people affected: the assessment, the list of people (an upload), the
notice, the decision, a regulator's order; one person's record and the unreachable, and
their letters: print batches, the print file, posted, returned."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.model import NoticeOrder
from breachclock.domain.notify.assessment import Assessment, Decision, Recommendation
from breachclock.domain.notify.letters import Posting, Returned
from breachclock.domain.notify.notice import IncidentNotice
from breachclock.runtime.store.people import Recipient
from breachclock.service import letters, notification
from breachclock.web.api.common import (
    IdempotencyKey,
    Manager,
    Message,
    Reader,
    body_of,
    engine_of,
    keyed,
    parse,
    request_model,
)
from breachclock.web.limits import private_pdf, too_large
from breachclock.web.problems import REFUSALS, language_of

router = APIRouter(tags=["people"], responses=REFUSALS)

NoticeRequest = request_model(IncidentNotice, "reference", "regime")
DecisionRequest = request_model(Decision, "decided_by")
OrderRequest = request_model(NoticeOrder, "recorded_by")


class LoadAnswer(BaseModel):
    read: int
    rejected: int
    summary: notification.LoadSummary


@router.post("/incidents/{reference}/assessment", response_model=Recommendation)
async def assess_route(
    request: Request,
    reference: str,
    who: Manager,
    body: Assessment,
    key: IdempotencyKey = None,
) -> Recommendation:
    """Each factor of the risk to the people affected: the recommendation and its reasons."""
    async with keyed(request, key) as engine:
        return await notification.assess(engine, reference, await parse(request, Assessment))


SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def list_name(given: str | None, kind: str) -> str:
    """The upload's file name as its source is recorded: letters, digits, ``._-`` only,
    and ending as its kind (``.csv``, ``.jsonl``) says, whatever the client sent."""
    stem = SAFE_NAME.sub("_", Path(given or "").stem).strip("._")[:80] or "subscribers"
    suffix = Path(given or "").suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        suffix = ".jsonl" if "ndjson" in kind else ".csv"
    return stem + suffix


async def streamed(request: Request, name: str, limit: int) -> AsyncIterator[Path]:
    """The request body streamed to an owner-only file, refused past ``limit`` bytes."""
    folder = tempfile.mkdtemp(prefix="breachclock-upload-")
    path = Path(folder) / name
    try:
        size = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                out.write(chunk)
        yield path
    finally:
        path.unlink(missing_ok=True)
        os.rmdir(folder)


async def upload(
    request: Request,
    name: Annotated[
        str | None,
        Query(max_length=255, description="The file's name: FILE.csv or FILE.jsonl."),
    ] = None,
) -> AsyncIterator[Path]:
    kind = request.headers.get("content-type", "")
    async for path in streamed(request, list_name(name, kind), request.app.state.upload_limit):
        yield path


@router.put(
    "/incidents/{reference}/subscribers",
    response_model=LoadAnswer,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
            "description": "The affected list as the CLI reads it (CSV or JSONL).",
        }
    },
)
async def subscribers_route(
    request: Request,
    reference: str,
    who: Manager,
    path: Annotated[Path, Depends(upload)],
    skip_invalid: bool = False,
    delimiter: Annotated[str | None, Query(min_length=1, max_length=1)] = None,
) -> LoadAnswer:
    read, summary = await notification.load(
        engine_of(request), reference, path, skip_invalid, delimiter
    )
    return LoadAnswer(read=len(read.subscribers), rejected=len(read.rejected), summary=summary)


@router.put("/incidents/{reference}/notice", response_model=Message)
async def notice_route(
    request: Request,
    reference: str,
    who: Manager,
    body: NoticeRequest,  # type: ignore[valid-type]
    key: IdempotencyKey = None,
) -> Message:
    """The notice's passages, as each person will get them."""
    async with keyed(request, key) as engine:
        answer = await notification.set_notice(engine, reference, await body_of(request))
        return Message.of(answer, request)


@router.post("/incidents/{reference}/decision", response_model=Message)
async def decide_route(
    request: Request,
    reference: str,
    who: Manager,
    body: DecisionRequest,  # type: ignore[valid-type]
    key: IdempotencyKey = None,
) -> Message:
    """Notify the people affected, or not (with the art. 4 ground)."""
    async with keyed(request, key) as engine:
        decision = {**await body_of(request), "decided_by": who.name}
        return Message.of(await notification.decide(engine, reference, **decision), request)


@router.post("/incidents/{reference}/order", response_model=Message)
async def order_route(
    request: Request,
    reference: str,
    who: Manager,
    body: OrderRequest,  # type: ignore[valid-type]
    key: IdempotencyKey = None,
) -> Message:
    """A regulator ordered the people told (``by``: the regulator)."""
    async with keyed(request, key) as engine:
        order = await parse(request, NoticeOrder, recorded_by=who.name)
        return Message.of(await notification.order(engine, reference, order), request)


@router.get("/incidents/{reference}/people/{subscriber_id}", response_model=notification.PersonView)
async def person_route(
    request: Request, reference: str, subscriber_id: str, who: Reader
) -> notification.PersonView:
    return await notification.person(engine_of(request), reference, subscriber_id)


@router.get("/incidents/{reference}/unreachable", response_model=list[Recipient])
async def unreachable_route(request: Request, reference: str, who: Reader) -> list[Recipient]:
    return await notification.unreachable(
        engine_of(request), reference, Voice(language_of(request))
    )


# -------------------------------------------------------------- letters

LETTERS = "/incidents/{reference}/letters"


@router.get(LETTERS, response_model=letters.LettersView)
async def letters_route(request: Request, reference: str, who: Reader) -> letters.LettersView:
    """The print batches and where they stand; who cannot be sent a letter (no address)."""
    return await letters.view(engine_of(request), reference)


@router.post(f"{LETTERS}/batches", response_model=letters.Made)
async def batch_route(
    request: Request, reference: str, who: Manager, key: IdempotencyKey = None
) -> letters.Made:
    """A print batch of everyone listed for a letter with a postal address and in no
    batch yet (``batch`` null: nobody was left to print)."""
    async with keyed(request, key) as engine:
        return await letters.make_batch(engine, reference, who.name)


@router.get(
    f"{LETTERS}/batches/{{batch}}/letters.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def print_route(request: Request, reference: str, batch: str, who: Manager) -> Response:
    """The batch's print file: its list, then one letter a person (made now, not kept)."""
    pdf = await letters.print_file(
        engine_of(request), reference, batch[:40], Voice(language_of(request))
    )
    return private_pdf(pdf, f"{reference}-letters.pdf")


@router.post(f"{LETTERS}/batches/{{batch}}/posted", response_model=letters.Posted)
async def posted_route(
    request: Request,
    reference: str,
    batch: str,
    who: Manager,
    body: Posting,
    key: IdempotencyKey = None,
) -> letters.Posted:
    """The batch went to the post at ``posted_at``: one posted record per letter."""
    async with keyed(request, key) as engine:
        posting = await parse(request, Posting)
        return await letters.record_posted(
            engine, reference, batch[:40], posting.posted_at, who.name
        )


@router.post(f"{LETTERS}/returned", response_model=Message)
async def returned_route(
    request: Request, reference: str, who: Manager, body: Returned, key: IdempotencyKey = None
) -> Message:
    """A posted letter came back undelivered: the person counts as not reached."""
    async with keyed(request, key) as engine:
        back = await parse(request, Returned)
        new = await letters.record_returned(engine, reference, back.subscriber, who.name)
        code = "ui.letters_returned_recorded" if new else "ui.letters_returned_already"
        words = Voice(language_of(request))(code, subscriber=back.subscriber)
        return Message(message=words, code=code)
