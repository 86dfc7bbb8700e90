"""Notification campaigns on Temporal's time-skipping server, with a real SMTP server."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.ids import campaign_id
from breachclock.domain.incident.model import IncidentState, NoticeOrder
from breachclock.domain.notify.assessment import Assessment, Decision
from breachclock.domain.notify.delivery import CallOutcome, Status
from breachclock.domain.notify.identity import IdentityMethod
from breachclock.domain.notify.subscribers import Language
from breachclock.runtime.config import Settings
from breachclock.runtime.store import open_notify_store
from breachclock.service.engine import refusal_message
from tests.conftest import SmtpSink, approve_pending, harness, unique
from tests.notify_support import HARMFUL, decide, finish, load, notice, people, ready
from workflows.incident import IncidentWorkflow
from workflows.messages import SubscriberLoad

pytestmark = pytest.mark.usefixtures("campaign_history")

NO_ANSWER = {"no_answer": 1.0}
PTS = "incidentrapport@pts.se"


async def status(handle: WorkflowHandle[Any, Any]) -> IncidentState:
    state: IncidentState = await handle.query(IncidentWorkflow.status)
    return state


async def refused(handle: WorkflowHandle[Any, Any], update: Any, arg: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(update, arg)
    return refusal_message(caught.value)


async def test_five_unanswered_calls_then_one_email_and_the_filing_carries_copy_and_counts(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(
        skipping,
        tmp_path,
        smtp,
        BREACHCLOCK_SIMULATOR_OUTCOMES=NO_ANSWER,
        BREACHCLOCK_NOTIFY_BATCH=7,
    ) as h:
        handle = await h.discovered("INC-CAMP-1")
        crowd = people(20)
        crowd.append(people(1, start=99, email=False)[0])
        await ready(h.settings, handle, "INC-CAMP-1", crowd)
        await decide(handle)
        state = await finish(h.env, handle)
        counts = state.notification.waves[0].counts
        assert counts is not None
        assert counts.people == {Status.EMAILED: 20, Status.UNREACHABLE: 1}
        assert counts.calls == {CallOutcome.NO_ANSWER: 105}
        mails = Counter(k for k in smtp.keys() if ":email" in k)
        assert len(mails) == 20 and set(mails.values()) == {1}
        mail = next(m for m in smtp.messages if str(m["X-Breachclock-Key"]).endswith(":email"))
        subject = str(make_header(decode_header(str(mail["Subject"]))))
        assert "integritetsincident som rör dina uppgifter (ärende INC-CAMP-1)" in subject
        parts = {p.get_content_type(): p for p in mail.walk()}
        html = parts["text/html"].get_payload(decode=True).decode()  # type: ignore[union-attr]
        number = str(mail["To"]).removeprefix("person").split("@")[0]
        text = parts["text/plain"].get_payload(decode=True).decode()  # type: ignore[union-attr]
        assert f"Hej Person Number{number}," in text, "each notice names its own person"
        assert "<html" in html and "Ett fel i en migrering" in html

        # Every attempt is kept, per person, in calling hours on their own clock.
        async with open_notify_store(h.settings) as store:
            tried = await store.attempts("INC-CAMP-1", "S000001")
            letter = await store.unreachable("INC-CAMP-1")
        assert [a.channel for a in tried] == ["call"] * 5 + ["email"]
        for a in tried[:5]:
            local = a.at.astimezone(ZoneInfo("Europe/Stockholm"))
            assert 9 <= local.hour < 20
        assert [p.person.id for p in letter] == ["S000099"]

        fact = state.facts.subscriber_notice
        assert fact is not None and fact.notified and not fact.in_progress
        assert fact.notified_count == 20
        assert fact.outcomes["people.emailed"] == 20
        assert fact.outcomes["people.unreachable"] == 1

        result = await approve_pending(handle, "DPO")
        assert result.filed is not None
        (filing,) = smtp.to(PTS)
        body = filing.get_payload(0).get_payload(decode=True).decode()  # type: ignore[union-attr]
        assert "Kopia på underrättelsen" in body
        assert "Ett fel i en migrering gjorde hemliga nummer synliga." in body
        assert "underrättade per e-post: 20" in body
        assert "samtalsförsök – inget svar: 105" in body
        assert "person1@example.org" not in body and "Number1" not in body


async def test_unconfirmed_identity_counts_as_failed_and_nothing_is_disclosed(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(
        skipping,
        tmp_path,
        smtp,
        BREACHCLOCK_SIMULATOR_OUTCOMES={"reached_unverified": 1.0},
        BREACHCLOCK_CALL_ATTEMPTS=2,
    ) as h:
        handle = await h.open("INC-CAMP-2")
        await ready(h.settings, handle, "INC-CAMP-2", people(3))
        await decide(handle)
        state = await finish(h.env, handle)
    counts = state.notification.waves[0].counts
    assert counts is not None
    assert counts.calls == {CallOutcome.REACHED_UNVERIFIED: 6}
    assert counts.people == {Status.EMAILED: 3}, "an unconfirmed answer is not a delivery"


async def test_not_notifying_needs_a_justification_and_goes_into_the_report(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.open("INC-CAMP-3")
        harmless = {
            "data_kinds": ["subscriber_identity"],
            "consequences": ["none_identified"],
            "stolen": False,
            "known_with_third_party": False,
        }
        rec = await handle.execute_update(
            IncidentWorkflow.assess, Assessment.model_validate(harmless)
        )
        assert rec.notify is False
        await handle.execute_update(
            IncidentWorkflow.decide_notice,
            Decision(
                notify=False,
                exemption="no_adverse_effect",
                justification="Only customer numbers of no use to anyone outside were exposed.",
                decided_by="DPO",
            ),
        )
        state = await status(handle)
    fact = state.facts.subscriber_notice
    assert fact is not None and fact.notified is False
    assert "customer numbers" in (fact.justification or "")
    assert state.notification.waves == []


async def test_the_art4_exemption_is_refused_when_the_key_was_compromised_and_a_regulator_can_order_notice(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(
        skipping,
        tmp_path,
        smtp,
        BREACHCLOCK_SIMULATOR_OUTCOMES={"reached_verified": 1.0},
        BREACHCLOCK_IDENTITY_METHODS=["known_callback"],
    ) as h:
        handle = await h.open("INC-CAMP-4")
        leaked_key = {
            **HARMFUL,
            "protection": {
                "method": "standard_encryption",
                "algorithm": "AES-256-GCM",
                "key_compromised": True,
            },
        }
        await handle.execute_update(IncidentWorkflow.assess, Assessment.model_validate(leaked_key))
        message = await refused(
            handle,
            IncidentWorkflow.decide_notice,
            Decision(
                notify=False,
                exemption="unintelligible",
                justification="The data was encrypted with AES-256 throughout.",
                decided_by="DPO",
            ),
        )
        assert "compromised" in message

        message = await refused(
            handle,
            IncidentWorkflow.order_notice,
            NoticeOrder(by="PTS", recorded_by="DPO"),
        )
        assert "write the notice first" in message

        await load(h.settings, handle, people(4))
        await handle.execute_update(IncidentWorkflow.set_notice, notice("INC-CAMP-4"))
        answer = await handle.execute_update(
            IncidentWorkflow.order_notice,
            NoticeOrder(by="PTS", decision_reference="20-1234", recorded_by="DPO"),
        )
        assert "as ordered by PTS" in answer.message
        state = await finish(h.env, handle)
    counts = state.notification.waves[0].counts
    assert counts is not None and counts.people == {Status.CALLED: 4}
    assert smtp.messages == [], "everyone was told on the phone: no e-mail"
    assert counts.identified == {"known_callback": 4}, "each delivered call says how"
    fact = state.facts.subscriber_notice
    assert fact is not None and fact.ordered_by == "PTS" and fact.notified_count == 4
    assert fact.outcomes["identified.known_callback"] == 4


async def test_a_notice_missing_a_language_on_the_list_is_refused(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.open("INC-CAMP-5")
        await load(h.settings, handle, people(2, language="da"))
        message = await refused(handle, IncidentWorkflow.set_notice, notice("INC-CAMP-5"))
        assert "Danish" in message
        # And the other way round: a page the recorded notice cannot be written to.
        other = await h.open("INC-CAMP-5B")
        await other.execute_update(IncidentWorkflow.set_notice, notice("INC-CAMP-5B"))
        page = SubscriberLoad(
            source="late.csv", page_key="0" * 32, count=1, languages=[Language.DA]
        )
        message = await refused(other, IncidentWorkflow.add_subscribers, page)
    assert "no Danish text" in message


async def test_people_added_during_a_campaign_are_told_too_and_nobody_twice(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(
        skipping, tmp_path, smtp, BREACHCLOCK_CALL_ATTEMPTS=0, BREACHCLOCK_NOTIFY_BATCH=3
    ) as h:
        handle = await h.open("INC-CAMP-6")
        await ready(h.settings, handle, "INC-CAMP-6", people(5))
        await decide(handle)
        await load(h.settings, handle, people(8))  # the first five again, and three more
        state = await finish(h.env, handle)
        await load(h.settings, handle, people(2, start=50))  # after it finished: a second wave
        state = await finish(h.env, handle, waves=2)
    assert state.notification.people == 10
    keys = Counter(smtp.keys())
    assert len(keys) == 10 and set(keys.values()) == {1}


async def test_an_agent_call_nobody_records_goes_back_on_the_list(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(
        skipping,
        tmp_path,
        smtp,
        BREACHCLOCK_CALLS="agents",
        BREACHCLOCK_CALL_ATTEMPTS=1,
        BREACHCLOCK_CALLING_HOURS="00:00-23:59",
    ) as h:
        handle = await h.open("INC-CAMP-7")
        await ready(h.settings, handle, "INC-CAMP-7", people(1))
        await decide(handle)
        settings: Settings = h.settings
        async with open_notify_store(settings) as store:
            first = None
            for _ in range(100):
                first = await store.claim("agent-a", datetime.now(UTC), hold=0.5)
                if first is not None:
                    break
                await asyncio.sleep(0.1)
            assert first is not None and first.key == "INC-CAMP-7:S000001:call:1"
            assert await store.claim("agent-b", datetime.now(UTC), hold=0.5) is None
            await asyncio.sleep(0.6)  # agent A never records it
            again = await store.claim("agent-b", datetime.now(UTC), hold=60)
            assert again is not None and again.key == first.key
            assert await store.report(
                again.key,
                CallOutcome.REACHED_VERIFIED,
                IdentityMethod.BANKID,
                datetime.now(UTC),
                "agent-b",
            )
            assert not await store.report(
                again.key, CallOutcome.NO_ANSWER, None, datetime.now(UTC), "agent-b"
            )
        state = await finish(h.env, handle)
    counts = state.notification.waves[0].counts
    assert counts is not None and counts.people == {Status.CALLED: 1}
    assert counts.identified == {"bankid": 1}, "the agent's method reaches the counts"
    assert smtp.messages == []


async def test_an_agents_invalid_number_is_emailed_at_once_not_after_the_slice(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """A person's next step follows their own outcome: while an agent still holds the
    other call of the slice, the one whose number is not in use gets their e-mail."""
    async with harness(
        dev_server,
        tmp_path,
        smtp,
        BREACHCLOCK_CALLS="agents",
        BREACHCLOCK_CALLING_HOURS="00:00-23:59",
    ) as h:
        ref = unique("AGENT")
        handle = await h.open(ref)
        await ready(h.settings, handle, ref, people(2))
        await decide(handle)
        async with open_notify_store(h.settings) as store:
            held = []
            for _ in range(200):
                item = await store.claim("agent-a", datetime.now(UTC), hold=600)
                if item is not None:
                    held.append(item)
                if len(held) == 2:
                    break
                await asyncio.sleep(0.1)
            assert len(held) == 2
            wrong, kept = held
            assert await store.report(
                wrong.key, CallOutcome.INVALID_NUMBER, None, datetime.now(UTC), "agent-a"
            )
            number = wrong.key.split(":")[1]
            address = f"person{int(number[1:])}@example.org"
            await h.wait_for(lambda: smtp.to(address) != [], 30)
            assert (await store.work_item(kept.key)) is not None
            assert (await store.reported([kept.key])) == {}, "the other call is still out"
            assert await store.report(
                kept.key,
                CallOutcome.REACHED_VERIFIED,
                IdentityMethod.BANKID,
                datetime.now(UTC),
                "agent-a",
            )
        state = await finish_live(handle)
    counts = state.notification.waves[0].counts
    assert counts is not None and counts.people == {Status.CALLED: 1, Status.EMAILED: 1}
    assert len(smtp.to(address)) == 1, "once: the round after finds it sent"


async def finish_live(handle: WorkflowHandle[Any, Any]) -> IncidentState:
    for _ in range(300):
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        if state.notification.waves and all(w.finished_at for w in state.notification.waves):
            return state
        await asyncio.sleep(0.1)
    raise AssertionError("the campaign did not finish")


async def test_a_campaign_ended_by_hand_does_not_wedge_the_incident(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """On the dev server: the time-skipping one does not tell a parent its child was ended."""
    async with harness(
        dev_server, tmp_path, smtp, BREACHCLOCK_CALLS="agents", BREACHCLOCK_CALL_ATTEMPTS=1
    ) as h:
        ref = unique("CAMP")
        handle = await h.open(ref)
        await ready(h.settings, handle, ref, people(2))
        await decide(handle)
        child = h.client.get_workflow_handle(campaign_id(ref, 1))
        await child.terminate("started by mistake")
        for _ in range(200):
            state = await status(handle)
            if state.notification.waves[0].finished_at:
                break
            await asyncio.sleep(0.1)
        assert state.notification.waves[0].failure == "Terminated"
        assert any("ended without finishing" in e.what for e in state.timeline)
        # Deciding again starts a new wave, and the incident can still close after it.
        await decide(handle)
        state = await status(handle)
        assert [w.number for w in state.notification.waves] == [1, 2]
