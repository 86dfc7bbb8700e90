"""Escalation that someone owns: acknowledging a page, snoozing reminders.

An acknowledged deadline's later pages go no wider than the page that was
acknowledged (the person who owns it keeps being reminded; their managers are not
woken); the deadline itself, its automatic filing and its overdue pages stand. A
snooze holds lead and reminder pages until it ends; it never holds a filing or the
page that says a deadline was missed, and never moves a regulator's deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from breachclock.domain.incident.lifecycle import current_stage
from breachclock.domain.incident.model import (
    Acknowledge,
    Acknowledgement,
    IncidentState,
    Page,
    Snooze,
)
from breachclock.domain.problems import Problem, Said, problem, said


@dataclass(frozen=True)
class Target:
    """The deadline an acknowledgement is for: its track, its stage, and the page's level."""

    index: int
    deadline: str
    level: int


def _live(state: IncidentState, page: Page) -> int | None:
    """The track whose current deadline the page was about (None: that deadline is past)."""
    return next(
        (
            i
            for i, t in enumerate(state.tracks)
            if (s := current_stage(t)) is not None and s.name == page.deadline
        ),
        None,
    )


def ack_target(state: IncidentState, request: Acknowledge) -> Target | Problem:
    """What ``request`` acknowledges, or why nothing can be."""
    if state.closure is not None:
        return problem("incident.closed", reference=state.reference)
    for page in reversed(state.pages):
        if page.failed is not None or (request.deadline and page.deadline != request.deadline):
            continue
        index = _live(state, page)
        if index is None:
            continue
        if request.track is not None and state.tracks[index].regime is not request.track:
            continue
        return Target(index, page.deadline, page.audience or 0)
    if request.deadline:
        return problem("ack.nothing_waiting_for", "deadline", deadline=request.deadline)
    return problem("ack.nothing_waiting")


def ack_problem(state: IncidentState, request: Acknowledge) -> Problem | None:
    target = ack_target(state, request)
    if isinstance(target, Problem):
        return target
    if request.link and link_used(state, request.link):
        return problem("ack.link_used")
    return None


def acknowledge(state: IncidentState, target: Target, request: Acknowledge, now: datetime) -> Said:
    """Record the acknowledgement (once per deadline); the answer for the person."""
    track = state.tracks[target.index]
    done = track.acknowledged.get(target.deadline)
    if done is not None:
        return said("answer.ack.already", deadline=target.deadline, by=done.by)
    track.acknowledged[target.deadline] = Acknowledgement(
        by=request.by, at=now, level=target.level, link=request.link
    )
    return said("answer.ack.done", deadline=target.deadline, by=request.by)


def link_used(state: IncidentState, link: str) -> bool:
    return any(a.link == link for t in state.tracks for a in t.acknowledged.values())


def snooze_until(request: Snooze, now: datetime) -> datetime:
    return now + timedelta(minutes=request.minutes)
