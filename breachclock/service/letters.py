"""Letters for the people no call, SMS or e-mail reached: print batches, their print
file, recording them as posted (or a letter as returned), and the counts the incident
learns for its report (``domain.notify.letters``).

The print file is made on request from the store and handed to the caller: it never
enters Temporal or a log, and is not kept. The incident learns only counts.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from pydantic import BaseModel

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident import checks
from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.notice_fact import operator_for
from breachclock.domain.notify.letters import (
    Letters,
    letters_problems,
    posted_key,
    posting_problems,
    returned_key,
)
from breachclock.domain.notify.notice import render_notice
from breachclock.domain.problems import problem
from breachclock.runtime import offload
from breachclock.runtime.store.people import Batch, NotifyStore, Recipient
from breachclock.service.engine import REQUESTED_KEY, Engine, Invalid, Refused, content_update_id
from workflows.incident import IncidentWorkflow
from workflows.messages import Answer


class LettersView(BaseModel):
    """Where the incident's letters stand."""

    batches: list[Batch]
    waiting: int
    """Listed for a letter, with a postal address, in no batch yet."""
    no_address: list[str]
    """The subscriber ids of those listed with no postal address: no letter can go."""
    posted: int
    returned: int


class Made(BaseModel):
    batch: Batch | None
    """None: nobody was left to print."""
    no_address: int


class Posted(BaseModel):
    batch: Batch
    new: int
    """Posted records new with this call (0: recorded before, nothing changed)."""


def batch_id(reference: str) -> str:
    """A new batch's id: from the caller's idempotency key when there is one (a retried
    request names the batch it made), else fresh."""
    key = REQUESTED_KEY.get()
    if key is None:
        return uuid.uuid4().hex[:16]
    return hashlib.sha256(f"batch\0{reference}\0{key}".encode()).hexdigest()[:16]


async def view(engine: Engine, reference: str) -> LettersView:
    async with engine.people() as store:
        listed = await store.unreachable(reference)
        batches = await store.batches(reference)
        record = await store.letters(reference)
    return LettersView(
        batches=batches,
        waiting=sum(1 for r in listed if r.batch is None and r.person.postal_address),
        no_address=[r.person.id for r in listed if not r.person.postal_address],
        posted=record.posted,
        returned=record.returned,
    )


async def open_with_campaign(engine: Engine, reference: str) -> None:
    """Refuse, before the record changes, what the incident would refuse to count: a
    closed incident, or one no campaign has listed anyone for (an unknown one by name)."""
    state = await engine.state(reference)
    found = [checks.open_problem(state), *letters_problems(Letters(), state.notification.told)]
    if any(found):
        raise Refused(*filter(None, found))


async def make_batch(engine: Engine, reference: str, by: str) -> Made:
    """A print batch of everyone listed for a letter, with a postal address, in no batch
    yet. Two made at once hold each person once; a retried request (its key) answers
    with the batch it made."""
    await open_with_campaign(engine, reference)
    bid = batch_id(reference)
    async with engine.people() as store:
        made = {b.id: b for b in await store.batches(reference)}.get(bid)
        listed = await store.unreachable(reference)
        if made is None:
            addressed = [r.person.id for r in listed if r.person.postal_address]
            await store.make_batch(reference, bid, addressed, datetime.now(UTC), by)
            made = {b.id: b for b in await store.batches(reference)}.get(bid)
    no_address = sum(1 for r in listed if not r.person.postal_address)
    await tell_incident(engine, reference)
    return Made(batch=made, no_address=no_address)


async def _batch(store: NotifyStore, reference: str, bid: str) -> Batch:
    found = {b.id: b for b in await store.batches(reference)}.get(bid)
    if found is None:
        raise Refused.of("letters.batch_unknown", "batch", reference=reference, batch=bid)
    return found


async def number_of(engine: Engine, reference: str, bid: str) -> int:
    """A batch's number (where a form about it shows its answers); 0 for none such."""
    async with engine.people() as store:
        found = {b.id: b for b in await store.batches(reference)}.get(bid)
    return found.number if found else 0


async def print_file(engine: Engine, reference: str, bid: str, voice: Voice) -> bytes:
    """The batch's print file: its list (in ``voice``'s language), then a letter a person,
    the notice's e-mail text in the person's language."""
    state = await engine.state(reference)
    async with engine.people() as store:
        batch = await _batch(store, reference, bid)
        people = await store.in_batch(reference, bid)
    return await offload.in_thread(_render, state, batch, people, voice)


def _render(state: IncidentState, batch: Batch, people: list[Recipient], t: Voice) -> bytes:
    # ReportLab is imported where a print file is made, not by every CLI call that
    # imports this module (tests/runtime/test_start_imports.py).
    from breachclock.domain.incident.pdf import BatchList, Letter, render_letters

    notice = state.notification.notice
    if notice is None:
        raise Refused.of("letters.no_campaign")
    operator = operator_for(state.policy)
    letters = []
    for r in people:
        mail = render_notice(notice, r.person, operator)
        address = "\n".join(filter(None, [r.person.name, r.person.postal_address]))
        letters.append(Letter(address=address, subject=mail.subject, text=mail.text))
    listing = BatchList(
        title=t(
            "letter.list_title", number=batch.number, reference=state.reference, count=batch.people
        ),
        made=t("letter.made", at=batch.made_at, by=batch.made_by),
        columns=(t("ui.subscriber_id"), t("ui.name"), t("ui.postal_address")),
        rows=[
            (r.person.id, r.person.name or "", r.person.postal_address_line or "") for r in people
        ],
    )
    return render_letters(listing, letters, t.language, batch.made_at)


async def record_posted(engine: Engine, reference: str, bid: str, at: datetime, by: str) -> Posted:
    """The batch went to the post ``at``: each person in it gets one posted record.
    Recorded again, or twice at once, nothing changes twice."""
    await open_with_campaign(engine, reference)
    now = datetime.now(UTC)
    found = posting_problems(at, now)
    async with engine.people() as store:
        batch = await _batch(store, reference, bid)
        # A time typed to the minute (the console's field) may be the batch's own minute.
        if not found and at < batch.made_at.replace(second=0, microsecond=0):
            found.append(problem("letters.posted_before_batch", "posted_at", made=batch.made_at))
        if found:
            raise Invalid(*found)
        new = await store.post(reference, bid, at, by, now)
        batch = await _batch(store, reference, bid)
    await tell_incident(engine, reference)
    return Posted(batch=batch, new=new)


async def record_returned(engine: Engine, reference: str, subscriber_id: str, by: str) -> bool:
    """A posted letter came back undelivered: that person counts as not reached. False
    when it was recorded before."""
    await open_with_campaign(engine, reference)
    async with engine.people() as store:
        done = await store.returned(
            reference,
            subscriber_id,
            returned_key(reference, subscriber_id),
            posted_key(reference, subscriber_id),
            datetime.now(UTC),
            by,
        )
    if done is None:
        raise Refused.of("letters.not_posted", "subscriber", subscriber=subscriber_id)
    await tell_incident(engine, reference)
    return done


async def counts(engine: Engine, reference: str) -> Letters:
    """The letters' counts from the store: what the incident's report states."""
    async with engine.people() as store:
        record = await store.letters(reference)
        listed = await store.unreachable(reference)
    return Letters(
        posted=record.posted,
        returned=record.returned,
        no_address=sum(1 for r in listed if not r.person.postal_address),
        first_posted=record.first_posted,
        last_posted=record.last_posted,
    )


async def tell_incident(engine: Engine, reference: str) -> Answer:
    """Send the incident the letters' counts as they stand (the same counts again are
    the same update; counts sent at once leave the larger)."""
    letters = await counts(engine, reference)
    name = IncidentWorkflow.record_letters
    answer: Answer = await engine.update(
        reference, name, letters, update_id=content_update_id(name, reference, letters)
    )
    return answer
