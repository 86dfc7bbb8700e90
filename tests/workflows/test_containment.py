"""Containment on the time-skipping server with a real SMTP server: takedown mail once
per key, reminders and owner pages until removal is confirmed, a campaign that waits for
the last confirmation, and the filing carrying every task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.filing import MailActivities
from activities.mailer import Mailer
from breachclock.app.engine import relay_for
from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.containment import (
    TakedownReport,
    TakedownRequest,
    TakedownStatus,
    TakedownTask,
    takedown_mail,
)
from breachclock.domain.incident.model import IncidentState
from breachclock.domain.notify.assessment import Decision
from breachclock.runtime.store import open_store
from breachclock.service.engine import refusal_message
from tests.conftest import SmtpSink, approve_pending, harness, settings_for, subject_of
from tests.notify_support import finish, people, ready
from workflows.incident import IncidentWorkflow

ENIRO = TakedownRequest(
    recipient="eniro",
    name="Eniro",
    address="removals@eniro.example",
    scope="listings marked secret in the delivery of 2025-11-25",
    count=3,
    by="Incident Manager",
)
HITTA = ENIRO.model_copy(
    update={"recipient": "hitta", "name": "Hitta.se", "address": "removals@hitta.example"}
)


async def status(handle: WorkflowHandle[Any, Any]) -> IncidentState:
    result: IncidentState = await handle.query(IncidentWorkflow.status)
    return result


def confirmed(recipient: str) -> TakedownReport:
    return TakedownReport(
        recipient=recipient,
        status=TakedownStatus.CONFIRMED,
        by="Kim",
        how_verified="searched their service for all 3 entries: none found",
    )


async def test_takedowns_are_reminded_and_a_bounded_wait_for_containment_ends_with_the_last(
    skipping: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    """The campaign waits for the last confirmation; the wait has the policy's bound, at
    which management is paged, and a filing made meanwhile says why nobody is told yet."""
    async with harness(
        skipping,
        tmp_path,
        smtp,
        BREACHCLOCK_SIMULATOR_OUTCOMES={"reached_verified": 1.0},
        BREACHCLOCK_TAKEDOWN_REMIND_HOURS=6,
        BREACHCLOCK_CONTAINMENT_WAIT_HOURS=6,
    ) as h:
        handle = await h.discovered("INC-CONTAIN")
        await ready(h.settings, handle, "INC-CONTAIN", people(2))
        early = Decision(notify=True, decided_by="DPO", after_containment=True)
        try:
            await handle.execute_update(IncidentWorkflow.decide_notice, early)
        except WorkflowUpdateFailedError as err:
            assert "no takedown has been requested" in refusal_message(err)
        else:
            raise AssertionError("waiting for no containment must be refused")

        for request in (ENIRO, HITTA):
            await handle.execute_update(IncidentWorkflow.request_takedown, request)
        try:
            await handle.execute_update(IncidentWorkflow.request_takedown, ENIRO)
        except WorkflowUpdateFailedError as err:
            assert "a takedown was already requested from Eniro" in refusal_message(err)
        answer = await handle.execute_update(IncidentWorkflow.decide_notice, early)
        assert (
            answer.message == "notifying 2 people once every takedown is confirmed (0 of 2 so far)"
        )

        await skipping.sleep(timedelta(hours=1))
        asked = smtp.to("removals@eniro.example")
        assert [subject_of(m) for m in asked] == ["Begäran om borttagning INC-CONTAIN: 3 poster"]
        assert asked[0]["X-Breachclock-Key"] == "INC-CONTAIN:takedown:eniro"
        await handle.execute_update(
            IncidentWorkflow.report_takedown,
            TakedownReport(recipient="eniro", status=TakedownStatus.ACKNOWLEDGED, by="Kim"),
        )
        await handle.execute_update(IncidentWorkflow.report_takedown, confirmed("eniro"))

        await skipping.sleep(timedelta(hours=6))  # Hitta.se has not confirmed
        reminded = smtp.to("removals@hitta.example")
        assert [subject_of(m) for m in reminded] == [
            "Begäran om borttagning INC-CONTAIN: 3 poster",
            "Påminnelse: begäran om borttagning INC-CONTAIN: 3 poster",
        ]
        assert len(smtp.to("removals@eniro.example")) == 1, "a confirmed task is not reminded"
        (owner,) = [m for m in smtp.messages if "borttagningen hos Hitta.se" in subject_of(m)]
        assert "incident-manager@operator.example" in str(owner["To"])
        state = await status(handle)
        assert state.notification.waves == [] and state.notification.waiting_for_containment
        (bound,) = [m for m in smtp.messages if "väntat på borttagning" in subject_of(m)]
        assert "management@operator.example" in str(bound["To"]), "past the bound: management"
        assert "Pröva beslutet på nytt" in bound.get_payload(decode=True).decode()
        assert state.notification.wait_pages == 1
        await approve_pending(handle, "Incident Manager")  # a filing while it waits

        done = await handle.execute_update(IncidentWorkflow.report_takedown, confirmed("hitta"))
        assert done.message.endswith("2 of 2 takedowns confirmed; notifying 2 people")
        await finish(h.env, handle)
        await skipping.sleep(timedelta(hours=17))
        state = await status(handle)

    (wave,) = state.notification.waves
    last = max(t.confirmed_at for t in state.takedowns if t.confirmed_at)
    assert wave.started_at >= last, "nobody is told before every takedown is confirmed"
    assert not state.notification.waiting_for_containment
    assert len(state.filings) == 1
    (mail,) = smtp.to("incidentrapport@pts.se")
    text = mail.get_payload()[0].get_payload(decode=True).decode()
    assert "Begäranden om borttagning (inneslutning)" in text
    assert "Hitta.se (3)" in text and "borttagningen bekräftad av Kim" in text
    assert "Begäran om borttagning skickad till Eniro (3 poster)" in text
    assert "så att ingen får höra att uppgifterna tagits bort innan de har det" in text
    assert "operatörens gräns för väntan (6 h) nåddes" in text, "the wait, its reason, its bound"


async def test_a_takedown_mail_goes_once_whatever_attempt_sends_it(
    tmp_path: Any, smtp: SmtpSink
) -> None:
    """Two attempts with one business key: the key's record decides, the second sends nothing."""
    settings = settings_for(tmp_path, smtp)
    settings.keyring(create=True)
    task = TakedownTask(
        recipient="eniro",
        name="Eniro",
        address="removals@eniro.example",
        scope="listings marked secret",
        count=3,
        requested_by="Kim",
        requested_at=datetime.now(UTC),
    )
    english = Voice("en")
    draft = takedown_mail(
        "INC-ONCE", "Telco", "dpo@telco.example", task, 0, datetime.now(UTC), english
    )
    assert "+46" not in draft.body and "numbers, names or addresses" in draft.body
    async with open_store(settings) as store:
        mail = MailActivities(Mailer(relay_for(settings), store))
        first = await mail.send_takedown(draft)
        again = await mail.send_takedown(draft)
    assert len(smtp.to("removals@eniro.example")) == 1
    assert again.duplicate and again.message_id == first.message_id
