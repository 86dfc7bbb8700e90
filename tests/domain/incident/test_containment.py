"""Takedown tasks: the directory, the transitions, when the next mail is due, the mail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest
from pydantic import ValidationError

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.containment import (
    TAKEDOWN_LIMIT,
    SendTakedown,
    TakedownReport,
    TakedownRequest,
    TakedownStatus,
    TakedownTask,
    all_confirmed,
    containment_steps,
    parse_directory,
    record_report,
    report_problem,
    request_problem,
    takedown_mail,
)
from breachclock.domain.problems import problems_of
from tests.problems import code, said

T0 = datetime(2026, 2, 24, 9, tzinfo=UTC)
DAY = timedelta(hours=24)


def task(recipient: str = "eniro", **kw: object) -> TakedownTask:
    values: dict[str, object] = {
        "recipient": recipient,
        "name": recipient.title(),
        "address": f"removals@{recipient}.example",
        "scope": "listings marked secret in the delivery of 2025-11-25",
        "count": 3,
        "requested_by": "Kim",
        "requested_at": T0,
    }
    return TakedownTask.model_validate(values | kw)


def test_the_shipped_directory_names_recipients_in_both_countries() -> None:
    shipped = resources.files("breachclock.domain.incident") / "takedown_directory.json"
    directory = parse_directory(json.loads(shipped.read_text(encoding="utf-8")))
    assert {"eniro", "hitta"} <= set(directory["se"]) and "118dk" in directory["dk"]
    with pytest.raises(ValidationError):
        parse_directory({"se": [{"id": "Bad Id", "name": "x", "email": "nope"}]})


def test_one_task_per_recipient_within_the_limit() -> None:
    request = TakedownRequest(
        recipient="eniro", name="Eniro", address="r@eniro.example", scope="x", count=1, by="Kim"
    )
    assert said(request_problem([task()], request)) == (
        "takedown.already_requested",
        "recipient",
        {"recipient": "Eniro"},
    )
    full = [task(f"r{n}") for n in range(TAKEDOWN_LIMIT)]
    assert said(request_problem(full, request)) == (
        "takedown.limit",
        None,
        {"limit": TAKEDOWN_LIMIT},
    )


def test_a_removal_is_confirmed_by_a_person_saying_how_they_verified_it() -> None:
    with pytest.raises(ValidationError) as unsaid:
        TakedownReport(recipient="eniro", status=TakedownStatus.CONFIRMED, by="Kim")
    assert [code(p) for p in problems_of(unsaid.value)] == [
        ("takedown.how_verified_needed", "how_verified")
    ]
    with pytest.raises(ValidationError) as unsaid:
        TakedownReport(recipient="eniro", status=TakedownStatus.FAILED, by="Kim")
    assert [code(p) for p in problems_of(unsaid.value)] == [("takedown.reason_needed", "reason")]
    tasks = [task()]
    done = TakedownReport(
        recipient="eniro", status=TakedownStatus.CONFIRMED, by="Kim", how_verified="searched"
    )
    assert report_problem(tasks, done, T0) is None
    record_report(tasks[0], done, T0 + DAY)
    assert tasks[0].confirmed_by == "Kim" and tasks[0].confirmed_at == T0 + DAY
    assert all_confirmed(tasks)
    assert said(report_problem(tasks, done, T0)) == (
        "takedown.settled",
        "status",
        {"recipient": "Eniro", "status": "confirmed"},
    )
    other = done.model_copy(update={"recipient": "hitta"})
    assert code(report_problem(tasks, other, T0)) == ("takedown.not_requested", "recipient")
    early = done.model_copy(update={"at": T0 - DAY})
    assert code(report_problem([task()], early, T0)) == ("takedown.before_request", "at")


def test_the_request_goes_at_once_then_a_reminder_each_interval_until_confirmed() -> None:
    fresh = task()
    assert [(d.at, d.step) for d in containment_steps([fresh], DAY)] == [
        (T0, SendTakedown("eniro", 0))
    ]
    sent = task(sent_at=T0, reminders=1, last_reminder_at=T0 + DAY)
    assert [(d.at, d.step) for d in containment_steps([sent], DAY)] == [
        (T0 + 2 * DAY, SendTakedown("eniro", 2))
    ]
    assert containment_steps([task(sent_at=T0, status=TakedownStatus.CONFIRMED)], DAY) == []
    assert not all_confirmed([]), "no containment is not a confirmed one"


def test_the_mail_says_what_to_remove_and_carries_no_personal_data() -> None:
    english = Voice("en", "Europe/Stockholm")
    draft = takedown_mail("INC-7", "Telco AB", "dpo@telco.example", task(), 2, T0, english)
    assert draft.idempotency_key == "INC-7:takedown:eniro:reminder:2"
    assert draft.subject == "Reminder: Removal request INC-7: 3 entries"
    assert "listings marked secret in the delivery of 2025-11-25" in draft.body
    assert "through your own removal channel, not by e-mail" in draft.body


def test_a_swedish_incident_asks_a_directory_company_in_swedish() -> None:
    swedish = Voice("sv", "Europe/Stockholm")
    draft = takedown_mail("INC-7", "Telco AB", "dpo@telco.example", task(), 0, T0, swedish)
    assert draft.subject == "Begäran om borttagning INC-7: 3 poster"
    assert "inga nummer, namn eller adresser" in draft.body and "request" not in draft.body
