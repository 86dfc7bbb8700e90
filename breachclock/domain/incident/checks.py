"""When people's input may act: the refusals a validator gives, as plain functions.

Each returns None when the input may go ahead, or the one line that says why not
(the workflow's validators refuse with it, before anything enters history). They
read the incident's state and the time only, so they are tested as they stand.
"""

from __future__ import annotations

from datetime import datetime

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import Approve, Close, IncidentState
from breachclock.domain.instants import show, zone
from breachclock.domain.regimes import StageKind


def approval_problem(state: IncidentState, approval: Approve, now: datetime) -> str | None:
    """Why this approval may not file now; None when it may, or when it names a filing
    that went already or is being sent (the update then answers with that filing)."""
    if state.discovery is None:
        return "nothing to approve before discovery: record it with 'discover'"
    track = state.track(approval.track)
    if track is None:
        return f"no report to {(approval.track or state.regime).value} is open for this incident"
    index = state.tracks.index(track)
    pending = lifecycle.pending_filing(state, index, now)
    if approval.filing is None:
        what = f": the pending one is {pending.stage}" if pending else ""
        return f"name the filing you approve (--filing){what}"
    if lifecycle.filing_for(state, index, approval.filing, approval.facts_version):
        return None
    if pending is None:
        return "every report for this regulator has been filed and no fact changed since"
    if approval.filing != pending.stage:
        return f"the pending filing is the {pending.stage}, not the {approval.filing}"
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
        return (
            f"the {stage.name} deadline passed with facts missing: "
            "give the justification first ('justify')"
        )
    if late and not approval.late_reason and not track.last_error:
        assert due is not None
        shown = show(due, zone(state.policy.operator_zone))
        return f"the {stage.name} was due {shown}: give the reasons with --late-reason"
    return None


def close_problem(state: IncidentState, request: Close, sending: bool) -> str | None:
    """Why the incident may not close now (``sending``: a filing or page is on its way).

    Reports still due are named one by one: closing over them takes
    ``abandon_reports`` and a reason, and the register records each as never filed.
    """
    due = lifecycle.reports_due(state)
    if due and not (request.abandon_reports and request.reason):
        return (
            f"reports still due: {', '.join(due)}; file them first, or close with "
            "--abandon-reports and a --reason for the register (each is recorded as never filed)"
        )
    if not state.filings and not request.reason:
        return "nothing was reported: closing needs a reason for the register (--reason)"
    if sending:
        return "a filing or page is being sent; close again in a moment"
    if state.notification.running is not None:
        return "subscribers are still being notified: close once the campaign has finished"
    return None
