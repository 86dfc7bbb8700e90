"""The incident's clocks as a pure function of its state (no Temporal here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.lifecycle import FileReport, Scheduled, SendPage
from breachclock.domain.incident.model import (
    REQUIRED_FACTS,
    BreachType,
    Closure,
    EstablishedTime,
    Facts,
    FactsPatch,
    Filing,
    FilingKind,
    IncidentState,
    Measure,
    Policy,
    RootCause,
    SubscriberNotice,
    Track,
)
from breachclock.domain.instants import add_calendar_month
from breachclock.domain.regimes import RegimeCode

T0 = datetime(2025, 5, 6, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MARGIN = Policy().auto_file_margin


# --- helpers ---------------------------------------------------------------------------------


def complete_facts(**overrides: object) -> Facts:
    """Facts with every field in REQUIRED_FACTS known."""
    values: dict[str, object] = {
        "occurred": EstablishedTime(at="2025-05-06T07:15+02:00", how="firewall logs"),
        "affected_count": 1200,
        "breach_types": [BreachType.DISCLOSURE],
        "circumstances": "A misconfigured export made call records readable by a partner.",
        "services": ["Mobile telephony"],
        "data_kinds": ["traffic data"],
        "systems": ["billing export"],
        "location_and_media": "SFTP server in Stockholm",
        "root_cause": RootCause.MISTAKE,
        "subscriber_effect": "Call metadata seen by one partner.",
        "potential_consequences": "Low: partner under NDA, data deleted.",
        "measures_taken": [Measure(what="Access revoked")],
        "measures_planned": [Measure(what="Review export rules")],
        "other_providers": "None",
        "cross_border": "No",
        "subscriber_notice": SubscriberNotice(notified=True, means="SMS", notified_count=1200),
    }
    values.update(overrides)
    return Facts.model_validate(values)


def missing_facts() -> Facts:
    return complete_facts(root_cause=None, affected_count=None)


def new_state(
    code: RegimeCode = RegimeCode.PTS,
    facts: Facts | None = None,
    aware_at: datetime = T0,
    policy: Policy | None = None,
) -> IncidentState:
    state = IncidentState(
        reference="INC-2025-001",
        title="Billing export readable by partner",
        regime=code,
        opened_at=aware_at - HOUR,
        opened_by="Incident manager",
        policy=policy or Policy(),
        facts=facts if facts is not None else Facts(),
    )
    add_track(state, code, aware_at)
    return state


def add_track(state: IncidentState, code: RegimeCode, aware_at: datetime) -> Track:
    track = Track(regime=code, aware_at=aware_at)
    lifecycle.start_track(track)
    state.tracks.append(track)
    return track


def file(
    state: IncidentState,
    kind: FilingKind,
    sent_at: datetime,
    index: int = 0,
    due_at: datetime | None = None,
    stage: str | None = None,
) -> Filing:
    """Record ``kind`` as sent at ``sent_at``, the way the workflow does after sending.

    ``due_at`` and ``stage`` default to the current stage's; pass the scheduled step's
    values where they differ (after an extension the step carries no deadline).
    """
    track = state.tracks[index]
    current = lifecycle.current_stage(track)
    if stage is None:
        assert current is not None
        stage = current.name
        if due_at is None and not track.awaiting_final:
            due_at = lifecycle.stage_due(track, current)
    filing = Filing(
        number=state.next_filing_number,
        regime=track.regime,
        kind=kind,
        stage=stage,
        recipient="regulator@example.test",
        message_id=f"<{state.next_filing_number}@test>",
        sent_at=sent_at,
        due_at=due_at,
        late=lifecycle.is_late(due_at, sent_at),
        missing=state.facts.missing(),
        facts_version=state.facts_version,
    )
    state.next_filing_number += 1
    lifecycle.record_filing(state, index, filing)
    return filing


def filings(steps: list[Scheduled]) -> list[tuple[datetime, FileReport]]:
    return [(s.at, s.step) for s in steps if isinstance(s.step, FileReport)]


def pages(steps: list[Scheduled]) -> list[tuple[datetime, SendPage]]:
    return [(s.at, s.step) for s in steps if isinstance(s.step, SendPage)]


def summary(steps: list[Scheduled]) -> list[tuple[datetime, str]]:
    return [(s.at, s.step.key) for s in steps]


# --- PTS initial report ----------------------------------------------------------------------


def test_pts_schedule_at_awareness() -> None:
    state = new_state()
    due = T0 + 24 * HOUR
    steps = lifecycle.schedule(state, 0, T0)
    assert summary(steps) == [
        (due - 6 * HOUR, "initial_report:6h"),
        (due - 2 * HOUR, "initial_report:2h"),
        (due - timedelta(minutes=30), "initial_report:30m"),
        (due - MARGIN, "file:0:initial_report"),
        (due, "initial_report:overdue-1"),
    ]
    assert [s.at for s in steps] == sorted(s.at for s in steps)
    [(_, report)] = filings(steps)
    assert report == FileReport(0, FilingKind.INITIAL, "initial_report", due)
    sent = pages(steps)
    # Audiences widen: one per lead in order, then the overdue audience.
    assert [p.audience for _, p in sent] == [0, 1, 2, 3]
    assert all(p.due_at == due and p.covers == () for _, p in sent)


def test_auto_file_margin_and_leads_come_from_policy() -> None:
    policy = Policy(auto_file_margin=timedelta(hours=1), escalation_leads=[timedelta(hours=3)])
    state = new_state(policy=policy)
    due = T0 + 24 * HOUR
    assert summary(lifecycle.schedule(state, 0, T0)) == [
        (due - 3 * HOUR, "initial_report:3h"),
        (due - HOUR, "file:0:initial_report"),
        (due, "initial_report:overdue-1"),
    ]


def test_sent_escalations_are_not_scheduled_again() -> None:
    state = new_state()
    state.tracks[0].pages_sent = ["initial_report:6h", "initial_report:2h"]
    now = T0 + 23 * HOUR
    keys = [key for _, key in summary(lifecycle.schedule(state, 0, now))]
    assert keys == ["initial_report:30m", "file:0:initial_report", "initial_report:overdue-1"]


def test_after_downtime_only_the_most_urgent_escalation_is_paged() -> None:
    state = new_state()
    due = T0 + 24 * HOUR
    now = due - timedelta(minutes=20)  # the engine was down since before due - 6h
    steps = lifecycle.schedule(state, 0, now)
    lead_pages = [(at, p) for at, p in pages(steps) if not p.level.startswith("overdue")]
    assert len(lead_pages) == 1
    at, page = lead_pages[0]
    assert at == due - timedelta(minutes=30)
    assert page.key == "initial_report:30m"
    assert page.audience == 2
    assert page.covers == ("initial_report:6h", "initial_report:2h")
    # The filing and the overdue page are still there.
    assert summary(steps)[1:] == [
        (due - MARGIN, "file:0:initial_report"),
        (due, "initial_report:overdue-1"),
    ]


def test_past_the_deadline_the_overdue_page_stands_in_for_every_lead_page() -> None:
    state = new_state()
    due = T0 + 24 * HOUR
    now = due + HOUR  # down across every lead time and the deadline itself
    sent = [p for _, p in pages(lifecycle.schedule(state, 0, now))]
    assert [(p.level, p.covers) for p in sent] == [
        ("overdue-1", ("initial_report:6h", "initial_report:2h", "initial_report:30m")),
    ], "no stale 'due in 30m' page once the deadline has passed"


def test_two_fallen_due_escalations_cover_only_the_earlier() -> None:
    state = new_state()
    due = T0 + 24 * HOUR
    now = due - HOUR  # 6h and 2h fell due; 30m has not
    lead_pages = [p for _, p in pages(lifecycle.schedule(state, 0, now))]
    assert [(p.level, p.covers) for p in lead_pages] == [
        ("2h", ("initial_report:6h",)),
        ("30m", ()),
        ("overdue-1", ()),
    ]


def test_approval_files_before_the_margin() -> None:
    state = new_state()
    approved = T0 + 3 * HOUR
    state.tracks[0].approve_at = approved
    [(at, report)] = filings(lifecycle.schedule(state, 0, approved))
    assert at == approved
    assert report.kind is FilingKind.INITIAL and report.due_at == T0 + 24 * HOUR


def test_closed_incident_has_nothing_scheduled() -> None:
    state = new_state()
    state.closure = Closure(at=T0, by="Incident manager", reason="not an incident")
    assert lifecycle.schedule(state, 0, T0) == []


# --- PTS supplementary report ----------------------------------------------------------------


def test_initial_with_missing_facts_anchors_supplementary_at_sent_at() -> None:
    state = new_state(facts=missing_facts())
    sent_at = T0 + 5 * HOUR + timedelta(minutes=7)
    filing = file(state, FilingKind.INITIAL, sent_at)
    assert filing.missing == ["affected_count", "root_cause"]
    track = state.tracks[0]
    stage = lifecycle.current_stage(track)
    assert stage is not None and stage.name == "supplementary_report"
    assert track.stage_index == 1
    assert track.done == {"initial_report": sent_at}
    assert track.anchors["supplementary_report"] == sent_at
    assert lifecycle.stage_due(track, stage) == sent_at + 72 * HOUR
    assert track.awaiting_final is False
    assert state.filings == [filing]
    assert track.final_facts_version is None


def test_supplementary_due_is_strict_elapsed_hours_across_dst() -> None:
    # Filed the evening before the October change: 72 h is 09:00 CET, not 10:00 local.
    aware_at = datetime(2025, 10, 24, 9, 0, tzinfo=UTC)
    state = new_state(facts=missing_facts(), aware_at=aware_at)
    sent_at = datetime(2025, 10, 25, 8, 0, tzinfo=UTC)  # 10:00 CEST
    file(state, FilingKind.INITIAL, sent_at)
    track = state.tracks[0]
    stage = lifecycle.current_stage(track)
    assert stage is not None
    due = lifecycle.stage_due(track, stage)
    assert due == datetime(2025, 10, 28, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert due - sent_at == 72 * HOUR


def test_late_initial_still_anchors_supplementary_at_actual_submission() -> None:
    state = new_state(facts=missing_facts())
    sent_at = T0 + 30 * HOUR  # six hours late
    filing = file(state, FilingKind.INITIAL, sent_at)
    assert filing.late is True
    stage = lifecycle.current_stage(state.tracks[0])
    assert stage is not None and stage.name == "supplementary_report"
    assert lifecycle.stage_due(state.tracks[0], stage) == sent_at + 72 * HOUR


def supplementary_state(facts: Facts) -> tuple[IncidentState, datetime]:
    state = new_state(facts=missing_facts())
    sent_at = T0 + 20 * HOUR
    file(state, FilingKind.INITIAL, sent_at)
    state.facts = facts
    state.facts_version += 1
    return state, sent_at + 72 * HOUR


def test_supplementary_with_complete_facts_files_final_at_margin() -> None:
    state, due = supplementary_state(complete_facts())
    now = due - 48 * HOUR
    steps = lifecycle.schedule(state, 0, now)
    assert summary(steps) == [
        (due - 6 * HOUR, "supplementary_report:6h"),
        (due - 2 * HOUR, "supplementary_report:2h"),
        (due - timedelta(minutes=30), "supplementary_report:30m"),
        (due - MARGIN, "file:0:supplementary_report"),
        (due, "supplementary_report:overdue-1"),
    ]
    [(_, report)] = filings(steps)
    assert report == FileReport(0, FilingKind.FINAL, "supplementary_report", due)


def test_supplementary_missing_facts_with_justification_files_extension() -> None:
    state, due = supplementary_state(missing_facts())
    state.tracks[0].justification = "Forensics on the export server takes another two weeks."
    [(at, report)] = filings(lifecycle.schedule(state, 0, due - 48 * HOUR))
    assert at == due - MARGIN
    assert report == FileReport(0, FilingKind.EXTENSION, "supplementary_report", due)


def test_supplementary_missing_facts_without_justification_only_escalates() -> None:
    state, due = supplementary_state(missing_facts())
    steps = lifecycle.schedule(state, 0, due - 48 * HOUR)
    assert filings(steps) == []
    assert summary(steps) == [
        (due - 6 * HOUR, "supplementary_report:6h"),
        (due - 2 * HOUR, "supplementary_report:2h"),
        (due - timedelta(minutes=30), "supplementary_report:30m"),
        (due, "supplementary_report:overdue-1"),
    ]


def test_at_the_three_day_mark_what_is_known_is_filed_unless_justified() -> None:
    """Never silent at a deadline: facts missing and no justification, the follow-up goes
    at the deadline's margin with what is known; it meets the deadline as an extension
    does, and reminders (not overdue pages) follow until the rest is filed."""
    state, due = supplementary_state(missing_facts())
    state.files_at_deadline = True
    [(at, report)] = filings(lifecycle.schedule(state, 0, due - 48 * HOUR))
    assert (at, report) == (
        due - MARGIN,
        FileReport(0, FilingKind.AT_DEADLINE, "supplementary_report", due),
    )

    track = state.tracks[0]
    track.justification = "Forensics on the export server takes another two weeks."
    [(_, justified)] = filings(lifecycle.schedule(state, 0, due - 48 * HOUR))
    assert justified.kind is FilingKind.EXTENSION, "a justification filed: the extension goes"
    track.justification = None

    filing = file(state, FilingKind.AT_DEADLINE, due - MARGIN)
    assert not filing.late and track.awaiting_final
    assert track.done["supplementary_report"] == due - MARGIN
    steps = lifecycle.schedule(state, 0, due + HOUR)
    assert filings(steps) == []
    assert [p.level for _, p in pages(steps)] == ["reminder-1"], "no overdue page: it went"


def test_an_approval_at_the_three_day_mark_is_the_one_filing_there() -> None:
    """A person's go before the deadline's first page sends a partial report (the stage
    stays open); one given after that page, or as the engine files, is the deadline's one
    filing of what is known, theirs."""
    state, due = supplementary_state(missing_facts())
    state.files_at_deadline = True
    track = state.tracks[0]
    first_page = due - 6 * HOUR
    track.approve_at = first_page - HOUR
    [(at, partial)] = filings(lifecycle.schedule(state, 0, first_page - HOUR))
    assert (at, partial.kind) == (first_page - HOUR, FilingKind.SUPPLEMENTARY)

    for asked in (first_page, due - MARGIN - timedelta(seconds=1), due - MARGIN):
        track.approve_at = asked
        [(at, report)] = filings(lifecycle.schedule(state, 0, asked))
        assert (at, report.kind) == (asked, FilingKind.AT_DEADLINE)
    track.approve_at = due - MARGIN + timedelta(seconds=1)
    [(at, report)] = filings(lifecycle.schedule(state, 0, due))
    assert (at, report.kind) == (due - MARGIN, FilingKind.AT_DEADLINE)


def test_a_portal_follow_up_is_prepared_at_the_three_day_mark_at_the_first_page() -> None:
    """Denmark: the follow-up is prepared for the portal (where a person files it) as the
    initial report is, at the earliest escalation's lead."""
    state = new_state(code=RegimeCode.DK, facts=missing_facts())
    state.files_at_deadline = True
    state.tracks[0].via_portal = True
    sent_at = T0 + 20 * HOUR
    file(state, FilingKind.INITIAL, sent_at)
    due = sent_at + 72 * HOUR
    [(at, report)] = filings(lifecycle.schedule(state, 0, sent_at))
    assert (at, report.kind, report.due_at) == (due - 6 * HOUR, FilingKind.AT_DEADLINE, due)


def test_after_extension_reminders_then_final_as_soon_as_possible() -> None:
    state, due = supplementary_state(missing_facts())
    track = state.tracks[0]
    track.justification = "Forensics on the export server takes another two weeks."
    ext_sent = due - MARGIN
    filing = file(state, FilingKind.EXTENSION, ext_sent)
    assert filing.late is False
    assert track.awaiting_final is True
    assert track.done["supplementary_report"] == ext_sent
    assert track.stage_index == 1

    # Facts still missing: only a reminder, a day after the extension; no deadline pages.
    interval = state.policy.reminder_interval
    steps = lifecycle.schedule(state, 0, ext_sent + HOUR)
    assert filings(steps) == []
    [(at, reminder)] = pages(steps)
    assert at == ext_sent + interval
    assert (reminder.key, reminder.due_at) == ("supplementary_report:reminder-1", None)

    # The next reminder counts from the last one sent.
    track.last_reminder_at = ext_sent + interval + timedelta(minutes=3)
    track.pages_sent.append("supplementary_report:reminder-1")
    [(at, reminder)] = pages(lifecycle.schedule(state, 0, ext_sent + 30 * HOUR))
    assert at == track.last_reminder_at + interval
    assert reminder.level == "reminder-2"

    # An approval with facts still missing sends a supplementary report.
    track.approve_at = ext_sent + 40 * HOUR
    [(at, report)] = filings(lifecycle.schedule(state, 0, ext_sent + 40 * HOUR))
    assert (at, report.kind, report.due_at) == (track.approve_at, FilingKind.SUPPLEMENTARY, None)
    file(state, FilingKind.SUPPLEMENTARY, ext_sent + 40 * HOUR)
    assert track.awaiting_final is True and track.approve_at is None

    # Facts complete, well past the original due: FINAL now, not counted as late.
    state.facts = complete_facts()
    state.facts_version += 1
    now = due + 10 * 24 * HOUR
    [(at, report)] = filings(lifecycle.schedule(state, 0, now))
    assert at == now
    assert report == FileReport(0, FilingKind.FINAL, "supplementary_report", None)
    final = file(state, FilingKind.FINAL, now)
    assert (final.due_at, final.late) == (None, False)
    assert lifecycle.current_stage(track) is None
    assert track.final_facts_version == state.facts_version
    assert lifecycle.schedule(state, 0, now) == []


def test_complete_initial_finishes_pts_but_nis2_needs_own_final() -> None:
    state = new_state(facts=complete_facts())
    add_track(state, RegimeCode.NIS2, T0)
    pts, nis2 = state.tracks
    assert nis2.anchors == {"early_warning": T0, "incident_notification": T0}

    sent_at = T0 + 3 * HOUR
    file(state, FilingKind.INITIAL, sent_at, index=0)
    assert lifecycle.current_stage(pts) is None
    assert pts.done == {"initial_report": sent_at, "supplementary_report": sent_at}
    assert pts.final_facts_version == state.facts_version
    assert lifecycle.schedule(state, 0, sent_at) == []

    # NIS2: early warning at 24 h, notification at 72 h from awareness...
    [(at, report)] = filings(lifecycle.schedule(state, 1, T0))
    assert (at, report.kind, report.key) == (
        T0 + 24 * HOUR - MARGIN,
        FilingKind.EARLY_WARNING,
        "file:1:early_warning",
    )
    file(state, FilingKind.EARLY_WARNING, T0 + 4 * HOUR, index=1)
    stage = lifecycle.current_stage(nis2)
    assert stage is not None and stage.name == "incident_notification"
    assert lifecycle.stage_due(nis2, stage) == T0 + 72 * HOUR  # awareness, not the filing
    [(at, report)] = filings(lifecycle.schedule(state, 1, T0 + 4 * HOUR))
    assert (at, report.kind) == (T0 + 72 * HOUR - MARGIN, FilingKind.NOTIFICATION)

    # ...and a complete notification does not make the final report unnecessary.
    notified = datetime(2025, 5, 31, 9, 30, tzinfo=UTC)
    file(state, FilingKind.NOTIFICATION, notified, index=1)
    stage = lifecycle.current_stage(nis2)
    assert stage is not None and stage.name == "final_report" and stage.needs_own_filing
    final_due = lifecycle.stage_due(nis2, stage)
    assert final_due == add_calendar_month(notified) == datetime(2025, 6, 30, 9, 30, tzinfo=UTC)
    assert nis2.final_facts_version is None
    [(at, report)] = filings(lifecycle.schedule(state, 1, notified))
    assert at == final_due - MARGIN
    assert report == FileReport(1, FilingKind.FINAL, "final_report", final_due)
    file(state, FilingKind.FINAL, at, index=1)
    assert lifecycle.current_stage(nis2) is None


# --- IMY -------------------------------------------------------------------------------------


def test_imy_notification_then_awaiting_final_with_reminders_only() -> None:
    facts = complete_facts(root_cause=None, in_communications_service=False)
    state = new_state(RegimeCode.IMY, facts=facts)
    due = T0 + 72 * HOUR
    steps = lifecycle.schedule(state, 0, T0)
    assert summary(steps)[-2:] == [
        (due - MARGIN, "file:0:notification"),
        (due, "notification:overdue-1"),
    ]
    [(_, report)] = filings(steps)
    assert report.kind is FilingKind.INITIAL and report.due_at == due

    sent_at = T0 + 50 * HOUR
    file(state, FilingKind.INITIAL, sent_at)
    track = state.tracks[0]
    stage = lifecycle.current_stage(track)
    assert stage is not None and stage.name == "further_information"
    assert track.awaiting_final is True
    assert lifecycle.stage_due(track, stage) is None
    steps = lifecycle.schedule(state, 0, sent_at)
    assert summary(steps) == [
        (sent_at + state.policy.reminder_interval, "further_information:reminder-1")
    ]

    state.facts = complete_facts(in_communications_service=False)
    now = sent_at + 5 * HOUR
    [(at, report)] = filings(lifecycle.schedule(state, 0, now))
    assert (at, report.kind, report.due_at) == (now, FilingKind.FINAL, None)


def test_complete_imy_notification_finishes_the_track() -> None:
    state = new_state(RegimeCode.IMY, facts=complete_facts(in_communications_service=False))
    file(state, FilingKind.INITIAL, T0 + HOUR)
    assert lifecycle.current_stage(state.tracks[0]) is None
    assert lifecycle.schedule(state, 0, T0 + HOUR) == []


# --- overdue repetition ----------------------------------------------------------------------


def overdue_pages(steps: list[Scheduled]) -> list[tuple[datetime, str]]:
    return [(at, p.level) for at, p in pages(steps) if p.level.startswith("overdue")]


def test_overdue_repeats_from_last_page_not_per_missed_interval() -> None:
    state = new_state()
    track = state.tracks[0]
    due = T0 + 24 * HOUR
    repeat = state.policy.overdue_repeat
    # Engine down for 20 h past the deadline: one overdue page, due at the deadline.
    assert overdue_pages(lifecycle.schedule(state, 0, due + 20 * HOUR)) == [(due, "overdue-1")]

    # It pages then; the next repeat counts from that page.
    paged = due + 20 * HOUR
    track.pages_sent.append("initial_report:overdue-1")
    track.last_overdue_at = paged
    assert overdue_pages(lifecycle.schedule(state, 0, paged)) == [(paged + repeat, "overdue-2")]

    # Another page sent slightly late: still counted from the actual page.
    track.pages_sent.append("initial_report:overdue-2")
    track.last_overdue_at = paged + repeat + timedelta(minutes=11)
    assert overdue_pages(lifecycle.schedule(state, 0, paged + 2 * repeat)) == [
        (paged + 2 * repeat + timedelta(minutes=11), "overdue-3")
    ]


# --- pending_filing --------------------------------------------------------------------------


def test_pending_filing_before_first_filing_is_initial() -> None:
    state = new_state()
    now = T0 + 2 * HOUR
    pending = lifecycle.pending_filing(state, 0, now)
    assert pending == FileReport(0, FilingKind.INITIAL, "initial_report", T0 + 24 * HOUR)
    assert state.tracks[0].approve_at is None  # a probe, not a change


def test_pending_filing_with_missing_facts_before_three_day_due_is_supplementary() -> None:
    state, due = supplementary_state(missing_facts())
    pending = lifecycle.pending_filing(state, 0, due - 30 * HOUR)
    assert pending == FileReport(0, FilingKind.SUPPLEMENTARY, "supplementary_report", due)
    state.facts = complete_facts()
    pending = lifecycle.pending_filing(state, 0, due - 30 * HOUR)
    assert pending is not None and pending.kind is FilingKind.FINAL


def finished_then_corrected() -> IncidentState:
    """A PTS track finished by a complete initial report, then a fact corrected."""
    state = new_state(facts=complete_facts())
    file(state, FilingKind.INITIAL, T0 + HOUR)
    state.facts = state.facts.merged(FactsPatch(changes={"affected_count": 1350}))
    state.facts_version += 1
    return state


def test_pending_filing_after_done_is_correction_once_facts_move_on() -> None:
    state = new_state(facts=complete_facts())
    file(state, FilingKind.INITIAL, T0 + HOUR)
    track = state.tracks[0]
    assert lifecycle.current_stage(track) is None
    assert track.final_facts_version == 0
    assert not lifecycle.correction_pending(state, 0)
    assert lifecycle.pending_filing(state, 0, T0 + 5 * HOUR) is None

    state = finished_then_corrected()
    assert lifecycle.correction_pending(state, 0)
    now = T0 + 6 * HOUR
    pending = lifecycle.pending_filing(state, 0, now)
    assert pending == FileReport(0, FilingKind.CORRECTION, "correction", None)
    # Only an approval sends a correction.
    assert lifecycle.schedule(state, 0, now) == []
    state.tracks[0].approve_at = now
    assert summary(lifecycle.schedule(state, 0, now)) == [(now, "file:0:correction")]


def test_recording_a_correction_moves_final_facts_version() -> None:
    state = finished_then_corrected()
    track = state.tracks[0]
    now = T0 + 6 * HOUR
    track.approve_at = now
    [(_, step)] = filings(lifecycle.schedule(state, 0, now))
    assert isinstance(step, FileReport)
    filing = file(state, step.kind, now, due_at=step.due_at, stage=step.stage)
    assert filing.kind is FilingKind.CORRECTION and filing.late is False
    assert state.filings[-1] == filing
    assert track.final_facts_version == 1
    assert track.approve_at is None
    assert lifecycle.current_stage(track) is None
    assert lifecycle.pending_filing(state, 0, now) is None
    assert lifecycle.schedule(state, 0, now) == []


# --- Facts and FactsPatch --------------------------------------------------------------------


def test_missing_lists_every_required_fact_in_order() -> None:
    assert Facts().missing() == list(REQUIRED_FACTS)
    assert complete_facts().missing() == []


@pytest.mark.parametrize("name", REQUIRED_FACTS)
def test_missing_names_each_absent_fact(name: str) -> None:
    assert complete_facts(**{name: None}).missing() == [name]


def test_affected_scale_stands_in_for_a_count() -> None:
    facts = complete_facts(affected_count=None, affected_scale="about a thousand")
    assert facts.missing() == []
    assert complete_facts(affected_count=None, affected_scale="").missing() == ["affected_count"]


def test_facts_patch_validates_values_against_facts() -> None:
    patch = FactsPatch(
        changes={
            "affected_count": "12",
            "occurred": {"at": "2025-05-06 07:15 Europe/Stockholm", "how": "logs"},
            "root_cause": "mistake",
        }
    )
    assert patch.changes == {
        "affected_count": 12,
        "occurred": {"at": "2025-05-06T05:15:00+00:00", "how": "logs"},
        "root_cause": "mistake",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"afected_count": 3},
        {"affected_count": -1},
        {"root_cause": "sunspots"},
        {"occurred": {"at": "2025-05-06 07:15", "how": "logs"}},
        {"unknown_because": {"favourite_colour": "nobody asked"}},
    ],
)
def test_facts_patch_refuses(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FactsPatch(changes=changes)


def test_facts_patch_error_names_the_problem() -> None:
    with pytest.raises(ValidationError) as caught:
        FactsPatch(changes={})
    assert "no facts given" in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        FactsPatch(changes={"afected_count": 3})
    assert "afected_count" in str(caught.value)


def test_merged_replaces_only_named_fields() -> None:
    base = complete_facts(root_cause=None)
    merged = base.merged(
        FactsPatch(changes={"root_cause": "technical_fault", "cross_border": "DK"})
    )
    assert merged.root_cause is RootCause.TECHNICAL_FAULT
    assert merged.cross_border == "DK"
    assert merged.missing() == []
    unchanged = set(Facts.model_fields) - {"root_cause", "cross_border"}
    assert merged.model_dump(include=unchanged) == base.model_dump(include=unchanged)
    # The original is untouched (facts are frozen values).
    assert base.root_cause is None and base.cross_border == "No"


def test_merged_can_set_a_fact_back_to_unknown() -> None:
    merged = complete_facts().merged(FactsPatch(changes={"systems": None}))
    assert merged.systems is None
    assert merged.missing() == ["systems"]
    assert merged.occurred == complete_facts().occurred
