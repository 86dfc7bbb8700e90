"""Every side effect exactly once, under the faults an outside review met.

Real parts throughout: Temporal (the time-skipping server where clocks matter, the dev
server where real time does), an SMTP server on 127.0.0.1 that turns some recipients
away or answers slowly, the store on SQLite. Every test counts what arrived at the
SMTP server: each person's notice once, each filing once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.api import Advance
from activities.calls import Simulator, SimulatorConfig
from activities.notify import NotifyActivities
from breachclock.app.demo import comviq_notice
from breachclock.app.engine import relay_for
from breachclock.domain.catalogue import Voice
from breachclock.domain.ids import campaign_id
from breachclock.domain.incident.model import (
    Approve,
    Close,
    IncidentState,
    OpenSecurityReport,
    TimelineInput,
)
from breachclock.domain.notify.delivery import Plan, Status, reason_words
from breachclock.domain.notify.notice import Operator
from breachclock.domain.notify.subscribers import Subscriber
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime.store import open_notify_store
from tests.conftest import SmtpSink, approve_pending, harness, runs_of, settings_for, unique
from tests.notify_support import decide, finish, people, person, ready
from workflows.incident import IncidentWorkflow
from workflows.messages import ApproveResult

EMAIL_ONLY = {"BREACHCLOCK_CALL_ATTEMPTS": 0, "BREACHCLOCK_NOTIFY_BATCH": 8}


def odd_crowd() -> list[Subscriber]:
    """40 people; three of them meet a relay that will not simply take their e-mail."""
    crowd = people(40)
    # internationalised: the relay needs SMTPUTF8 to take it
    crowd[2] = Subscriber.model_validate({**person(3).model_dump(), "email": "jörg@exämple.se"})
    return crowd


async def test_one_bad_recipient_neither_duplicates_nor_stalls_the_campaign(
    skipping: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Greylisted for good, no such mailbox, an address the relay cannot take: each of
    those three gets a letter with the reason, everyone else exactly one e-mail."""
    smtp = SmtpSink(smtputf8=False)
    smtp.deferring.add("person5@example.org")
    smtp.rejecting.add("person9@example.org")
    smtp.controller.start()
    try:
        async with harness(skipping, tmp_path, smtp, **EMAIL_ONLY) as h:
            handle = await h.discovered("INC-BAD-1")
            await ready(h.settings, handle, "INC-BAD-1", odd_crowd())
            await decide(handle)
            state = await finish(h.env, handle)
            async with open_notify_store(h.settings) as store:
                letters = {
                    r.person.id: reason_words(r.reason, Voice("en"))
                    for r in await store.unreachable("INC-BAD-1")
                }
                tried = await store.attempts("INC-BAD-1", "S000005")
    finally:
        smtp.controller.stop()
    notices = smtp.notices()
    assert len(notices) == 37 and set(notices.values()) == {1}, "everyone else once, nobody twice"
    assert set(letters) == {"S000003", "S000005", "S000009"}
    assert "SMTPUTF8" in (letters["S000003"] or "")
    assert "451 4.7.1" in (letters["S000005"] or "") and "6 times" in (letters["S000005"] or "")
    assert "550 5.1.1" in (letters["S000009"] or "")
    for reason in letters.values():
        assert "example.org" not in (reason or "") and "exämple" not in (reason or "")
    assert [a.outcome for a in tried] == ["deferred"] * 6, "the sixth deferral ends in a letter"
    counts = state.notification.waves[0].counts
    assert counts is not None
    assert counts.people == {Status.EMAILED: 37, Status.UNREACHABLE: 3}
    assert state.notification.running is None, "the campaign ended: the incident can close"


async def test_an_internationalised_address_goes_where_the_relay_offers_smtputf8(
    skipping: WorkflowEnvironment, tmp_path: Path
) -> None:
    smtp = SmtpSink(smtputf8=True)
    smtp.controller.start()
    try:
        async with harness(skipping, tmp_path, smtp, **EMAIL_ONLY) as h:
            handle = await h.discovered("INC-UTF8")
            await ready(h.settings, handle, "INC-UTF8", odd_crowd())
            await decide(handle)
            state = await finish(h.env, handle)
    finally:
        smtp.controller.stop()
    assert len(smtp.notices()) == 40
    (raw,) = [m for m in smtp.raw if b"INC-UTF8:S000003:email" in m]
    assert "To: jörg@exämple.se".encode() in raw, "RFC 6532: the header in UTF-8, as it is"
    counts = state.notification.waves[0].counts
    assert counts is not None and counts.people == {Status.EMAILED: 40}


async def test_two_rounds_of_one_slice_at_once_tell_everyone_once(
    tmp_path: Path, smtp: SmtpSink
) -> None:
    """A zombie and its retry, as the store sees them: two ``advance`` of one slice
    running together. Each key is claimed once; the loser sends nothing."""
    settings = settings_for(tmp_path, smtp)
    crowd = people(60)
    async with open_notify_store(settings) as store:
        await store.stage("INC-Z", "a" * 32, crowd, datetime.now(UTC))
        await store.load("INC-Z", "a" * 32)
        plan = Plan(attempts=0)
        rounds = [
            NotifyActivities(store, Simulator(SimulatorConfig()), relay_for(settings))
            for _ in range(2)
        ]
        request = Advance(
            reference="INC-Z",
            first=0,
            end=60,
            now=datetime.now(UTC),
            plan=plan,
            notice=comviq_notice("INC-Z", datetime(2025, 6, 1, tzinfo=UTC)),
            operator=Operator(name="Operator", email="kund@operator.example"),
        )
        reports = await asyncio.gather(*(r.advance(request) for r in rounds))
    notices = smtp.notices()
    assert len(notices) == 60 and set(notices.values()) == {1}
    last = max(reports, key=lambda r: r.counts.people.get(Status.EMAILED, 0))
    assert last.counts.people == {Status.EMAILED: 60} and last.counts.emails == {"sent": 60}


async def test_a_zombie_round_after_a_heartbeat_timeout_sends_nothing_twice(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The relay holds its answers longer than the heartbeat timeout: Temporal takes the
    round for dead and runs it again while the first still sends."""
    smtp = SmtpSink()
    smtp.slow, smtp.slow_for = 2.5, 3
    smtp.controller.start()
    try:
        async with harness(
            dev_server,
            tmp_path,
            smtp,
            BREACHCLOCK_CALL_ATTEMPTS=0,
            BREACHCLOCK_NOTIFY_BATCH=30,
            BREACHCLOCK_NOTIFY_HEARTBEAT_SECONDS=1,
        ) as h:
            ref = unique("ZOMBIE")
            handle = await h.open(ref)
            await ready(h.settings, handle, ref, people(30))
            await decide(handle)
            async with asyncio.timeout(90):
                while (await handle.query(IncidentWorkflow.status)).notification.running:  # noqa: ASYNC110 - polls a workflow
                    await asyncio.sleep(0.3)
            history = await h.client.get_workflow_handle(campaign_id(ref, 1)).fetch_history()
    finally:
        smtp.controller.stop()
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert max(attempts) >= 2, "the first round was taken for dead and run again"
    notices = smtp.notices()
    assert len(notices) == 30 and set(notices.values()) == {1}


async def test_a_broken_connection_stops_its_round_and_the_retry_tells_everyone_once(
    skipping: WorkflowEnvironment, tmp_path: Path
) -> None:
    """One share's connection breaks mid-round: the round's other shares are stopped and
    awaited before it fails, and its retry sends only what was not sent."""
    smtp = SmtpSink()
    smtp.dropping.add("person6@example.org")
    smtp.controller.start()
    try:
        async with harness(
            skipping, tmp_path, smtp, BREACHCLOCK_CALL_ATTEMPTS=0, BREACHCLOCK_NOTIFY_BATCH=40
        ) as h:
            handle = await h.discovered("INC-DROP")
            await ready(h.settings, handle, "INC-DROP", people(40))
            await decide(handle)
            state = await finish(h.env, handle)
    finally:
        smtp.controller.stop()
    notices = smtp.notices()
    assert len(notices) == 40 and set(notices.values()) == {1}
    counts = state.notification.waves[0].counts
    assert counts is not None and counts.people == {Status.EMAILED: 40}


async def test_a_campaign_continues_as_new_with_rounds_running_and_counts_exactly(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(
        skipping,
        tmp_path,
        smtp,
        BREACHCLOCK_SIMULATOR_OUTCOMES={"no_answer": 1.0},
        BREACHCLOCK_CALL_ATTEMPTS=2,
        BREACHCLOCK_CALL_SPACING_MINUTES=0,
        BREACHCLOCK_CALLING_HOURS="00:00-23:59",
        BREACHCLOCK_NOTIFY_BATCH=3,
        BREACHCLOCK_NOTIFY_PARALLEL=3,
        BREACHCLOCK_NOTIFY_HISTORY_BUDGET=40,
    ) as h:
        handle = await h.discovered("INC-CAN")
        await ready(h.settings, handle, "INC-CAN", people(30))
        await decide(handle)
        state = await finish(h.env, handle)
        runs = await runs_of(skipping.client, campaign_id("INC-CAN", 1))
    assert len(runs) >= 3, "the campaign continued as new, more than once"
    for earlier in runs[:-1]:
        assert earlier.events[-1].event_type == (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        )
    counts = state.notification.waves[0].counts
    assert counts is not None
    assert counts.people == {Status.EMAILED: 30}, "carried exactly: nobody counted twice"
    assert counts.calls == {"no_answer": 60}
    notices = smtp.notices()
    assert len(notices) == 30 and set(notices.values()) == {1}
    fact = state.facts.subscriber_notice
    assert fact is not None and fact.notified_count == 30


PTS = "incidentrapport@pts.se"


async def test_two_approvals_at_once_file_once_and_both_are_answered(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered("INC-TWICE")
        first, second = await asyncio.gather(
            approve_pending(handle, "Manager"), approve_pending(handle, "Deputy")
        )
        # The same approval again, a moment later (the same command re-run), and the
        # same filing approved by someone else: answered, never a second filing.
        again = await approve_pending_named(handle, "initial_report", "Manager")
        state = await handle.query(IncidentWorkflow.status)
    assert first.filed is not None and second.filed is not None and again.filed is not None
    assert first.filed.number == second.filed.number == again.filed.number == 1
    assert "already sent" in again.message
    assert len(smtp.to(PTS)) == 1 and [f.kind.value for f in state.filings] == ["initial"]


async def test_an_approval_is_answered_by_its_own_track_s_filing(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """A NIS2 early warning filed while a PTS approval waits does not answer it."""
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered("INC-TRACKS")
        await handle.execute_update(
            IncidentWorkflow.open_security_report, OpenSecurityReport(by="CISO")
        )
        nis2, pts = await asyncio.gather(
            approve_pending(handle, "CISO", track=RegimeCode.NIS2),
            approve_pending(handle, "Manager"),
        )
    assert nis2.filed is not None and nis2.filed.regime is RegimeCode.NIS2
    assert pts.filed is not None and pts.filed.regime is RegimeCode.PTS


async def approve_pending_named(handle: Any, filing: str, by: str) -> ApproveResult:
    state = await handle.query(IncidentWorkflow.status)
    result: ApproveResult = await handle.execute_update(
        IncidentWorkflow.approve, Approve(by=by, filing=filing, facts_version=state.facts_version)
    )
    return result


async def test_a_page_the_relay_refuses_for_good_is_recorded_and_blocks_nothing(
    skipping: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The on-call's address is refused with a 5xx: the page is recorded as failed (its
    retries spent), the next pages and the filing go on time, and the incident closes."""
    smtp = SmtpSink()
    smtp.rejecting.add("oncall@operator.example")
    smtp.controller.start()
    try:
        async with harness(skipping, tmp_path, smtp) as h:
            handle = await h.discovered("INC-PAGE")
            await skipping.sleep(timedelta(hours=23, minutes=50))
            state: IncidentState = await handle.query(IncidentWorkflow.status)
            await handle.execute_update(
                IncidentWorkflow.close,
                Close(by="Manager", reason="test of a refused page", abandon_reports=True),
            )
            await handle.result()
    finally:
        smtp.controller.stop()
    first = state.pages[0]
    assert first.level == "6h" and first.failed and "550 5.1.1" in first.failed
    assert "oncall@" not in first.failed, "the reason quotes no address"
    assert [p.level for p in state.pages] == ["6h", "2h", "30m"]
    assert [p.failed is None for p in state.pages] == [False, True, True]
    assert len(smtp.to(PTS)) == 1, "the filing went on time"


async def test_an_incident_continues_as_new_while_its_campaign_runs_and_hears_its_end(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """Both workflows continue as new again and again while the campaign runs (on the
    dev server: the time-skipping one stops skipping once a parent with a running child
    has continued as new). The campaign's end still reaches the incident, which then
    files the notice's counts, and a wave started in one run is finished in another."""
    async with harness(
        dev_server,
        tmp_path,
        smtp,
        BREACHCLOCK_SIMULATOR_OUTCOMES={"no_answer": 1.0},
        BREACHCLOCK_CALL_ATTEMPTS=2,
        BREACHCLOCK_CALL_SPACING_MINUTES=0,
        BREACHCLOCK_CALLING_HOURS="00:00-23:59",
        BREACHCLOCK_NOTIFY_BATCH=4,
        BREACHCLOCK_HISTORY_BUDGET=20,
        BREACHCLOCK_NOTIFY_HISTORY_BUDGET=20,
    ) as h:
        ref = unique("CAN-BOTH")
        handle = await h.discovered(ref)
        await ready(h.settings, handle, ref, people(40))
        await decide(handle)
        for n in range(12):  # the incident's history grows while the campaign runs
            await handle.execute_update(
                IncidentWorkflow.add_event,
                TimelineInput(at=await h.now(), what=f"step {n}", by="On-call"),
            )
        async with asyncio.timeout(120):
            while True:
                state = await handle.query(IncidentWorkflow.status)
                if state.notification.waves[0].finished_at:
                    break
                await asyncio.sleep(0.3)
        incident_runs = await runs_of(h.client, handle.id)
        campaign_runs = await runs_of(h.client, campaign_id(ref, 1))
        result = await approve_pending(handle, "DPO")
    assert len(incident_runs) >= 3 and len(campaign_runs) >= 3
    counts = state.notification.waves[0].counts
    assert counts is not None and counts.people == {Status.EMAILED: 40}
    assert counts.calls == {"no_answer": 80}
    notices = smtp.notices()
    assert len(notices) == 40 and set(notices.values()) == {1}
    assert sum("step" in e.what for e in state.timeline) == 12, "nothing lost across the runs"
    assert result.filed is not None and len(smtp.to(PTS)) == 1
