"""The rules moved out of the workflow, as plain functions: when an approval or a close
may act, why a filing is late, what a page changes, what the next deadline is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident import lifecycle, views
from breachclock.domain.incident.checks import (
    approval_problem,
    close_problem,
    expected_problems,
)
from breachclock.domain.incident.lifecycle import SendPage
from breachclock.domain.incident.model import (
    Approve,
    Close,
    Closure,
    Discover,
    FilingKind,
    IncidentState,
)
from breachclock.domain.incident.register import closed_row
from breachclock.domain.instants import countdown, zone
from breachclock.domain.regimes import RegimeCode
from tests.domain.incident.test_lifecycle import HOUR, T0, file, missing_facts, new_state
from tests.problems import code, said

DAY = timedelta(days=1)


def discovered(**kw: object) -> IncidentState:
    state = new_state(**kw)  # type: ignore[arg-type]
    state.discovery = Discover(at=T0, by="On-call", how="a customer asked")
    return state


def test_an_approval_names_the_pending_filing_and_a_second_is_answered() -> None:
    state = discovered(facts=missing_facts())
    assert said(approval_problem(state, Approve(by="M"), T0)) == (
        "approve.name_filing_pending",
        "filing",
        {"pending": "initial_report"},
    )
    wrong = Approve(by="M", filing="supplementary_report", facts_version=0)
    assert said(approval_problem(state, wrong, T0)) == (
        "approve.not_pending",
        "filing",
        {"pending": "initial_report", "filing": "supplementary_report"},
    )
    right = Approve(by="M", filing="initial_report", facts_version=0)
    assert approval_problem(state, right, T0) is None
    file(state, FilingKind.INITIAL, T0 + HOUR)
    assert approval_problem(state, right, T0 + 2 * HOUR) is None, "answered, not refused"


def test_a_late_follow_up_with_facts_missing_needs_the_justification_then_the_reasons() -> None:
    state = discovered(facts=missing_facts())
    file(state, FilingKind.INITIAL, T0 + HOUR)
    late = T0 + HOUR + 3 * DAY + HOUR
    approval = Approve(by="M", filing="supplementary_report", facts_version=0)
    assert code(approval_problem(state, approval, late)) == ("approve.justify_first", None)
    state.tracks[0].justification = "The supplier's analysis is not done yet."
    assert code(approval_problem(state, approval, late)) == ("approve.late_reason", "late_reason")
    reasoned = approval.model_copy(update={"late_reason": "the relay was down"})
    assert approval_problem(state, reasoned, late) is None
    nis2 = Approve(by="M", filing="early_warning", track=RegimeCode.NIS2)
    assert said(approval_problem(state, nis2, late)) == (
        "track.not_open",
        "track",
        {"regime": "nis2"},
    )


def test_a_date_a_fact_is_expected_by_may_not_be_over_in_the_operators_zone() -> None:
    """Past 23:00 UTC on 6 December it is 7 December in Stockholm: the 6th is over there,
    though not in UTC, and not in New York; today is still allowed, and a date recorded
    before and left as it was is not refused again."""
    now = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    sixth, seventh = date(2026, 12, 6), date(2026, 12, 7)
    given = {"systems": sixth, "root_cause": seventh}
    found = expected_problems({}, given, "Europe/Stockholm", now)
    assert [said(p) for p in found] == [
        ("facts.expected_past", "expected.systems", {"on": "2026-12-06", "today": "2026-12-07"})
    ]
    assert expected_problems({}, given, "America/New_York", now) == []
    assert expected_problems({"systems": sixth}, given, "Europe/Stockholm", now) == []
    assert expected_problems({}, given, "Europe/Stockholm", now - timedelta(minutes=31)) == []
    moved = expected_problems({"systems": seventh}, given, "Europe/Stockholm", now)
    assert [code(p) for p in moved] == [("facts.expected_past", "expected.systems")]


def test_closing_over_reports_still_due_names_each_and_takes_abandon_and_a_reason() -> None:
    state = new_state()
    refused = close_problem(state, Close(by="M", reason="final report filed"), False)
    assert said(refused) == (
        "close.reports_due",
        "abandon_reports",
        {"reports": ["pts.initial_report", "pts.supplementary_report"]},
    )
    assert refused is not None
    assert "PTS, inledande rapport och PTS, kompletterande rapport" in refused.words(Voice("sv"))
    no_reason = Close(by="M", abandon_reports=True)
    assert code(close_problem(state, no_reason, False)) == ("close.reports_due", "abandon_reports")
    abandoned = Close(by="M", reason="handed over to the group CERT", abandon_reports=True)
    assert close_problem(state, abandoned, sending=False) is None
    assert code(close_problem(state, abandoned, sending=True)) == ("close.sending", None)


def test_closing_with_nothing_due_and_nothing_reported_needs_a_reason() -> None:
    state = new_state()
    state.tracks = []  # never discovered: no clock ever started
    assert code(close_problem(state, Close(by="M"), False)) == ("close.reason_needed", "reason")
    assert close_problem(state, Close(by="M", reason="a false alarm"), False) is None


def test_the_register_and_status_say_which_reports_were_never_filed() -> None:
    state = new_state()
    state.closure = Closure(
        at=T0 + HOUR,
        by="M",
        reason="handed over",
        never_filed=lifecycle.reports_due(state),
    )
    row = closed_row(state)
    assert row.never_filed == ["pts:initial_report", "pts:supplementary_report"]
    text = views.status_text(state, T0 + 2 * HOUR)
    assert "never filed: pts:initial_report, pts:supplementary_report" in text
    assert " open" not in text and "due in" not in text
    assert all(d["standing"] == "never filed" for d in views.deadlines(state, T0 + 2 * HOUR))


def test_a_late_filing_says_why_in_order_of_what_is_known_in_the_filings_language() -> None:
    """A Swedish filing's late reason is Swedish: the engine writes no English into it."""
    state = new_state()
    track, tz = state.tracks[0], zone("Europe/Stockholm")
    due = lifecycle.stage_due(track, lifecycle.current_stage(track))  # type: ignore[arg-type]
    assert due is not None
    assert lifecycle.late_reason(state, track, due, due - HOUR, tz) is None
    down = lifecycle.late_reason(state, track, due, due + HOUR, tz) or ""
    assert "otillgänglig" in down and "unavailable" not in down
    state.discovery_recorded_at = due + HOUR
    recorded = lifecycle.late_reason(state, track, due, due + HOUR, tz) or ""
    assert "registrerades" in recorded and "recorded only" not in recorded
    assert "kl." in recorded  # the instant as a Swedish document writes it
    track.last_error = "451 4.3.0 Try again later"
    relay = lifecycle.late_reason(state, track, due, due + HOUR, tz) or ""
    assert "kunde inte skickas" in relay and "451" not in relay, "the relay's words stay out"
    track.failing_since = due - HOUR
    relay = lifecycle.late_reason(state, track, due, due + HOUR, tz) or ""
    assert (
        "inledande rapport" in relay and "från 2025-05-07 kl. 09:00" in relay and "Try" not in relay
    )


def test_a_page_marks_its_escalations_done_and_restarts_the_overdue_rhythm() -> None:
    state = new_state()
    step = SendPage(0, "overdue-1", 3, "initial_report", T0 + DAY, covers=("initial_report:6h",))
    lifecycle.record_page(state, step, T0 + DAY, recipients=4, failure=None)
    track = state.tracks[0]
    assert track.pages_sent == ["initial_report:overdue-1", "initial_report:6h"]
    assert track.last_overdue_at == T0 + DAY and state.pages[-1].recipients == 4
    assert lifecycle.next_deadline(state) == lifecycle.initial_due(state) == T0 + DAY


def test_a_countdown_reads_in_minutes_hours_or_days_and_says_overdue() -> None:
    assert countdown(T0 + timedelta(minutes=59, seconds=59), T0) == "due in 59 min"
    assert countdown(T0 + timedelta(hours=23, minutes=40), T0) == "due in 23 h 40 min"
    assert countdown(T0 + timedelta(days=1, hours=23), T0) == "due in 47 h 0 min"
    assert countdown(T0 + timedelta(days=3, hours=2), T0) == "due in 3 d 2 h"
    assert countdown(T0 - timedelta(hours=2, minutes=5), T0) == "overdue by 2 h 5 min"
