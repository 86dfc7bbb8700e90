"""When people's input may act: every refusal the incident's validators give, as plain
functions of the incident's state, the input and the time.

Each answers ``None`` when the input may go ahead, or the ``Problem`` that says why
not (the workflow's validator refuses with it before anything enters history; the
surfaces word it). They read nothing else, so they are tested as they stand.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.limits import TIMELINE_LIMIT
from breachclock.domain.incident.model import (
    Approve,
    Close,
    Discover,
    Facts,
    IncidentState,
    Justify,
    OpenSecurityReport,
    Snooze,
    TimelineInput,
    Track,
)
from breachclock.domain.instants import day_over, zone
from breachclock.domain.problems import Problem, first, problem
from breachclock.domain.regimes import RegimeCode, StageKind

CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the engine's clock a person's time may be (their clock may run fast)."""


def future_problem(at: datetime | None, now: datetime, field: str = "at") -> Problem | None:
    """A time a person gives for something that happened may not be in the future."""
    if at is not None and at > now + CLOCK_SKEW:
        return problem("time.future", field, at=at)
    return None


def open_problem(state: IncidentState) -> Problem | None:
    if state.closure is not None:
        return problem("incident.closed", reference=state.reference)
    return None


def track_problem(state: IncidentState, code: RegimeCode | None) -> Problem | None:
    if state.track(code) is None:
        return problem("track.not_open", "track", regime=code or state.regime)
    return None


def timeline_room_problem(state: IncidentState) -> Problem | None:
    if len(state.timeline) >= TIMELINE_LIMIT:
        return problem("timeline.full", limit=TIMELINE_LIMIT)
    return None


def discover_problem(state: IncidentState, discovery: Discover, now: datetime) -> Problem | None:
    if state.discovery is not None:
        return problem("discover.already", at=state.discovery.at)
    occurred = state.facts.occurred
    return first(
        future_problem(discovery.at, now),
        problem("discover.before_occurred", "at", discovered=discovery.at, occurred=occurred.at)
        if occurred and discovery.at < occurred.at
        else None,
    )


def facts_problem(state: IncidentState, merged: Facts) -> Problem | None:
    """The facts as they would stand after a change, against what else is on record."""
    discovery = state.discovery
    if discovery and merged.occurred and merged.occurred.at > discovery.at:
        return problem(
            "facts.occurred_after_discovery",
            "occurred.at",
            occurred=merged.occurred.at,
            discovered=discovery.at,
        )
    return None


def expected_problems(
    recorded: Mapping[str, date], given: Mapping[str, date], operator_zone: str, now: datetime
) -> list[Problem]:
    """A date a missing fact is expected by may not be over already: a filing would
    promise the regulator something for a day gone by. A day is over once it has ended
    in the operator's zone (today may still be given). Only a date given anew is
    refused: one recorded before and left as it was has passed while on record, and
    refusing it would block every other change."""
    tz = zone(operator_zone)
    today = now.astimezone(tz).date()
    return [
        problem("facts.expected_past", f"expected.{name}", on=day, today=today)
        for name, day in given.items()
        if recorded.get(name) != day and day_over(day, tz, now)
    ]


def event_problem(
    state: IncidentState, event: TimelineInput, now: datetime, recorded: bool
) -> Problem | None:
    """``recorded``: the same event is on the timeline already (it is answered, not added)."""
    return first(
        future_problem(event.at, now),
        None if recorded else timeline_room_problem(state),
    )


def approval_problem(state: IncidentState, approval: Approve, now: datetime) -> Problem | None:
    """Why this approval may not file now; None when it may, or when it names a filing
    that went already or is being sent (the update then answers with that filing)."""
    if state.discovery is None:
        return problem("approve.before_discovery")
    track = state.track(approval.track)
    if track is None:
        return track_problem(state, approval.track)
    index = state.tracks.index(track)
    pending = lifecycle.pending_filing(state, index, now)
    if approval.filing is None:
        if pending:
            return problem("approve.name_filing_pending", "filing", pending=pending.stage)
        return problem("approve.name_filing", "filing")
    if lifecycle.filing_for(state, index, approval.filing, approval.facts_version):
        return None
    if track.prepared is not None and approval.filing == track.prepared.stage:
        return None  # prepared for the portal: the update answers where to file it
    if pending is None:
        return problem("approve.all_filed")
    if approval.filing != pending.stage:
        return problem(
            "approve.not_pending", "filing", pending=pending.stage, filing=approval.filing
        )
    stage = lifecycle.current_stage(track)
    if track.approve is not None or track.sending is not None or stage is None:
        return None
    due = lifecycle.stage_due(track, stage)
    late = due is not None and now > due
    if (
        late
        and state.facts.missing()
        and stage.kind is StageKind.FOLLOW_UP
        and not (track.justification or track.awaiting_final)
    ):
        return problem("approve.justify_first", stage=stage.name)
    if late and not approval.late_reason and not track.last_error:
        return problem("approve.late_reason", "late_reason", stage=stage.name, due=due)
    return None


def justify_problem(state: IncidentState, justification: Justify) -> Problem | None:
    track: Track | None = state.track(justification.track)
    if track is None:
        return track_problem(state, justification.track)
    if lifecycle.current_stage(track) is None:
        return problem("justify.nothing_pending")
    if not state.facts.missing():
        return problem("justify.nothing_missing")
    return None


def security_problem(
    state: IncidentState, request: OpenSecurityReport, now: datetime
) -> Problem | None:
    if state.discovery is None:
        return problem("security.before_discovery")
    if state.track(RegimeCode.NIS2) is not None:
        return problem("security.already_open")
    return future_problem(request.aware_at, now, "aware_at")


def close_problem(state: IncidentState, request: Close, sending: bool) -> Problem | None:
    """Why the incident may not close now (``sending``: a filing or page is on its way).

    Reports still due are named one by one: closing over them takes
    ``abandon_reports`` and a reason, and the register records each as never filed.
    """
    due = lifecycle.reports_due(state)
    if due and not (request.abandon_reports and request.reason):
        reports = [report.replace(":", ".") for report in due]
        return problem("close.reports_due", "abandon_reports", reports=reports)
    if not state.filings and not request.reason:
        return problem("close.reason_needed", "reason")
    if sending:
        return problem("close.sending")
    if state.notification.running is not None:
        return problem("close.campaign_running")
    return None


def snooze_problem(state: IncidentState, request: Snooze) -> Problem | None:
    if state.discovery is None:
        return problem("snooze.before_discovery")
    return timeline_room_problem(state)
