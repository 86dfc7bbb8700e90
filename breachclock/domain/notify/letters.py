"""Letters: the last channel, for the people no call, SMS or e-mail reached.

The campaign lists them for a letter (``Status.UNREACHABLE``, with why). A manager puts
everyone listed, with a postal address and in no batch yet, into a *print batch*; the
batch prints as one file, a letter a person; once it went to the post a manager records
it as *posted*, and each person in it gets one posted record under its business key
(``posted_key``). A letter that comes back undelivered is recorded as *returned*: that
person counts as not reached.

The incident learns only the counts (``Letters``: no names, no addresses), and the final
report states them from the engine's own records. Every count only ever grows, so two
counts sent at once, in either order, leave the larger: ``merged``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from breachclock.domain.inputs import InputModel, Whole
from breachclock.domain.instants import Instant
from breachclock.domain.notify.delivery import letter_key
from breachclock.domain.problems import Problem, problem

MAX_COUNT = 10_000_000
"""More people than any list holds: a count past it is a client's mistake."""
Count = Annotated[Whole, Field(ge=0, le=MAX_COUNT)]

POSTED = "posted"
RETURNED = "returned"
"""The outcomes of a letter's attempts (channel ``letter``), beside ``unreachable`` (listed)."""

EARLIEST_POSTING = timedelta(days=400)
"""How far back a posting may be recorded: a date further back is a typing mistake."""
LATE_CLOCK = timedelta(minutes=5)
"""A posting "in the future" by less than this is a client's clock, not a mistake."""


def posted_key(reference: str, subscriber_id: str) -> str:
    """The business key of a person's letter having gone to the post."""
    return f"{letter_key(reference, subscriber_id)}:{POSTED}"


def returned_key(reference: str, subscriber_id: str) -> str:
    """The business key of a person's letter having come back undelivered."""
    return f"{letter_key(reference, subscriber_id)}:{RETURNED}"


class Letters(InputModel):
    """What the incident knows of its letters: counts and posting days, no personal data."""

    posted: Count = 0
    """People whose letter was recorded as posted."""
    returned: Count = 0
    """Of those, letters that came back undelivered."""
    no_address: Count = 0
    """People listed for a letter with no postal address: they cannot be sent one."""
    first_posted: Instant | None = None
    last_posted: Instant | None = None

    def merged(self, other: Letters) -> Letters:
        """Both counts at once: each figure the larger, the posting days the widest."""
        firsts = [d for d in (self.first_posted, other.first_posted) if d is not None]
        lasts = [d for d in (self.last_posted, other.last_posted) if d is not None]
        return Letters(
            posted=max(self.posted, other.posted),
            returned=max(self.returned, other.returned),
            no_address=max(self.no_address, other.no_address),
            first_posted=min(firsts, default=None),
            last_posted=max(lasts, default=None),
        )

    @property
    def told(self) -> int:
        """People told by letter: posted, and not come back."""
        return self.posted - self.returned


class Posting(InputModel):
    """A print batch went to the post: when (an instant with its zone, or the operator's
    wall clock)."""

    posted_at: Instant


class Returned(InputModel):
    """A person's posted letter came back undelivered."""

    subscriber: Annotated[str, Field(min_length=1, max_length=100)]


def letters_problems(letters: Letters, told: bool) -> list[Problem]:
    """Why counts of letters cannot be taken by an incident (``told``: a campaign of it
    ran or runs, which is what lists people for a letter)."""
    found = []
    if not told:
        found.append(problem("letters.no_campaign"))
    if letters.returned > letters.posted:
        found.append(problem("letters.returned_exceeds", "returned"))
    dates = (letters.first_posted, letters.last_posted)
    if letters.posted and None in dates:
        found.append(problem("letters.posted_without_day", "first_posted"))
    if dates[0] is not None and dates[1] is not None and dates[0] > dates[1]:
        found.append(problem("letters.days_reversed", "first_posted"))
    return found


def posting_problems(at: datetime, now: datetime) -> list[Problem]:
    """Why ``at`` cannot be when a batch went to the post, recorded ``now``."""
    if at > now + LATE_CLOCK:
        return [problem("letters.posted_in_future", "posted_at")]
    if at < now - EARLIEST_POSTING:
        return [problem("letters.posted_too_early", "posted_at")]
    return []
