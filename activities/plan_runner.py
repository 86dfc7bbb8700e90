"""Walking one person along a notification plan: the channels as one registry.

``advance`` is what a campaign slice does for each person who is due: it asks the
plan (``domain.notify.plan.next_move``) what comes next, hands a try to the channel
registered for it, and records the attempt, until the person must wait (spacing,
calling hours, a delivery report) or their path has ended. It knows no channel by
name: a channel is anything with ``send`` and ``statuses`` (``Channel`` below) under a
``ChannelName`` in the registry, so adding one is its module, its texts and its line in
the registry.

Every try has a business key (``step_key``, the same keys the engine has always used
for calls, e-mails and letters), and each channel sends once per key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
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

    async def statuses(self, keys: Sequence[str]) -> Mapping[str, Delivery]:
        """How the tries under ``keys`` stand now, in one look (a round's); a key never
        tried, or with nothing to add to what its send said, may be absent."""
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

    async def statuses(self, keys: Sequence[str]) -> Mapping[str, Delivery]:
        return await self.channel.statuses(keys)


def contacts(person: Subscriber) -> list[Contact]:
    return [c for c, held in ((Contact.PHONE, person.phone), (Contact.EMAIL, person.email)) if held]


def awaited(
    reference: str, person: str, tried: Sequence[Attempt]
) -> tuple[ChannelName, str] | None:
    """The channel and key of the person's last try if its outcome may still change."""
    if not tried or tried[-1].delivery in FINAL:
        return None
    last = tried[-1]
    return last.channel, step_key(reference, person, last.channel, last.number)


async def reports(
    channels: Mapping[ChannelName, Channel],
    reference: str,
    paths: Mapping[str, Sequence[Attempt]],
) -> dict[str, Delivery]:
    """How each person's last try stands now (``paths``: person id to their tries), by
    key, in one look per channel."""
    keys: dict[ChannelName, list[str]] = {}
    for person, tried in paths.items():
        if (last := awaited(reference, person, tried)) is not None:
            keys.setdefault(last[0], []).append(last[1])
    known: dict[str, Delivery] = {}
    for channel, waiting in keys.items():
        known.update(await channels[channel].statuses(waiting))
    return known


async def advance(
    plan: ChannelPlan,
    channels: Mapping[ChannelName, Channel],
    reference: str,
    person: Subscriber,
    attempts: Iterable[Attempt],
    now: datetime,
    known: Mapping[str, Delivery],
) -> tuple[list[Attempt], Move]:
    """The person's attempts after doing what is due at ``now``, and what comes next
    (a ``Wait``, or ``Ended``: by whom they were reached, or nobody, for a letter).

    ``known``: how earlier tries stand now, by key (``reports``)."""
    tried = list(attempts)
    if (last := awaited(reference, person.id, tried)) is not None:
        now_known = known.get(last[1])
        if now_known is not None and now_known is not tried[-1].delivery:
            tried[-1] = tried[-1].model_copy(update={"delivery": now_known})
    while True:
        move = next_move(plan, contacts(person), tried, now, person.time_zone)
        if not isinstance(move, Try):
            return tried, move
        key = step_key(reference, person.id, move.channel, move.number)
        delivery = await channels[move.channel].send(key, person)
        tried.append(Attempt(channel=move.channel, number=move.number, at=now, delivery=delivery))
        if delivery is Delivery.ACCEPTED:
            return tried, Wait(None)
