"""Telling people, a slice at a time: the campaign's side effects.

One ``advance`` handles every person in a slice of the list who is due: their next
call, their e-mail, or listing them for a letter. Each side effect has its own key,
claimed in the store together with the person's new progress (``store.people``), so
an ``advance`` retried after a crash, or running twice at once, never calls or mails
anyone twice for one key. The answer is the slice's counts as recorded, never a sum
of what this one attempt did, so nothing is counted twice either.

What one person's e-mail meets stays with that person: a relay that refuses one
address for good lists that person for a letter with the reason, one that says
"try later" defers them (a few times, then a letter), and the round goes on with the
rest. Only a fault of the relay itself (it cannot be reached, it drops us) fails
the round; the other connections of the round are then stopped and awaited before
it fails, so nothing of a failed attempt keeps sending while Temporal retries it.

A campaign that walks a plan other than calls then e-mail (an SMS step) hands its
rounds to ``walk`` instead: the same slices, keys and record, each person one step
further along the plan through the channel registry.

These run on their own task queue (``<incidents queue>-notifications``), whose workers
limit how many slices run at once and how fast they start: the call centre's
capacity, not the engine's, sets the pace.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import aiosmtplib
import structlog
from temporalio import activity

from activities.api import (
    ADVANCE,
    GIVE_UP,
    LOAD_SUBSCRIBERS,
    Advance,
    GiveUp,
    LoadPage,
    SliceReport,
)
from activities.calls import AgentWorklist, CallProvider, call_request, heartbeat
from activities.mailer import Mailer, SmtpRelay, smtp_options
from activities.notice_mail import notice_wire
from activities.sms import SmsSender
from activities.smtp_commit import (
    Deferred,
    Delivered,
    LostClaim,
    Refused,
    Unconfirmed,
    send_committed,
)
from activities.walk import Channels, Walk
from breachclock.domain.notify.delivery import (
    Call,
    Email,
    Letter,
    Status,
    Wait,
    after_call,
    after_deferral,
    call_key,
    deferral_key,
    email_key,
    letter_reason,
    next_step,
)
from breachclock.domain.notify.identity import ALL_METHODS, IdentityMethod
from breachclock.domain.notify.notice import (
    render_notice,
)
from breachclock.domain.notify.subscribers import LoadOutcome
from breachclock.runtime.store.people import Entry, NotifyStore, Recipient, letter

log = structlog.get_logger(__name__)

RECORD_BATCH = 200
"""Call results written per transaction (or after a second, for slow providers)."""
SMTP_CONNECTIONS = 4
"""E-mails of one slice go out over this many connections at once."""


def moment(now: datetime) -> datetime:
    """Now, for recording: the worker's clock, but never before the round's own time
    (under a test server's skipped time the workflow's clock runs ahead)."""
    return max(now, datetime.now(UTC))


def claim_token() -> str:
    """Names this attempt of a round in the keys it claims (see ``store.people``)."""
    if activity.in_activity():
        info = activity.info()
        return f"{info.workflow_run_id}:{info.activity_id}:{info.attempt}:{uuid.uuid4().hex[:8]}"
    return uuid.uuid4().hex


class NotifyActivities:
    def __init__(
        self,
        store: NotifyStore,
        calls: CallProvider,
        relay: SmtpRelay,
        methods: Sequence[IdentityMethod] = ALL_METHODS,
        mailer: Mailer | None = None,
        sms: SmsSender | None = None,
    ) -> None:
        self.store = store
        self.relay = relay
        self.methods = tuple(methods)
        """How a called person may prove who they are (every call request says so)."""
        self.channels = Channels(calls, self.methods, mailer, sms, agents=AgentWorklist(store))
        """What a plan's rounds send with (``walk``)."""

    @activity.defn(name=LOAD_SUBSCRIBERS)
    async def load_subscribers(self, page: LoadPage) -> LoadOutcome:
        """Take on a staged page; asked again (a retry), it answers as the first time did."""
        return await self.store.load(page.reference, page.page_key)

    @activity.defn(name=ADVANCE)
    async def advance(self, request: Advance) -> SliceReport:
        ref = request.reference
        claim = claim_token()
        now = moment(request.now)
        if request.channels is not None:
            return await self._walk(request, claim, now)
        calls: list[tuple[Recipient, int]] = []
        emails: list[Recipient] = []
        letters: list[Entry] = []
        waits: list[tuple[str, datetime]] = []
        for person in await self.store.due(ref, request.first, request.end, now):
            step = next_step(person.progress(), request.plan, now, person.person.time_zone)
            if isinstance(step, Call):
                calls.append((person, step.number))
            elif isinstance(step, Email):
                emails.append(person)
            elif isinstance(step, Letter):
                letters.append(letter(ref, person, now, claim, letter_reason(person.progress())))
            elif isinstance(step, Wait):
                waits.append((person.person.id, step.until))
        await self.store.defer(ref, waits)
        await self.store.record_many(letters)
        heartbeat()
        if calls:
            await self._call(request, calls, claim)
        if emails:
            await self._mail(request, emails, claim)
        return await self._report(ref, request.first, request.end, request.now)

    async def _walk(self, request: Advance, claim: str, now: datetime) -> SliceReport:
        """A round of a plan's campaign: each due person one step further (``walk``)."""
        channels = self.channels.registry(request)
        if self.channels.sms is not None:
            reports = self.channels.sms.deliveries
            await reports.expire(now - request.plan.report_within, now)
        due = await self.store.due(request.reference, request.first, request.end, now)
        await Walk(self.store, request, channels, claim, now).round(due)
        return await self._report(request.reference, request.first, request.end, request.now)

    @activity.defn(name=GIVE_UP)
    async def give_up(self, request: GiveUp) -> SliceReport:
        """Everyone still pending in the slice is listed for a letter, with the reason."""
        claim = claim_token()
        pending = await self.store.due(request.reference, request.first, request.end, _FAR)
        await self.store.record_many(
            [letter(request.reference, p, request.now, claim, request.reason) for p in pending]
        )
        return await self._report(request.reference, request.first, request.end, request.now)

    async def _report(self, ref: str, first: int, end: int, started: datetime) -> SliceReport:
        return SliceReport(
            counts=await self.store.counts(ref, first, end),
            next_due=await self.store.next_due(ref, first, end),
            at=moment(started),
        )

    async def _call(
        self, request: Advance, calls: Sequence[tuple[Recipient, int]], claim: str
    ) -> None:
        ref = request.reference
        by_key = {call_key(ref, p.person.id, n): (p, n) for p, n in calls}
        done = await self.store.recorded(list(by_key))
        requests = []
        for key, (person, _) in by_key.items():
            if key in done:
                continue
            requests.append(
                call_request(
                    key, ref, person.person, request.notice, request.operator, self.methods
                )
            )
        # Results are recorded in batches: a worker dying before a batch is written
        # places those calls again under the same keys, which every provider dedupes
        # (the simulator draws the same outcome, the dialer and the worklist key on it).
        # A person whose call leaves nothing to wait for (the number is not in use) is
        # taken on at once, by their own outcome: their e-mail goes while the slice's
        # other calls are still out (with agents, that can be hours), in batches.
        pending: list[Entry] = []
        at_once: list[str] = []
        flushed = time.monotonic()
        async with asyncio.TaskGroup() as follow_ups:
            async for result in self.channels.caller(request.plan).place(requests):
                person, number = by_key[result.key]
                at = moment(request.now)
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
                        claim=claim,
                        email_failures=person.email_failures,
                        method=result.identified_by,
                    )
                )
                if status is Status.PENDING and next_at is None:
                    at_once.append(person.person.id)
                if len(pending) >= RECORD_BATCH or time.monotonic() - flushed > 1:
                    await self.store.record_many(pending)
                    if at_once:
                        follow_ups.create_task(self._follow_up(request, at_once, claim))
                    pending, at_once, flushed = [], [], time.monotonic()
                    heartbeat()
            await self.store.record_many(pending)
            if at_once:
                follow_ups.create_task(self._follow_up(request, at_once, claim))
        log.info("notify.calls", reference=ref, placed=len(requests))

    async def _follow_up(self, request: Advance, subscriber_ids: Sequence[str], claim: str) -> None:
        """The next step of people whose call outcome leaves no wait: the e-mail, or the
        letter list (under the keys a later round would use: it finds them done)."""
        ref, now = request.reference, moment(request.now)
        emails: list[Recipient] = []
        letters: list[Entry] = []
        for subscriber_id in subscriber_ids:
            person = await self.store.person(ref, subscriber_id)
            if person is None or person.status is not Status.PENDING:
                continue
            step = next_step(person.progress(), request.plan, now, person.person.time_zone)
            if isinstance(step, Email):
                emails.append(person)
            elif isinstance(step, Letter):
                letters.append(letter(ref, person, now, claim, letter_reason(person.progress())))
        await self.store.record_many(letters)
        if emails:
            await self._mail(request, emails, claim)

    async def _mail(self, request: Advance, people: Sequence[Recipient], claim: str) -> None:
        ref = request.reference
        by_key = {email_key(ref, p.person.id): p for p in people}
        done = await self.store.recorded(list(by_key))
        todo = [(k, p) for k, p in by_key.items() if k not in done]
        shares = [todo[i::SMTP_CONNECTIONS] for i in range(SMTP_CONNECTIONS)]
        try:
            # One share failing stops and awaits the others before the round fails.
            async with asyncio.TaskGroup() as shares_running:
                for share in shares:
                    if share:
                        shares_running.create_task(self._mail_share(request, share, claim))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from failed
        log.info("notify.emails", reference=ref, tried=len(todo))

    async def _mail_share(
        self, request: Advance, share: Sequence[tuple[str, Recipient]], claim: str
    ) -> None:
        """Send over one connection (a new one after a lost claim dropped it)."""
        smtp = aiosmtplib.SMTP(**smtp_options(self.relay))
        try:
            for key, person in share:
                if not smtp.is_connected:
                    await smtp.connect()
                await self._mail_one(smtp, request, key, person, claim)
                heartbeat()
        finally:
            if smtp.is_connected:
                smtp.close()

    async def _mail_one(
        self,
        smtp: aiosmtplib.SMTP,
        request: Advance,
        key: str,
        person: Recipient,
        claim: str,
    ) -> None:
        ref, sid = request.reference, person.person.id
        notice = render_notice(request.notice, person.person, request.operator)
        address = person.person.email or ""
        data = notice_wire(notice, address, self.relay.sender, key)
        sent = Entry(
            ref,
            sid,
            key,
            "email",
            1,
            "sent",
            moment(request.now),
            Status.EMAILED,
            None,
            calls_made=person.calls_made,
            claim=claim,
            email_failures=person.email_failures,
        )

        async def commit() -> bool:
            return await self.store.record(sent, at_once=True)

        outcome = await send_committed(smtp, data, self.relay.sender, address, commit)
        if isinstance(outcome, Delivered | LostClaim):
            return
        if isinstance(outcome, Unconfirmed):
            await self.store.unconfirmed(sent, outcome.reason)
            return
        if outcome.claimed:
            if isinstance(outcome, Refused):
                await self.store.refused_after_data(sent, "refused", outcome.reason)
                return
            await self.store.undo(sent)
        if isinstance(outcome, Refused):
            await self.store.record(letter(ref, person, sent.at, claim, outcome.reason))
            return
        await self._deferred(request, person, claim, outcome)

    async def _deferred(
        self, request: Advance, person: Recipient, claim: str, outcome: Deferred
    ) -> None:
        """The relay said "try later" to this person's e-mail: later, or at last a letter."""
        ref, sid = request.reference, person.person.id
        at = moment(request.now)
        number = person.email_failures + 1
        status, next_at, reason = after_deferral(number, at, request.plan, outcome.reason)
        await self.store.record(
            Entry(
                ref,
                sid,
                deferral_key(ref, sid, number),
                "email",
                number,
                "deferred",
                at,
                status,
                next_at,
                calls_made=person.calls_made,
                claim=claim,
                reason=reason,
                detail=outcome.reason,
                email_failures=person.email_failures,
                deferral=True,
            )
        )


_FAR = datetime.max.replace(tzinfo=UTC)
"""Due by then: every pending person, whatever they wait for."""
