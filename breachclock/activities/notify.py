"""Telling people, a slice at a time: the campaign's side effects.

One ``advance`` handles every person in a slice of the list who is due: their next
call, their e-mail, or listing them for a letter. Each side effect has its own key
and is recorded in the store together with the person's new progress, so an
``advance`` retried after a crash (or a kill) picks up where it stopped: nobody is
called or mailed twice for one key. The answer is the slice's counts as recorded,
never a sum of what this one attempt did, so nothing is counted twice either.

These run on their own task queue (``breachclock-notifications``), whose workers
limit how many slices run at once and how fast they start: the call centre's
capacity, not the engine's, sets the pace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr

import aiosmtplib
import structlog
from pydantic import BaseModel, Field
from temporalio import activity

from breachclock.activities.calls import CallProvider, CallRequest, heartbeat
from breachclock.activities.mailer import SmtpRelay, smtp_options, stamp
from breachclock.activities.smtp_commit import send_committed
from breachclock.notify.delivery import (
    Call,
    Counts,
    Email,
    Letter,
    Plan,
    Status,
    Wait,
    after_call,
    call_key,
    email_key,
    greeting,
    next_step,
)
from breachclock.notify.notice import (
    IncidentNotice,
    Notice,
    Operator,
    render_notice,
    spoken_notice,
)
from breachclock.notify.subscribers import Subscriber
from breachclock.notify_store import Entry, NotifyStore, Recipient

log = structlog.get_logger(__name__)

RECORD_BATCH = 200
"""Call results written per transaction (or after a second, for slow providers)."""
SMTP_CONNECTIONS = 4
"""E-mails of one slice go out over this many connections at once."""


class SubscriberPage(BaseModel):
    reference: str
    people: list[Subscriber] = Field(max_length=1000)


class Advance(BaseModel):
    """One round over one slice of the list: people with sequence numbers [first, end)."""

    reference: str
    first: int
    end: int
    now: datetime
    """The workflow's time of the round (the later of it and the worker's clock counts)."""
    plan: Plan
    notice: IncidentNotice
    operator: Operator


class SliceReport(BaseModel):
    counts: Counts
    next_due: datetime | None
    """When someone in the slice is next due; None when everyone is done."""


def notice_message(notice: Notice, to: str, sender: str | None = None) -> Message:
    """The notice as a text + HTML e-mail. Built with the email package's compat32 classes:
    about half the CPU of ``EmailMessage`` per message, which is what bounds a campaign's
    e-mail rate on one core.

    ``sender`` is the configured mail-from address (``SmtpRelay.sender``): the notice
    comes from it in the operator's name (``"Example Telecom AB" <…>``; a bare
    ``breachclock@…`` reads as phishing), and replies go to the operator's contact
    address. ``stamp`` keeps that From. Without ``sender``, ``stamp`` sets a bare one.
    The Subject is folded knowing its name: without ``header_name`` the first line was
    left empty ("Subject: " and a fold), and the subject read began with a space."""
    message = MIMEMultipart("alternative")
    message["To"] = to
    if sender is not None:
        address = parseaddr(sender)[1] or sender
        message["From"] = formataddr((notice.sender_name or "", address), charset="utf-8")
    if notice.reply_to is not None:
        message["Reply-To"] = notice.reply_to
    charset = "us-ascii" if notice.subject.isascii() else "utf-8"
    message["Subject"] = Header(notice.subject, charset, header_name="Subject").encode()
    message.attach(MIMEText(notice.text, "plain", "utf-8"))
    message.attach(MIMEText(notice.html, "html", "utf-8"))
    return message


def moment(request: Advance) -> datetime:
    """Now, for recording: the worker's clock, but never before the round's own time
    (under a test server's skipped time the workflow's clock runs ahead)."""
    return max(request.now, datetime.now(UTC))


class NotifyActivities:
    def __init__(self, store: NotifyStore, calls: CallProvider, relay: SmtpRelay) -> None:
        self.store = store
        self.calls = calls
        self.relay = relay

    @activity.defn
    async def store_subscribers(self, page: SubscriberPage) -> int:
        """Take on a page of people; those already on the list are not added again."""
        return await self.store.add(page.reference, page.people)

    @activity.defn
    async def advance(self, request: Advance) -> SliceReport:
        ref = request.reference
        now = moment(request)
        calls: list[tuple[Recipient, int]] = []
        emails: list[Recipient] = []
        for person in await self.store.due(ref, request.first, request.end, now):
            step = next_step(person.progress(), request.plan, now, person.person.time_zone)
            if isinstance(step, Call):
                calls.append((person, step.number))
            elif isinstance(step, Email):
                emails.append(person)
            elif isinstance(step, Letter):
                await self._letter(ref, person, now)
            elif isinstance(step, Wait):
                await self.store.defer(ref, person.person.id, step.until)
        if calls:
            await self._call(request, calls, now)
        if emails:
            await self._mail(request, emails)
        return SliceReport(
            counts=await self.store.counts(ref, request.first, request.end),
            next_due=await self.store.next_due(ref, request.first, request.end),
        )

    async def _call(
        self, request: Advance, calls: Sequence[tuple[Recipient, int]], now: datetime
    ) -> None:
        ref = request.reference
        by_key = {call_key(ref, p.person.id, n): (p, n) for p, n in calls}
        done = await self.store.recorded(list(by_key))
        requests = []
        for key, (person, _) in by_key.items():
            if key in done:
                continue
            language, text = spoken_notice(request.notice, person.person, request.operator)
            requests.append(
                CallRequest(
                    key=key,
                    reference=ref,
                    subscriber_id=person.person.id,
                    name=person.person.name,
                    phone=person.person.phone or "",
                    greeting=greeting(request.operator.name, person.person.name, language.value),
                    notice=text,
                )
            )
        # Results are recorded in batches: a worker dying before a batch is written
        # places those calls again under the same keys, which every provider dedupes
        # (the simulator draws the same outcome, the dialer and the worklist key on it).
        pending: list[Entry] = []
        flushed = time.monotonic()
        async for result in self.calls.place(requests):
            person, number = by_key[result.key]
            at = moment(request)
            status, next_at = after_call(result.outcome, at, request.plan)
            pending.append(
                Entry(
                    ref,
                    person.person.id,
                    result.key,
                    "call",
                    number,
                    result.outcome.value,
                    at,
                    status,
                    next_at,
                    calls_made=number - 1,
                )
            )
            if len(pending) >= RECORD_BATCH or time.monotonic() - flushed > 1:
                await self.store.record_many(pending)
                pending, flushed = [], time.monotonic()
                heartbeat()
        await self.store.record_many(pending)
        log.info("notify.calls", reference=ref, placed=len(requests))

    async def _mail(self, request: Advance, people: Sequence[Recipient]) -> None:
        ref = request.reference
        by_key = {email_key(ref, p.person.id): p for p in people}
        done = await self.store.recorded(list(by_key))
        todo = [(k, p) for k, p in by_key.items() if k not in done]
        shares = [todo[i::SMTP_CONNECTIONS] for i in range(SMTP_CONNECTIONS)]
        await asyncio.gather(*(self._mail_share(request, share) for share in shares if share))
        log.info("notify.emails", reference=ref, sent=len(todo))

    async def _mail_share(self, request: Advance, share: Sequence[tuple[str, Recipient]]) -> None:
        """Send over one connection, each e-mail recorded as the relay is about to take it."""
        smtp = aiosmtplib.SMTP(**smtp_options(self.relay))
        async with smtp:
            for key, person in share:
                await self._mail_one(smtp, request, key, person)
                heartbeat()

    async def _mail_one(
        self, smtp: aiosmtplib.SMTP, request: Advance, key: str, person: Recipient
    ) -> None:
        ref, sid = request.reference, person.person.id
        notice = render_notice(request.notice, person.person, request.operator)
        message = notice_message(notice, person.person.email or "")
        stamp(message, key, self.relay.sender)

        async def record(outcome: str, status: Status) -> bool:
            return await self.store.record(
                ref,
                sid,
                key,
                "email",
                1,
                outcome,
                moment(request),
                status,
                None,
                calls_made=person.calls_made,
                at_once=True,
            )

        async def sent() -> None:
            await record("sent", Status.EMAILED)

        async def refused() -> None:
            # Refused for good (5xx): this person needs a letter.
            if not await record("refused", Status.UNREACHABLE):
                await self.store.settle(ref, sid, key, "refused", Status.UNREACHABLE)

        async def undo() -> None:
            await self.store.undo(ref, sid, key)

        await send_committed(smtp, message, commit=sent, refused=refused, undo=undo)

    async def _letter(self, reference: str, person: Recipient, now: datetime) -> None:
        await self.store.record(
            reference,
            person.person.id,
            f"{reference}:{person.person.id}:letter",
            "letter",
            1,
            "unreachable",
            now,
            Status.UNREACHABLE,
            None,
            calls_made=person.calls_made,
        )
