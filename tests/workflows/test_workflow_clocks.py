"""The incident's clocks on Temporal's time-skipping server, with a real SMTP server."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities import api
from breachclock.domain.incident.model import (
    Approve,
    Discover,
    FactsPatch,
    FilingKind,
    IncidentState,
    Justify,
    OpenSecurityReport,
)
from breachclock.domain.regimes import RegimeCode
from tests.conftest import SmtpSink, approve_pending, harness, runs_of, subject_of
from tests.facts import ALL_BUT_ROOT_CAUSE, COMPLETE, ROOT_CAUSE
from tests.history_events import local_activity_type
from workflows.incident import MIN_SLEEP, REARM_LEAD, IncidentWorkflow, sleep_toward

pytestmark = pytest.mark.usefixtures("history")

PTS = "incidentrapport@pts.se"


async def status(handle: WorkflowHandle[Any, Any]) -> IncidentState:
    result: IncidentState = await handle.query(IncidentWorkflow.status)
    return result


def subjects(smtp: SmtpSink) -> list[str]:
    return [subject_of(m) for m in smtp.messages]


async def test_initial_report_is_filed_before_due_with_escalations_first(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        aware = (await status(handle)).discovery.at  # type: ignore[union-attr]
        await skipping.sleep(timedelta(hours=23, minutes=44))
        assert smtp.to(PTS) == [], "nothing is filed before the auto-file margin"
        await skipping.sleep(timedelta(minutes=10))
        state = await status(handle)

    lead = r"PTS: inledande rapport ska lämnas om (\d+ \w+) \("
    leads = [re.search(lead, s) for s in subjects(smtp)[:3]]
    assert [m.group(1) if m else None for m in leads] == ["6 h", "2 h", "30 min"]
    assert [p.level for p in state.pages] == ["6h", "2h", "30m"]
    assert [p.recipients for p in state.pages] == [1, 2, 3], "each page reaches further"
    (filing,) = state.filings
    assert filing.kind is FilingKind.INITIAL and not filing.late
    assert filing.sent_at <= aware + timedelta(hours=24) - timedelta(minutes=15) + timedelta(
        minutes=1
    )
    assert state.pages[-1].sent_at < filing.sent_at
    (mail,) = smtp.to(PTS)
    assert mail["Message-ID"] == filing.message_id
    body = mail.get_payload()[0].get_payload(decode=True).decode()
    assert "Referensnummer: INC-1" in body and "okänt" in body
    assert "stående fullmakt som Karin Berg (Incidentansvarig)" in body, "who answers for it"


async def test_approve_files_at_once(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        result = await approve_pending(handle, "Manager")
        assert result.filed is not None and result.filed.number == 1
        assert result.filed.approved_by == "Manager"
        state = await status(handle)
    assert len(smtp.to(PTS)) == 1
    assert state.pages == [], "filed long before any escalation"
    assert state.state_label == "reported"


async def test_complete_facts_by_three_days_give_the_supplementary_final(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        await approve_pending(handle, "Manager")
        await handle.execute_update(IncidentWorkflow.record_facts, FactsPatch(changes=COMPLETE))
        await skipping.sleep(timedelta(hours=72))
        state = await status(handle)
    assert [f.kind for f in state.filings] == [FilingKind.INITIAL, FilingKind.FINAL]
    assert state.filings[1].sent_at - state.filings[0].sent_at <= timedelta(hours=72)
    assert state.state_label == "completed"
    assert state.filings[1].missing == []


async def test_missing_facts_with_justification_give_an_extension_then_reminders_until_final(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        await approve_pending(handle, "Manager")
        await handle.execute_update(
            IncidentWorkflow.record_facts, FactsPatch(changes=ALL_BUT_ROOT_CAUSE)
        )
        await handle.execute_update(
            IncidentWorkflow.justify,
            Justify(by="Manager", text="The supplier's analysis of the migration is not done yet."),
        )
        await skipping.sleep(timedelta(hours=72))
        state = await status(handle)
        assert [f.kind for f in state.filings] == [FilingKind.INITIAL, FilingKind.EXTENSION]
        assert state.filings[1].justification and not state.filings[1].late
        extension_mail = smtp.to(PTS)[1].get_payload()[0].get_payload(decode=True).decode()
        assert "supplier's analysis" in extension_mail

        await skipping.sleep(timedelta(days=2, hours=1))
        reminders = [p for p in (await status(handle)).pages if p.level.startswith("reminder")]
        assert [p.level for p in reminders] == ["reminder-1", "reminder-2"]

        await handle.execute_update(IncidentWorkflow.record_facts, FactsPatch(changes=ROOT_CAUSE))
        await skipping.sleep(timedelta(days=3))
        state = await status(handle)
    assert [f.kind for f in state.filings][-1] is FilingKind.FINAL
    assert not state.filings[-1].late, "after an extension the rest is 'as soon as possible'"
    assert len([p for p in state.pages if p.level.startswith("reminder")]) == 2, "reminders stop"


async def test_missing_facts_without_justification_are_filed_at_the_three_day_mark_once(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    """Never silent at a deadline: facts missing and no justification, the follow-up goes
    at the 3-day mark with what is known, each missing fact dated; two approvals given
    just before the engine files are that one filing, and the engine files no second
    (counted at the relay)."""
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        await approve_pending(handle, "Manager")
        expected = (await h.now() + timedelta(days=10)).date().isoformat()
        changes = {**ALL_BUT_ROOT_CAUSE, "expected": {"root_cause": expected}}
        await handle.execute_update(IncidentWorkflow.record_facts, FactsPatch(changes=changes))
        state = await status(handle)
        margin = state.filings[0].sent_at + timedelta(hours=72, minutes=-15)
        # A minute before the engine would file: within the deadline's last window (its
        # pages said the engine files at the margin), two people approve at once. Not at
        # the margin itself: an approval whose workflow task is running when the filing's
        # timer fires completes with a CancelTimer for it (the loop re-arms on every
        # change), and the time-skipping server refuses that completion ("invalid history
        # builder state for action") and never times the task out or sends it again, so
        # the run hangs. Reproduced with one approval 0-30 ms before the margin: 2 hangs
        # in 12 tries on a loaded machine, the history ending TimerStarted,
        # WorkflowTaskScheduled, WorkflowTaskStarted. It is the test server's: its
        # processCancelTimer has no case for a timer whose TimerFired is buffered
        # (temporalio/sdk-java#2606, #3088; fix proposed in #3060), where the real server
        # drops the buffered fire and records TimerCanceled. On the dev server (the real
        # one) 31 incidents approved from 60 ms before to 60 ms after their initial
        # report's margin each answered, filed once, with no workflow task failed. The
        # domain's test covers the approval and the engine's step in one task.
        await skipping.sleep(margin - timedelta(minutes=1) - await h.now())
        approval = Approve(
            by="Manager", filing="supplementary_report", facts_version=state.facts_version
        )
        answers = await asyncio.gather(
            *(handle.execute_update(IncidentWorkflow.approve, approval) for _ in range(2))
        )
        await skipping.sleep(timedelta(hours=13))
        state = await status(handle)

    assert [f.kind for f in state.filings] == [FilingKind.INITIAL, FilingKind.AT_DEADLINE]
    follow_up = state.filings[1]
    assert not follow_up.late and follow_up.missing == ["root_cause"]
    assert [a.filed.number if a.filed else None for a in answers] == [2, 2]
    assert [p.level for p in state.pages if p.deadline == "supplementary_report"] == [
        "6h",
        "2h",
        "30m",
    ], "no overdue page: the deadline was met"
    pages = [m.get_payload(decode=True).decode() for m in smtp.messages if PTS not in m["To"]]
    assert any("Annars lämnas rapporten automatiskt" in body for body in pages)
    _initial, mail = smtp.to(PTS)
    assert mail["Message-ID"] == follow_up.message_id
    body = mail.get_payload()[0].get_payload(decode=True).decode()
    assert "UPPGIFTER SAKNAS VID TIDSFRISTEN" in body
    assert f"väntas senast {expected} (enligt operatörens uppgift)" in body
    assert follow_up.approved_by == "Manager"
    assert "Ansvarig för rapporten: Manager (godkände rapporten)" in body


async def test_filing_after_a_late_discovery_is_late_and_says_why(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.open()
        await handle.execute_update(
            IncidentWorkflow.discover,
            Discover(
                at=await h.now() - timedelta(hours=30), by="On-call", how="found in old tickets"
            ),
        )
        await skipping.sleep(timedelta(minutes=1))
        state = await status(handle)
    (filing,) = state.filings
    assert filing.late
    assert filing.late_reason and "registrerades först" in filing.late_reason
    body = smtp.to(PTS)[0].get_payload()[0].get_payload(decode=True).decode()
    assert "RAPPORTEN LÄMNAS FÖR SENT" in body


async def test_smtp_down_across_the_deadline_retries_and_files_late_saying_so_in_swedish(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        await skipping.sleep(timedelta(hours=23))
        smtp.refusing = {PTS}
        await skipping.sleep(timedelta(hours=2))
        state = await status(handle)
        assert state.filings == []
        assert state.tracks[0].last_error and "451" in state.tracks[0].last_error
        overdue_page = next(m for m in smtp.messages if "försenad sedan" in subject_of(m))
        body = overdue_page.get_payload(decode=True).decode()
        assert "går inte att skicka" in body and "451" not in body
        smtp.refusing = set()
        await skipping.sleep(timedelta(minutes=15))
        state = await status(handle)
    (filing,) = state.filings
    assert filing.late and "e-postserver tog inte emot den från" in (filing.late_reason or "")
    assert "451" not in (filing.late_reason or ""), "the relay's English stays with engineers"
    assert len(smtp.to(PTS)) == 1


async def test_imy_clock_is_72_hours(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    from tests.facts import OUTSIDE_SERVICE

    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered(regime=RegimeCode.IMY, facts=OUTSIDE_SERVICE)
        await skipping.sleep(timedelta(hours=71))
        assert (await status(handle)).filings == []
        await skipping.sleep(timedelta(hours=1))
        state = await status(handle)
        assert [f.kind for f in state.filings] == [FilingKind.INITIAL]
        assert state.filings[0].recipient == "imy@imy.se"
        assert state.tracks[0].awaiting_final, "GDPR: the rest follows in phases"
        await skipping.sleep(timedelta(days=1, hours=1))
        assert any(p.level == "reminder-1" for p in (await status(handle)).pages)


async def test_nis2_report_runs_its_own_clocks_beside_pts(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        await handle.execute_update(
            IncidentWorkflow.open_security_report, OpenSecurityReport(by="CISO")
        )
        await skipping.sleep(timedelta(hours=24))
        state = await status(handle)
        nis2 = [f for f in state.filings if f.regime is RegimeCode.NIS2]
        assert [f.kind for f in nis2] == [FilingKind.EARLY_WARNING]
        await skipping.sleep(timedelta(hours=48))
        state = await status(handle)
        nis2 = [f for f in state.filings if f.regime is RegimeCode.NIS2]
        assert [f.kind for f in nis2] == [FilingKind.EARLY_WARNING, FilingKind.NOTIFICATION]
        track = state.track(RegimeCode.NIS2)
        assert track is not None and track.stage_index == 2
        due = track.anchors["final_report"]
        assert due == nis2[1].sent_at
    assert len(smtp.to("cert@cert.se")) == 2
    assert len([f for f in state.filings if f.regime is RegimeCode.PTS]) >= 1


async def test_retried_filing_activity_never_mails_twice(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    """The ledger answers a second attempt with the same key: nothing is sent again."""
    from activities.filing import MailActivities
    from activities.mailer import Mailer
    from breachclock.app.engine import relay_for
    from breachclock.domain.incident.lifecycle import FileReport
    from breachclock.domain.incident.report import build_draft
    from breachclock.runtime.store import open_store

    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        state = await status(handle)
    mail = MailActivities(Mailer(relay_for(h.settings), open_store(h.settings)))
    step = FileReport(0, FilingKind.INITIAL, "initial_report", None)
    draft = build_draft(state, step, 7, await h.now(), None)
    first = await mail.file_report(draft)
    again = await mail.file_report(draft)
    assert not first.duplicate and again.duplicate
    assert again.message_id == first.message_id
    assert smtp.keys().count("INC-1:7") == 1


def test_a_distant_step_is_approached_in_two_sleeps() -> None:
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert sleep_toward(now + timedelta(hours=24), now) == timedelta(hours=24) - REARM_LEAD
    assert sleep_toward(now + 2 * REARM_LEAD, now) == 2 * REARM_LEAD
    assert sleep_toward(now + timedelta(milliseconds=1), now) == MIN_SLEEP
    assert sleep_toward(now - timedelta(hours=1), now) == MIN_SLEEP


def sends(event: Any) -> bool:
    """A page or filing sent: by an activity task, or from the task as a local activity."""
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return True
    return local_activity_type(event) in {api.SEND_PAGE, api.FILE_REPORT}


async def test_every_step_fires_from_a_timer_armed_just_before_it(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    """A timer armed hours ahead by a task that waited in a busy worker would fire late
    by that wait; the timer a page or filing fires from is armed at most 2 × the lead
    before it, from a fresh task."""
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        await skipping.sleep(timedelta(hours=24))
        state = await status(handle)
        runs = await runs_of(h.client, handle.id)
    assert len(state.pages) == 3 and len(state.filings) == 1
    # Every run in order (a run that continued as new hands a due step to the next one).
    events = [(run, e) for run, history in enumerate(runs) for e in history.events]
    lengths = {
        (run, e.timer_started_event_attributes.timer_id): (
            e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        )
        for run, e in events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    }
    firing = []
    for index, (run, event) in enumerate(events):
        if event.event_type != EventType.EVENT_TYPE_TIMER_FIRED:
            continue
        # The tasks after it, up to the next timer firing: did they start a page or filing?
        after = []
        for _, later in events[index + 1 :]:
            if later.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
                break
            after.append(later)
        if any(sends(e) for e in after):
            firing.append(lengths[(run, event.timer_fired_event_attributes.timer_id)])
    assert len(firing) == 4, "the three pages and the filing each fire from a timer"
    assert all(length <= 2 * REARM_LEAD for length in firing)
    assert max(lengths.values()) > timedelta(hours=3), "the long waits are still one timer"
