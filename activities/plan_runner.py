"""Walking one person along a notification plan: the channels as one registry.

``advance`` is what a campaign slice does for each person who is due: it asks the
plan (``domain.notify.plan.next_move``) what comes next, hands a try to the channel
registered for it, and records the attempt, until the person must wait (spacing,
calling hours, a delivery report) or their path has ended. It knows no channel by
name: a channel is anything with ``send`` and ``status`` (``Channel`` below) under a
``ChannelName`` in the registry, so adding one is its module, its texts and its line in
the registry.

Every try has a business key (``step_key``, the same keys the engine has always used
for calls, e-mails and letters), and each channel sends once per key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from breachclock.domain.notify.delivery import call_key, email_key, letter_key
from breachclock.domain.notify.plan import (
    FINAL,
    Attempt,
    ChannelPlan,
    Contact,
    Delivery,
    Move,
    Try,
    Wait,
    next_move,
)
from breachclock.domain.notify.plan import Channel as ChannelName
from breachclock.domain.notify.subscribers import Subscriber


def step_key(reference: str, person: str, channel: ChannelName, number: int) -> str:
    """The business key of one try; a call's, an e-mail's and a letter's as before."""
    if channel is ChannelName.CALL:
        return call_key(reference, person, number)
    if channel is ChannelName.EMAIL and number == 1:
        return email_key(reference, person)
    if channel is ChannelName.LETTER:
        return letter_key(reference, person)
    return f"{reference}:{person}:{channel.value}:{number}"


class Channel(Protocol):
    at_once: int
    """The most tries this channel makes at once in one round: its gateway's
    connections, the relay's, the lines (``Limited`` holds a round to it)."""

    async def send(self, key: str, person: Subscriber) -> Delivery:
        """Try ``person`` once under ``key`` (nothing is sent for a key sent before);
        how it stands now."""
        ...

    async def status(self, key: str) -> Delivery | None:
        """How the try under ``key`` stands now (None: never tried)."""
        ...


class Limited:
    """A round's channel that makes at most its ``at_once`` tries at once: a round walks
    many people at once, and each channel's own limit, not the round's, bounds what
    reaches its gateway, relay or lines."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.at_once = channel.at_once
        self._slots = asyncio.Semaphore(channel.at_once)

    async def send(self, key: str, person: Subscriber) -> Delivery:
        async with self._slots:
            return await self.channel.send(key, person)

    async def status(self, key: str) -> Delivery | None:
        return await self.channel.status(key)


def contacts(person: Subscriber) -> list[Contact]:
    return [c for c, held in ((Contact.PHONE, person.phone), (Contact.EMAIL, person.email)) if held]


async def advance(
    plan: ChannelPlan,
    channels: Mapping[ChannelName, Channel],
    reference: str,
    person: Subscriber,
    attempts: Iterable[Attempt],
    now: datetime,
) -> tuple[list[Attempt], Move]:
    """The person's attempts after doing what is due at ``now``, and what comes next
    (a ``Wait``, or ``Ended``: by whom they were reached, or nobody, for a letter)."""
    tried = list(attempts)
    while True:
        if tried and tried[-1].delivery not in FINAL:
            last = tried[-1]
            key = step_key(reference, person.id, last.channel, last.number)
            known = await channels[last.channel].status(key)
            if known is not None and known is not last.delivery:
                tried[-1] = last.model_copy(update={"delivery": known})
        move = next_move(plan, contacts(person), tried, now, person.time_zone)
        if not isinstance(move, Try):
            return tried, move
        key = step_key(reference, person.id, move.channel, move.number)
        delivery = await channels[move.channel].send(key, person)
        tried.append(Attempt(channel=move.channel, number=move.number, at=now, delivery=delivery))
        if delivery is Delivery.ACCEPTED:
            return tried, Wait(None)
