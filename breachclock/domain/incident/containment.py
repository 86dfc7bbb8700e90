"""Containment: getting published data taken down, on the record (seeds 000 and 002).

A takedown task asks one named recipient (a directory-enquiry company, a search
engine, a reseller) to remove what was published, by e-mail under the business key
``<reference>:takedown:<recipient>``. It is tracked requested → acknowledged →
removal confirmed (by a person, saying how it was verified, and when), or failed.
While it is not confirmed, the recipient is reminded and the incident's owner paged
every ``Policy.takedown_remind_after``. The filing's measures and timeline carry
every task with its times; a campaign decided ``after_containment`` starts when
every task is confirmed.

What the request says: the incident's reference, what must be removed (the scope as
the operator words it: which listings, from which delivery), and how many entries.
It carries no numbers, names or addresses. The recipient already holds the data it
is asked to remove (the operator's own feed delivered it), so the scope is enough to
find it; where a recipient needs the list itself, it is handed over outside e-mail,
through the recipient's own removal channel. E-mail crosses relays in the clear, and
an encrypted attachment would still need its key sent by another way: sending the
numbers again, to say they must not be seen, would be a new disclosure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from breachclock.domain.catalogue import Voice
from breachclock.domain.inputs import InputModel, Name, Text
from breachclock.domain.instants import Instant
from breachclock.domain.problems import Problem, invalid, problem

RECIPIENT_ID = r"^[a-z0-9][a-z0-9_-]{0,39}$"
TAKEDOWN_LIMIT = 50
"""Takedown tasks one incident may hold."""


class Recipient(BaseModel):
    """One entry of the directory of takedown recipients."""

    id: Annotated[str, Field(pattern=RECIPIENT_ID)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
    kind: Annotated[str, Field(max_length=100)] = "directory enquiries"


DIRECTORY = TypeAdapter(dict[Literal["se", "dk"], list[Recipient]])


def parse_directory(data: object) -> dict[str, dict[str, Recipient]]:
    """The directory's JSON (``{"se": [recipient, …], "dk": […]}``) by country, then id."""
    parsed = DIRECTORY.validate_python(data)
    return {country: {r.id: r for r in people} for country, people in parsed.items()}


class TakedownStatus(StrEnum):
    REQUESTED = "requested"
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"
    """Removal confirmed by a person, who says how they verified it."""
    FAILED = "failed"


class TakedownRequest(InputModel):
    recipient: Annotated[str, Field(pattern=RECIPIENT_ID)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    address: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
    scope: Text
    """What must be removed, as the recipient can find it: no personal data."""
    count: Annotated[int, Field(ge=1, le=10_000_000)]
    by: Name


class TakedownReport(InputModel):
    """What became of a takedown: acknowledged, removal confirmed, or failed."""

    recipient: Annotated[str, Field(pattern=RECIPIENT_ID)]
    status: Literal[TakedownStatus.ACKNOWLEDGED, TakedownStatus.CONFIRMED, TakedownStatus.FAILED]
    by: Name
    at: Instant | None = None
    """When it happened (default: now)."""
    how_verified: Text | None = None
    reason: Text | None = None

    @model_validator(mode="after")
    def _said_how(self) -> TakedownReport:
        if self.status is TakedownStatus.CONFIRMED and not (self.how_verified or "").strip():
            raise invalid("takedown.how_verified_needed", "how_verified")
        if self.status is TakedownStatus.FAILED and not (self.reason or "").strip():
            raise invalid("takedown.reason_needed", "reason")
        return self


class TakedownTask(BaseModel):
    recipient: str
    name: str
    address: str
    scope: str
    count: int
    requested_by: str
    requested_at: datetime
    status: TakedownStatus = TakedownStatus.REQUESTED
    sent_at: datetime | None = None
    message_id: str | None = None
    send_error: str | None = None
    retry_at: datetime | None = None
    acknowledged_at: datetime | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    how_verified: str | None = None
    failed_at: datetime | None = None
    reason: str | None = None
    reminders: int = 0
    last_reminder_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.status in (TakedownStatus.REQUESTED, TakedownStatus.ACKNOWLEDGED)


def request_problem(tasks: list[TakedownTask], request: TakedownRequest) -> Problem | None:
    if any(t.recipient == request.recipient for t in tasks):
        return problem("takedown.already_requested", "recipient", recipient=request.name)
    if len(tasks) >= TAKEDOWN_LIMIT:
        return problem("takedown.limit", limit=TAKEDOWN_LIMIT)
    return None


def task_for(tasks: list[TakedownTask], recipient: str) -> TakedownTask | None:
    return next((t for t in tasks if t.recipient == recipient), None)


def report_problem(
    tasks: list[TakedownTask], report: TakedownReport, now: datetime
) -> Problem | None:
    task = task_for(tasks, report.recipient)
    if task is None:
        return problem("takedown.not_requested", "recipient", recipient=report.recipient)
    if not task.open:
        return problem("takedown.settled", "status", recipient=task.name, status=task.status)
    if report.status is TakedownStatus.ACKNOWLEDGED and task.status is not TakedownStatus.REQUESTED:
        return problem("takedown.acknowledged_already", "status", recipient=task.name)
    at = report.at or now
    if at < task.requested_at:
        return problem("takedown.before_request", "at", requested=task.requested_at)
    return None


def record_report(task: TakedownTask, report: TakedownReport, now: datetime) -> None:
    at = report.at or now
    task.status = report.status
    if report.status is TakedownStatus.ACKNOWLEDGED:
        task.acknowledged_at = at
    elif report.status is TakedownStatus.CONFIRMED:
        task.confirmed_at, task.confirmed_by, task.how_verified = at, report.by, report.how_verified
    else:
        task.failed_at, task.reason = at, report.reason


def all_confirmed(tasks: list[TakedownTask]) -> bool:
    return bool(tasks) and all(t.status is TakedownStatus.CONFIRMED for t in tasks)


def confirmed_count(tasks: list[TakedownTask]) -> int:
    return sum(1 for t in tasks if t.status is TakedownStatus.CONFIRMED)


def takedown_key(reference: str, recipient: str) -> str:
    return f"{reference}:takedown:{recipient}"


@dataclass(frozen=True)
class SendTakedown:
    """The request (``number`` 0) or its ``number``-th reminder, with a page to the owner."""

    recipient: str
    number: int

    @property
    def key(self) -> str:
        return f"takedown:{self.recipient}:{self.number}"


@dataclass(frozen=True)
class PageWait:
    """The ``number``-th page that notice has waited for containment past its bound."""

    number: int

    @property
    def key(self) -> str:
        return f"containment-wait:{self.number}"


@dataclass(frozen=True)
class Due:
    at: datetime
    step: SendTakedown | PageWait


def containment_steps(tasks: list[TakedownTask], remind_after: timedelta) -> list[Due]:
    """When each task's next mail is due: the request at once (or its retry), then a
    reminder every ``remind_after`` while the removal is not confirmed."""
    steps = []
    for task in tasks:
        if task.sent_at is None:
            steps.append(Due(task.retry_at or task.requested_at, SendTakedown(task.recipient, 0)))
        elif task.open:
            since = task.retry_at or (task.last_reminder_at or task.sent_at) + remind_after
            steps.append(Due(since, SendTakedown(task.recipient, task.reminders + 1)))
    return steps


def wait_step(
    waiting: bool, bound: datetime | None, pages: int, last: datetime | None, repeat: timedelta
) -> Due | None:
    """When notice that waits for containment is next escalated: at the wait's bound, then
    every ``repeat`` (the overdue pages' rhythm) from the last page while it still waits.
    None while nothing waits, or the wait has no bound (a run from before bounds)."""
    if not waiting or bound is None:
        return None
    return Due(bound if last is None else last + repeat, PageWait(pages + 1))


class TakedownDraft(BaseModel):
    idempotency_key: str
    to: str
    subject: str
    body: str


def takedown_mail(
    reference: str,
    operator: str,
    contact: str,
    task: TakedownTask,
    number: int,
    asked: datetime,
    voice: Voice,
) -> TakedownDraft:
    """The request (``number`` 0) or a reminder, in ``voice`` (the incident's filing
    language: a directory company in the regulator's country): what to remove, how many
    entries, how to answer. No personal data (see the module's text)."""
    key = takedown_key(reference, task.recipient)
    w = voice.scoped("takedown.mail.")
    lines = [w("to", name=task.name), ""]
    if number:
        key += f":reminder:{number}"
        lines += [w("reminder", asked=asked), ""]
    lines += [
        w("ask", operator=operator, count=task.count, reference=reference),
        "",
        f"  {task.scope}",
        "",
        w("no_data"),
        "",
        w("reply", reference=reference),
        "",
        f"{operator}, {contact}",
    ]
    subject = w("subject.reminder" if number else "subject", reference=reference, count=task.count)
    return TakedownDraft(
        idempotency_key=key, to=task.address, subject=subject, body="\n".join(lines) + "\n"
    )
