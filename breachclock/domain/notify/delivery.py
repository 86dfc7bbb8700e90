"""How one person is told: up to N calls in calling hours, then e-mail, else a letter.

Pure rules, no I/O: given what has been tried for a person, ``next_step`` says what
is due and when. The business keys of the side effects are made here too, so every
part of the engine names a call or an e-mail the same way.

A call delivers the notice only when the person confirmed who they are
(``reached_verified``); until then nothing about the incident is said, and an
unconfirmed answer counts as a failed attempt like no answer at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from breachclock.domain.catalogue import Voice
from breachclock.domain.notify.calling import CALL_END, CALL_START, next_call_slot
from breachclock.domain.problems import Said, said


class CallOutcome(StrEnum):
    REACHED_VERIFIED = "reached_verified"
    """The person confirmed their identity and was told."""
    REACHED_UNVERIFIED = "reached_unverified"
    """Someone answered but did not confirm being the person: nothing was disclosed."""
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    """Reached a voicemail: no message about the incident is left on it."""
    INVALID_NUMBER = "invalid_number"
    """The number does not exist or is not theirs: calling again is pointless."""
    FAILED = "failed"
    """The call could not be placed (a network or provider fault)."""


class Status(StrEnum):
    """Where one person stands."""

    PENDING = "pending"
    CALLED = "called"
    """Told by telephone, identity confirmed."""
    EMAILED = "emailed"
    TEXTED = "texted"
    """Told by SMS: the gateway reported it delivered (a plan with an SMS step)."""
    UNREACHABLE = "unreachable"
    """No call got through and no e-mail could be sent: to be told by letter."""


class Plan(BaseModel):
    """How a campaign reaches people; fixed when the campaign starts."""

    model_config = ConfigDict(frozen=True)

    attempts: Annotated[int, Field(ge=0, le=20)] = 5
    """Call attempts before e-mail (0: e-mail only)."""
    spacing: timedelta = timedelta(hours=2)
    """From one attempt to the next, moved into calling hours."""
    window_start: time = CALL_START
    window_end: time = CALL_END
    """Calling hours on the person's own clock."""
    batch: Annotated[int, Field(ge=1, le=5_000)] = 500
    """People per slice: one activity handles a slice's due people in a round."""
    parallel: Annotated[int, Field(ge=1, le=500)] = 4
    """Slices worked at once (the pending activities of one campaign)."""
    heartbeat: timedelta = timedelta(seconds=30)
    """A slice's worker that stays silent this long is taken for dead: the slice is retried."""
    email_retries: Annotated[int, Field(ge=0, le=20)] = 5
    """Times a relay's "try later" for one person's e-mail is retried before a letter."""
    email_retry_after: timedelta = timedelta(minutes=15)
    """The first wait after a deferred e-mail; each further one waits twice as long."""
    report_within: timedelta = timedelta(hours=1)
    """An SMS with no delivery report this long after the gateway took it counts as
    expired (not reached): the plan's next step runs."""
    history_budget: Annotated[int, Field(ge=20, le=40_000)] = 4_000
    """Events a campaign run may reach before it continues as new (tests force it low)."""
    sms: bool = False
    """The engine has an SMS gateway (``BREACHCLOCK_SMS_URL``): a plan may send SMS."""
    agents: bool = False
    """The calls go on the agents' worklist whatever way the engine places calls
    (``BREACHCLOCK_CALLS``): a demo incident's, for a newcomer to take in the console."""

    @model_validator(mode="after")
    def _sane(self) -> Plan:
        if self.spacing < timedelta(0):
            raise ValueError("spacing cannot be negative")
        if not self.window_start < self.window_end:
            raise ValueError("calling hours must start before they end, on the same day")
        return self


@dataclass(frozen=True)
class Progress:
    """What has been tried for one person so far."""

    calls_made: int
    last_outcome: CallOutcome | None
    next_at: datetime | None
    """Not before this instant (None: at once)."""
    has_phone: bool
    has_email: bool


@dataclass(frozen=True)
class Call:
    number: int
    """1 for the first attempt."""


@dataclass(frozen=True)
class Email:
    pass


@dataclass(frozen=True)
class Letter:
    """Nothing left to try: list the person as unreachable, for a letter."""


@dataclass(frozen=True)
class Wait:
    until: datetime


Step = Call | Email | Letter | Wait


def next_step(progress: Progress, plan: Plan, now: datetime, zone: str) -> Step:
    """What is due for this person at ``now``: a call, the e-mail, a letter, or waiting."""
    if progress.next_at is not None and progress.next_at > now:
        return Wait(progress.next_at)
    calls_left = (
        progress.has_phone
        and progress.calls_made < plan.attempts
        and progress.last_outcome is not CallOutcome.INVALID_NUMBER
    )
    if calls_left:
        slot = next_call_slot(now, zone, plan.window_start, plan.window_end)
        if slot > now:
            return Wait(slot)
        return Call(progress.calls_made + 1)
    return Email() if progress.has_email else Letter()


def after_deferral(
    failures: int, at: datetime, plan: Plan, why: str
) -> tuple[Status, datetime | None, str | None]:
    """After the relay deferred a person's e-mail for the ``failures``-th time: wait and
    try again, twice as long each time, or, past ``plan.email_retries``, a letter."""
    if failures > plan.email_retries:
        return (
            Status.UNREACHABLE,
            None,
            coded(said("letter_reason.deferred", count=failures, why=why)),
        )
    return Status.PENDING, at + plan.email_retry_after * 2 ** (failures - 1), None


def letter_reason(progress: Progress) -> str:
    """Why nobody could be told but by letter, for the person handling the letters, as
    it is kept (``coded``): worded in the reader's language when shown (``reason_words``)."""
    if not progress.has_phone and not progress.has_email:
        return coded(said("letter_reason.no_contact"))
    if progress.last_outcome is CallOutcome.INVALID_NUMBER:
        return coded(said("letter_reason.number_not_in_use"))
    if progress.calls_made:
        return coded(said("letter_reason.calls_failed", count=progress.calls_made))
    return coded(said("letter_reason.no_email_no_calls"))


def coded(reason: Said) -> str:
    """A reason as the people store keeps it: the sentence's code and parameters."""
    return reason.model_dump_json()


def reason_words(kept: str | None, voice: Voice) -> str:
    """A kept reason in ``voice``'s language. A relay's own answer ("550 no such user")
    and reasons kept before they were coded are shown as they are."""
    if not kept or not kept.startswith("{"):
        return kept or ""
    try:
        reason = Said.model_validate_json(kept)
    except ValueError:
        return kept
    return reason.words(voice)


def after_call(outcome: CallOutcome, at: datetime, plan: Plan) -> tuple[Status, datetime | None]:
    """The person's status after a call, and when the next step may run."""
    if outcome is CallOutcome.REACHED_VERIFIED:
        return Status.CALLED, None
    if outcome is CallOutcome.INVALID_NUMBER:
        return Status.PENDING, None
    return Status.PENDING, at + plan.spacing


class Counts(BaseModel):
    """How many people stand where, and how many attempts ended how."""

    people: dict[Status, int] = {}
    calls: dict[CallOutcome, int] = {}
    emails: dict[str, int] = {}
    sms: dict[str, int] = {}
    """SMS by delivery status (``plan.Delivery``'s values), in a plan with an SMS step."""
    identified: dict[str, int] = {}
    """Delivered calls by how the person was identified (an identity method's value)."""

    @property
    def total(self) -> int:
        return sum(self.people.values())

    @property
    def finished(self) -> int:
        return self.total - self.people.get(Status.PENDING, 0)

    def plus(self, other: Counts) -> Counts:
        def add(a: dict[Any, int], b: dict[Any, int]) -> dict[Any, int]:
            return {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}

        return Counts(
            people=add(self.people, other.people),
            calls=add(self.calls, other.calls),
            emails=add(self.emails, other.emails),
            sms=add(self.sms, other.sms),
            identified=add(self.identified, other.identified),
        )


def call_key(reference: str, subscriber_id: str, number: int) -> str:
    return f"{reference}:{subscriber_id}:call:{number}"


def email_key(reference: str, subscriber_id: str) -> str:
    return f"{reference}:{subscriber_id}:email"


def deferral_key(reference: str, subscriber_id: str, number: int) -> str:
    """The ``number``-th time the relay said "try later" to this person's e-mail."""
    return f"{email_key(reference, subscriber_id)}:deferred:{number}"


def letter_key(reference: str, subscriber_id: str) -> str:
    return f"{reference}:{subscriber_id}:letter"


GREETINGS = {
    "sv": (
        "Hej, jag ringer från {operator} och söker {name}. Innan jag kan berätta varför "
        "behöver jag bekräfta att jag talar med rätt person."
    ),
    "en": (
        "Hello, this is {operator} calling for {name}. Before I can tell you why, I need to "
        "confirm that I am speaking to the right person."
    ),
    "da": (
        "Goddag, det er {operator}, og jeg søger {name}. Før jeg kan fortælle hvorfor, skal jeg "
        "bekræfte, at jeg taler med den rette person."
    ),
}
ANONYMOUS = {"sv": "kontoinnehavaren", "en": "the account holder", "da": "kontoindehaveren"}


def greeting(operator: str, name: str | None, language: str) -> str:
    """What is said before identity is confirmed: who calls and for whom, nothing more."""
    return GREETINGS[language].format(operator=operator, name=name or ANONYMOUS[language])


@dataclass(frozen=True)
class Awaiting:
    """What a person still to be told waits for, each part a catalogue sentence for
    whoever shows it: the step, when it can run (None: now), and why not sooner (None:
    nothing holds it)."""

    step: Said
    at: datetime | None
    why: Said | None


def awaiting(
    progress: Progress, plan: Plan, now: datetime, zone: str, email_failures: int = 0
) -> Awaiting:
    """What comes next for a pending person on the first engine's calls then e-mail:
    ``next_step`` looked ahead past a wait (the spacing between calls, calling hours on
    their own clock, a deferral)."""
    step, at, why = next_step(progress, plan, now, zone), None, None
    if isinstance(step, Wait):
        at = step.until
        if email_failures:
            why = said("awaiting.why.deferred", count=email_failures)
        elif progress.next_at is not None and progress.next_at > now:
            why = (
                said("awaiting.why.spacing", spacing=plan.spacing)
                if progress.calls_made
                else said("awaiting.why.not_due")
            )
        else:
            why = said(
                "awaiting.why.hours",
                start=f"{plan.window_start:%H:%M}",
                end=f"{plan.window_end:%H:%M}",
            )
        ahead = next_step(progress, plan, step.until, zone)
        step = (
            ahead if not isinstance(ahead, Wait) else next_step(progress, plan, ahead.until, zone)
        )
        at = ahead.until if isinstance(ahead, Wait) else at
    if isinstance(step, Call):
        what = said("awaiting.try", channel="call", number=step.number, of=plan.attempts)
    elif isinstance(step, Email):
        what = said("awaiting.once", channel="email")
    elif isinstance(step, Letter):
        what = said("awaiting.letter")
    else:
        what = said("awaiting.later")
    return Awaiting(step=what, at=at, why=why)
