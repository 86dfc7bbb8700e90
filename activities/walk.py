"""A campaign round that walks people through the incident's plan (``Advance.channels``).

The first engine's rounds (``notify.NotifyActivities``) know calls and e-mail by name.
A plan with other channels (an SMS step) runs here instead: each due person is handed
to ``plan_runner.advance`` over the registry of channels, and what it did is written
to the campaign's record (``store.people``) under the same business keys.

Exactly once per person and step holds across retries, a worker killed mid-round and a
round running beside the next run's: every channel sends at most once per key (the SMS
and the e-mail record their key in the send ledger before they send; call providers
dedupe on it), and the record's claim on the key is written once. A try sent but not
yet recorded when the worker died is found by the next round, sent again under its key
(which sends nothing) and recorded then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from activities.api import Advance
from activities.calls import CallChannel, CallProvider, heartbeat
from activities.mailer import Mailer
from activities.notice_mail import EmailChannel
from activities.plan_runner import Channel, Limited, advance, reports, step_key
from activities.sms import SmsChannel, SmsSender
from breachclock.domain.notify.delivery import CallOutcome, Plan, Status, coded
from breachclock.domain.notify.identity import IdentityMethod
from breachclock.domain.notify.plan import (
    EMAIL_RECORDED,
    STATUS_OF,
    Attempt,
    ChannelPlan,
    Delivery,
    Ended,
    Move,
    Wait,
    delivery_of,
)
from breachclock.domain.notify.plan import Channel as ChannelName
from breachclock.domain.problems import said
from breachclock.runtime.store.people import Attempt as Recorded
from breachclock.runtime.store.people import Entry, NotifyStore, Recipient, Walked, letter

REPORT_POLL = (timedelta(seconds=1), timedelta(seconds=30))
"""The shortest and longest wait before a round looks again for a delivery report."""
PEOPLE_AT_ONCE = 64
"""People of one round walked at once (each one's tries stay in order); each channel
takes as many of their tries at once as it says (``Channel.at_once``). Sixteen held an
SMS round to a quarter of the gateway's connections when it had 64: 929 texts a second
against 1,251 with 64, the worker's core three-quarters busy (30,000 people, load 1-2).
With 128 connections, 128 people at once gave 1,325-1,446/s against 1,118-1,306/s with
64 (three alternating pairs, load 4-6): ranges that overlap, so it stays 64."""


class ChannelMissing(RuntimeError):
    """The plan has a step whose channel this worker was not given (no SMS gateway)."""


@dataclass(frozen=True)
class Channels:
    """What the worker can send with; ``registry`` makes a round's channels of it."""

    calls: CallProvider
    methods: tuple[IdentityMethod, ...]
    mailer: Mailer | None = None
    sms: SmsSender | None = None
    agents: CallProvider | None = None
    """The agents' worklist, for a plan that sends its calls there (``Plan.agents``)."""

    def caller(self, plan: Plan) -> CallProvider:
        """Who places a campaign's calls: the agents where its plan says so, else the
        engine's provider."""
        return self.agents if plan.agents and self.agents is not None else self.calls

    def registry(self, request: Advance) -> dict[ChannelName, Channel]:
        """One channel per step of the plan, for this incident's notice and operator."""
        notice, operator = request.notice, request.operator
        made: dict[ChannelName, Channel] = {
            ChannelName.CALL: CallChannel(
                self.caller(request.plan), request.reference, notice, operator, self.methods
            )
        }
        if self.mailer is not None:
            made[ChannelName.EMAIL] = EmailChannel(self.mailer, notice, operator)
        if self.sms is not None and request.sms is not None:
            made[ChannelName.SMS] = SmsChannel(self.sms, request.sms, notice, operator)
        assert request.channels is not None
        for step in request.channels.steps:
            if step.channel is not ChannelName.LETTER and step.channel not in made:
                raise ChannelMissing(f"no {step.channel.value} channel on this worker")
        return made


def on_path(plan: ChannelPlan, tried: Sequence[Recorded]) -> list[Attempt]:
    """A person's recorded tries as the plan reads them, in the order they were made (a
    deferred e-mail or the letter entry is not a try on the path).

    Tries made in one round share its instant, so the order is the plan's: a path only
    ever moves on to later steps, and on one step by attempt number."""
    order = {step.channel: i for i, step in enumerate(plan.steps)}
    path = []
    for a in tried:
        channel = ChannelName(a.channel)
        delivery = delivery_of(channel, a.outcome) if channel is not ChannelName.LETTER else None
        if delivery is None:
            continue
        final = channel is ChannelName.CALL and a.outcome == CallOutcome.INVALID_NUMBER
        path.append(
            Attempt(
                channel=channel,
                number=a.number,
                at=a.at,
                delivery=delivery,
                final_for_channel=final,
            )
        )
    return sorted(path, key=lambda a: (order.get(a.channel, len(order)), a.number))


def recorded_as(attempt: Attempt, calls: CallChannel | None, key: str) -> str:
    """The record's word for a try: a call's own outcome, an e-mail's as it always was."""
    if attempt.channel is ChannelName.CALL and calls is not None and key in calls.results:
        return calls.results[key].outcome.value
    if attempt.channel is ChannelName.EMAIL:
        return EMAIL_RECORDED.get(attempt.delivery, attempt.delivery.value)
    return attempt.delivery.value


class Walk:
    """One round of a plan's campaign over a slice's due people."""

    def __init__(
        self,
        store: NotifyStore,
        request: Advance,
        channels: Mapping[ChannelName, Channel],
        claim: str,
        now: datetime,
    ) -> None:
        assert request.channels is not None
        self.store = store
        self.request = request
        self.plan = request.channels
        self.channels = {name: Limited(channel) for name, channel in channels.items()}
        self.claim = claim
        self.now = now
        call = channels.get(ChannelName.CALL)
        self.calls = call if isinstance(call, CallChannel) else None

    async def round(self, people: Sequence[Recipient]) -> None:
        """Everyone due walked one step on: their tries and the reports on them read for
        the whole round at once, then up to ``PEOPLE_AT_ONCE`` people walked at once."""
        ref = self.request.reference
        recorded = await self.store.attempts_of(ref, [p.person.id for p in people])
        paths = {sid: on_path(self.plan, tried) for sid, tried in recorded.items()}
        known = await reports(self.channels, ref, paths)
        at_once = asyncio.Semaphore(PEOPLE_AT_ONCE)

        async def one(person: Recipient) -> None:
            async with at_once:
                await self.person(person, paths[person.person.id], known)
                heartbeat()

        async with asyncio.TaskGroup() as walking:
            for person in people:
                walking.create_task(one(person))

    async def person(
        self, person: Recipient, before: list[Attempt], known: Mapping[str, Delivery]
    ) -> None:
        """One person's step, written in one transaction (``Walked``)."""
        ref, sid = self.request.reference, person.person.id
        tried, move = await advance(
            self.plan, self.channels, ref, person.person, before, self.now, known
        )
        settled = []
        for old, after in zip(before, tried, strict=False):
            if after.delivery is not old.delivery:
                key = step_key(ref, sid, after.channel, after.number)
                settled.append((key, recorded_as(after, self.calls, key)))
        calls_made = person.calls_made
        entries = []
        for attempt in tried[len(before) :]:
            key = step_key(ref, sid, attempt.channel, attempt.number)
            call = self.calls.results.get(key) if self.calls else None
            entries.append(
                Entry(
                    ref,
                    sid,
                    key,
                    attempt.channel.value,
                    attempt.number,
                    recorded_as(attempt, self.calls, key),
                    attempt.at,
                    Status.PENDING,
                    None,
                    calls_made=calls_made,
                    claim=self.claim,
                    email_failures=person.email_failures,
                    method=call.identified_by if call else None,
                )
            )
            calls_made += attempt.channel is ChannelName.CALL
        moved = person.model_copy(update={"calls_made": calls_made})
        await self.store.walked(self._then(Walked(ref, sid, settled, entries), moved, tried, move))

    def _poll(self, tried: Sequence[Attempt]) -> timedelta:
        """How long until the round looks again for the last try's delivery report: as
        long as it has waited so far, within ``REPORT_POLL`` and a quarter of the plan's
        report window. Most reports come within seconds of the send, so the first looks
        are soon; one that is slow costs a look every 30 s, not one a second."""
        waited = self.now - tried[-1].at if tried else timedelta(0)
        shortest, longest = REPORT_POLL
        return max(shortest, min(waited, longest, self.request.plan.report_within / 4))

    def _then(self, walked: Walked, person: Recipient, tried: list[Attempt], move: Move) -> Walked:
        """``walked`` with where the person goes from here: reached, listed for a letter,
        or waiting."""
        if isinstance(move, Ended) and move.by is not None:
            return replace(walked, reached=STATUS_OF[move.by])
        if isinstance(move, Ended):
            reason = coded(said("letter_reason.plan_ended", count=len(tried)))
            ref = self.request.reference
            return replace(walked, letter=letter(ref, person, self.now, self.claim, reason))
        if isinstance(move, Wait):
            # None: a delivery report is awaited; look again soon (an SMS with none in
            # time is expired at the start of a round).
            return replace(walked, until=move.until or self.now + self._poll(tried))
        return walked
