"""A notification plan as data: the channels a person is tried on, in order.

A plan is ordered steps, each one channel with its attempts and their spacing, e.g.
"call up to 5 times within calling hours, 4 h apart; if unreached, SMS; if undelivered
or no e-mail, letter". The conditions are the same for every step, so they are not
written per step: a step runs only while no earlier step reached the person, and is
passed over when the person lacks what its channel needs (no number for a call or an
SMS, no address for an e-mail). The letter needs nothing: a person nobody reached is
on the unreachable list, for a letter.

``next_move`` is the whole rule: given the attempts so far it says what is due, when,
or that the person's path has ended. Every channel reports the same delivery statuses
(``Delivery``), so a path reads the same whichever channels it went through, and
``tally`` counts paths the same way for the final report.

The presets: ``calls_then_email`` is what YouSee did (seed 002: 4-5 calls, then
e-mail); ``sms_first`` is for number-only people such as Tre's callers (seed 004).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from breachclock.domain.notify.calling import CALL_END, CALL_START, next_call_slot
from breachclock.domain.notify.delivery import Awaiting, CallOutcome, Counts, Plan, Status
from breachclock.domain.problems import Said, invalid, said
from breachclock.domain.regimes import RegimeCode


class Channel(StrEnum):
    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    LETTER = "letter"


class Contact(StrEnum):
    """What a person's record holds to reach them by."""

    PHONE = "phone"
    EMAIL = "email"


NEEDS: dict[Channel, Contact | None] = {
    Channel.CALL: Contact.PHONE,
    Channel.SMS: Contact.PHONE,
    Channel.EMAIL: Contact.EMAIL,
    Channel.LETTER: None,
}
"""The registration of channels: what each needs on the person's record."""


class Delivery(StrEnum):
    """One attempt's outcome, the same words for every channel."""

    ACCEPTED = "accepted"
    """Taken by the gateway or relay; not yet known to have arrived."""
    DELIVERED = "delivered"
    """Arrived (a call: the person identified and told)."""
    FAILED = "failed"
    """Did not arrive and will not (an unanswered call, a refused number)."""
    EXPIRED = "expired"
    """No delivery report came in time: counted as not reached."""


FINAL = frozenset({Delivery.DELIVERED, Delivery.FAILED, Delivery.EXPIRED})


class Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel
    attempts: Annotated[int, Field(ge=1, le=20)] = 1
    spacing: timedelta = timedelta(hours=4)
    """From one attempt to the next on this channel."""
    within_hours: bool = False
    """Only inside calling hours on the person's clock (``window_start``-``window_end``)."""
    window_start: time = CALL_START
    window_end: time = CALL_END

    @model_validator(mode="after")
    def _sane(self) -> Step:
        if self.spacing < timedelta(0):
            raise invalid("plan.spacing_negative", "spacing")
        if not self.window_start < self.window_end:
            raise invalid("plan.window_reversed", "window_end")
        return self


class ChannelPlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")]
    steps: Annotated[tuple[Step, ...], Field(min_length=1, max_length=8)]

    @model_validator(mode="after")
    def _ends_in_a_letter(self) -> ChannelPlan:
        channels = [s.channel for s in self.steps]
        if channels[-1] is not Channel.LETTER or channels.count(Channel.LETTER) != 1:
            raise invalid("plan.letter_last", "steps")
        if len(set(channels)) != len(channels):
            raise invalid("plan.channel_twice", "steps")
        return self


PRESETS: dict[str, ChannelPlan] = {
    p.name: p
    for p in (
        ChannelPlan(
            name="calls_then_email",
            steps=(
                Step(
                    channel=Channel.CALL, attempts=5, spacing=timedelta(hours=2), within_hours=True
                ),
                Step(channel=Channel.EMAIL),
                Step(channel=Channel.LETTER),
            ),
        ),
        ChannelPlan(
            name="calls_sms_email",
            steps=(
                Step(
                    channel=Channel.CALL, attempts=5, spacing=timedelta(hours=4), within_hours=True
                ),
                Step(channel=Channel.SMS, within_hours=True),
                Step(channel=Channel.EMAIL),
                Step(channel=Channel.LETTER),
            ),
        ),
        ChannelPlan(
            name="sms_first",
            steps=(
                Step(channel=Channel.SMS, within_hours=True),
                Step(channel=Channel.EMAIL),
                Step(channel=Channel.LETTER),
            ),
        ),
    )
}
FIRST_ENGINE_PLAN = "calls_then_email"
"""The plan the campaign has always run, with its own batched calls and e-mails (the
policy's ``Plan`` sets its attempts and spacing); the others walk ``next_move``."""
REGIME_DEFAULT: dict[RegimeCode, str] = {r: FIRST_ENGINE_PLAN for r in RegimeCode}
"""Every regime's default today is the YouSee way; an incident may choose another."""


def plan_for(regime: RegimeCode, chosen: ChannelPlan | str | None = None) -> ChannelPlan:
    """The incident's own plan (a preset's name or a whole plan), else the regime's."""
    if isinstance(chosen, ChannelPlan):
        return chosen
    return PRESETS[chosen or REGIME_DEFAULT[regime]]


def walked_plan(
    regime: RegimeCode, chosen: ChannelPlan | str | None, policy: Plan
) -> ChannelPlan | None:
    """The plan a campaign walks person by person, as this operator runs it; None for
    the first engine's calls then e-mail, which the campaign runs its own way."""
    plan = plan_for(regime, chosen)
    return None if plan == PRESETS[FIRST_ENGINE_PLAN] else on_policy(plan, policy)


def on_policy(plan: ChannelPlan, policy: Plan) -> ChannelPlan:
    """The plan as this operator runs it: its calling hours for every step kept to hours,
    and its call attempts and spacing (the call centre's rules, the same ones the first
    engine's calls follow); no call step where the operator makes no calls."""
    steps = []
    for step in plan.steps:
        changes: dict[str, object] = {}
        if step.within_hours:
            changes |= {"window_start": policy.window_start, "window_end": policy.window_end}
        if step.channel is Channel.CALL:
            if policy.attempts == 0:
                continue
            changes |= {"attempts": policy.attempts, "spacing": policy.spacing}
        steps.append(step.model_copy(update=changes))
    return plan.model_copy(update={"steps": tuple(steps)})


class Attempt(BaseModel):
    """One try on one channel, and how it ended (so far)."""

    model_config = ConfigDict(frozen=True)

    channel: Channel
    number: int
    """1 for the first attempt on this channel."""
    at: datetime
    delivery: Delivery
    final_for_channel: bool = False
    """Trying this channel again is pointless (a number not in use)."""


@dataclass(frozen=True)
class Try:
    channel: Channel
    number: int


@dataclass(frozen=True)
class Wait:
    until: datetime | None
    """None: until the pending attempt's delivery status is known."""


@dataclass(frozen=True)
class Ended:
    by: Channel | None
    """The channel that reached the person; None: nobody did (letter list)."""


Move = Try | Wait | Ended


def next_move(
    plan: ChannelPlan,
    contacts: Iterable[Contact],
    attempts: Iterable[Attempt],
    now: datetime,
    zone: str,
) -> Move:
    """What is due for one person at ``now``, from the plan and the attempts so far."""
    has = set(contacts)
    tried = list(attempts)
    for attempt in tried:
        if attempt.delivery is Delivery.DELIVERED:
            return Ended(attempt.channel)
    if tried and tried[-1].delivery is Delivery.ACCEPTED:
        return Wait(None)
    for step in plan.steps:
        if step.channel is Channel.LETTER:
            return Ended(None)
        needs = NEEDS[step.channel]
        if needs is not None and needs not in has:
            continue
        on_channel = [a for a in tried if a.channel is step.channel]
        if len(on_channel) >= step.attempts or any(a.final_for_channel for a in on_channel):
            continue
        due = on_channel[-1].at + step.spacing if on_channel else now
        if step.within_hours:
            due = next_call_slot(max(due, now), zone, step.window_start, step.window_end)
        if due > now:
            return Wait(due)
        return Try(step.channel, len(on_channel) + 1)
    return Ended(None)  # pragma: no cover - a plan always ends in a letter


def awaiting_on(
    plan: ChannelPlan,
    contacts: Iterable[Contact],
    path: Sequence[Attempt],
    now: datetime,
    zone: str,
) -> Awaiting:
    """What comes next for a pending person on ``plan``, in catalogue sentences:
    ``next_move`` looked ahead past a wait (the spacing on a channel, calling hours on
    their own clock, a delivery report not yet in)."""
    has = list(contacts)
    move = next_move(plan, has, path, now, zone)
    if isinstance(move, Wait) and move.until is None:
        return Awaiting(said("awaiting.report", channel=path[-1].channel), None, None)
    at, why = None, None
    if isinstance(move, Wait) and move.until is not None:
        at, move = move.until, next_move(plan, has, path, move.until, zone)
        if isinstance(move, Try):
            step = next(s for s in plan.steps if s.channel is move.channel)
            tried = [a for a in path if a.channel is move.channel]
            why = (
                said("awaiting.why.spacing", spacing=step.spacing)
                if tried and tried[-1].at + step.spacing > now
                else said(
                    "awaiting.why.hours",
                    start=f"{step.window_start:%H:%M}",
                    end=f"{step.window_end:%H:%M}",
                )
            )
    if isinstance(move, Try):
        step = next(s for s in plan.steps if s.channel is move.channel)
        what = (
            said("awaiting.try", channel=move.channel, number=move.number, of=step.attempts)
            if step.attempts > 1
            else said("awaiting.once", channel=move.channel)
        )
    elif isinstance(move, Ended) and move.by is None:
        what = said("awaiting.letter")
    else:
        what = said("awaiting.later")
    return Awaiting(what, at, why)


class PlanCounts(BaseModel):
    """A campaign's counts per channel, in the shape the final report reads:
    ``attempts[channel][delivery]`` and ``reached_by[channel]`` (``letter``: nobody
    reached them, on the unreachable list)."""

    attempts: dict[Channel, dict[Delivery, int]] = {}
    reached_by: dict[Channel, int] = {}


def tally(paths: Iterable[tuple[Iterable[Attempt], Ended]]) -> PlanCounts:
    """Counts over people's paths (their attempts and how the path ended)."""
    attempts: dict[Channel, Counter[Delivery]] = {}
    reached: Counter[Channel] = Counter()
    for tried, ended in paths:
        for a in tried:
            attempts.setdefault(a.channel, Counter())[a.delivery] += 1
        reached[ended.by or Channel.LETTER] += 1
    return PlanCounts(
        attempts={c: dict(sorted(n.items())) for c, n in sorted(attempts.items())},
        reached_by=dict(sorted(reached.items())),
    )


EMAIL_RECORDED = {Delivery.DELIVERED: "sent", Delivery.FAILED: "refused"}
"""An e-mail try as the campaign's record words it (the words it always used)."""
REACHED: dict[Status, Channel] = {
    Status.CALLED: Channel.CALL,
    Status.TEXTED: Channel.SMS,
    Status.EMAILED: Channel.EMAIL,
    Status.UNREACHABLE: Channel.LETTER,
}
"""Where a person's path ended, by the channel that reached them (a letter: nobody)."""
STATUS_OF = {channel: status for status, channel in REACHED.items()}


def delivery_of(channel: Channel, outcome: str) -> Delivery | None:
    """A recorded try's outcome as a ``Delivery`` (None: not a try that counts on the
    path, such as an e-mail the relay deferred)."""
    if channel is Channel.CALL:
        return Delivery.DELIVERED if outcome == CallOutcome.REACHED_VERIFIED else Delivery.FAILED
    if channel is Channel.EMAIL:
        return {v: k for k, v in EMAIL_RECORDED.items()}.get(outcome)
    return Delivery(outcome) if outcome in set(Delivery) else None


def counted(counts: Counts) -> PlanCounts:
    """A campaign's recorded counts in ``tally``'s shape, per channel, whichever path
    (the first engine's calls and e-mails, or a plan's) recorded them."""
    attempts: dict[Channel, Counter[Delivery]] = {}
    for channel, outcomes in (
        (Channel.CALL, {o.value: n for o, n in counts.calls.items()}),
        (Channel.EMAIL, counts.emails),
        (Channel.SMS, counts.sms),
    ):
        for outcome, n in outcomes.items():
            delivery = delivery_of(channel, outcome)
            if delivery is not None and n:
                attempts.setdefault(channel, Counter())[delivery] += n
    reached = {REACHED[s]: n for s, n in counts.people.items() if s in REACHED and n}
    return PlanCounts(
        attempts={c: dict(sorted(n.items())) for c, n in sorted(attempts.items())},
        reached_by=dict(sorted(reached.items())),
    )


def describe(plan: ChannelPlan) -> list[Said]:
    """The plan step by step, for a page or a command to word before the campaign starts."""
    return [
        said(
            "plan.step.letter"
            if step.channel is Channel.LETTER
            else "plan.step.hours"
            if step.within_hours
            else "plan.step",
            channel=step.channel,
            count=step.attempts,
            spacing=step.spacing.total_seconds(),
            start=f"{step.window_start:%H:%M}",
            end=f"{step.window_end:%H:%M}",
        )
        for step in plan.steps
    ]
