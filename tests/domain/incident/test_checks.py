"""The rules moved out of the workflow, as plain functions: when an approval or a close
may act, why a filing is late, what a page changes, what the next deadline is."""

from __future__ import annotations

from datetime import timedelta

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.checks import approval_problem, close_problem
from breachclock.domain.incident.lifecycle import SendPage
from breachclock.domain.incident.model import Approve, Close, Discover, FilingKind, IncidentState
from breachclock.domain.instants import zone
from breachclock.domain.regimes import RegimeCode
from tests.domain.incident.test_lifecycle import HOUR, T0, file, missing_facts, new_state

DAY = timedelta(days=1)


def discovered(**kw: object) -> IncidentState:
    state = new_state(**kw)  # type: ignore[arg-type]
    state.discovery = Discover(at=T0, by="On-call", how="a customer asked")
    return state


def test_an_approval_names_the_pending_filing_and_a_second_is_answered() -> None:
    state = discovered(facts=missing_facts())
    assert "name the filing" in (approval_problem(state, Approve(by="M"), T0) or "")
    wrong = Approve(by="M", filing="supplementary_report", facts_version=0)
    assert "the pending filing is the initial_report" in (approval_problem(state, wrong, T0) or "")
    right = Approve(by="M", filing="initial_report", facts_version=0)
    assert approval_problem(state, right, T0) is None
    file(state, FilingKind.INITIAL, T0 + HOUR)
    assert approval_problem(state, right, T0 + 2 * HOUR) is None, "answered, not refused"


def test_a_late_follow_up_with_facts_missing_needs_the_justification_then_the_reasons() -> None:
    state = discovered(facts=missing_facts())
    file(state, FilingKind.INITIAL, T0 + HOUR)
    late = T0 + HOUR + 3 * DAY + HOUR
    approval = Approve(by="M", filing="supplementary_report", facts_version=0)
    assert "give the justification first" in (approval_problem(state, approval, late) or "")
    state.tracks[0].justification = "The supplier's analysis is not done yet."
    assert "--late-reason" in (approval_problem(state, approval, late) or "")
    reasoned = approval.model_copy(update={"late_reason": "the relay was down"})
    assert approval_problem(state, reasoned, late) is None
    nis2 = Approve(by="M", filing="early_warning", track=RegimeCode.NIS2)
    assert "no report to nis2 is open" in (approval_problem(state, nis2, late) or "")


def test_closing_needs_a_reason_while_reports_are_open_and_waits_for_a_send() -> None:
    state = new_state()
    assert "reports to pts are not complete" in (close_problem(state, Close(by="M"), False) or "")
    reasoned = Close(by="M", reason="handed over")
    assert close_problem(state, reasoned, sending=False) is None
    assert "being sent" in (close_problem(state, reasoned, sending=True) or "")


def test_a_late_filing_says_why_in_order_of_what_is_known() -> None:
    state = new_state()
    track, tz = state.tracks[0], zone("Europe/Stockholm")
    due = lifecycle.stage_due(track, lifecycle.current_stage(track))  # type: ignore[arg-type]
    assert due is not None
    assert lifecycle.late_reason(state, track, due, due - HOUR, tz) is None
    assert "engine was unavailable" in (
        lifecycle.late_reason(state, track, due, due + HOUR, tz) or ""
    )
    state.discovery_recorded_at = due + HOUR
    assert "recorded only at" in (lifecycle.late_reason(state, track, due, due + HOUR, tz) or "")
    track.last_error = "451 4.3.0 (at …)"
    assert "could not be sent" in (lifecycle.late_reason(state, track, due, due + HOUR, tz) or "")


def test_a_page_marks_its_escalations_done_and_restarts_the_overdue_rhythm() -> None:
    state = new_state()
    step = SendPage(0, "overdue-1", 3, "initial_report", T0 + DAY, covers=("initial_report:6h",))
    lifecycle.record_page(state, step, T0 + DAY, recipients=4, failure=None)
    track = state.tracks[0]
    assert track.pages_sent == ["initial_report:overdue-1", "initial_report:6h"]
    assert track.last_overdue_at == T0 + DAY and state.pages[-1].recipients == 4
    assert lifecycle.next_deadline(state) == lifecycle.initial_due(state) == T0 + DAY
