"""One person's next step: calls in their calling hours (across DST), then e-mail, else a letter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from breachclock.domain.notify.delivery import (
    Call,
    CallOutcome,
    Counts,
    Email,
    Letter,
    Plan,
    Progress,
    Status,
    Wait,
    after_call,
    greeting,
    next_step,
)

PLAN = Plan(attempts=5, spacing=timedelta(hours=2))
STOCKHOLM = "Europe/Stockholm"


def progress(calls: int = 0, last: CallOutcome | None = None, **kw: object) -> Progress:
    base: dict[str, object] = {
        "calls_made": calls,
        "last_outcome": last,
        "next_at": None,
        "has_phone": True,
        "has_email": True,
    }
    return Progress(**{**base, **kw})  # type: ignore[arg-type]


def test_the_first_call_waits_for_nine_on_the_persons_clock_across_the_spring_change() -> None:
    # 29 March 2026: Swedish clocks go from 02:00 CET to 03:00 CEST. 09:00 CEST is 07:00 UTC.
    early = datetime(2026, 3, 29, 6, 30, tzinfo=UTC)  # 08:30 CEST
    assert next_step(progress(), PLAN, early, STOCKHOLM) == Wait(
        datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    )
    assert next_step(progress(), PLAN, early + timedelta(minutes=30), STOCKHOLM) == Call(1)
    # The day before, 09:00 CET was 08:00 UTC.
    before = datetime(2026, 3, 28, 7, 30, tzinfo=UTC)  # 08:30 CET
    assert next_step(progress(), PLAN, before, STOCKHOLM) == Wait(
        datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    )


def test_autumn_change_moves_the_end_of_calling_hours() -> None:
    # 25 October 2026: back to CET; 20:00 local is 19:00 UTC that evening.
    late = datetime(2026, 10, 25, 19, 0, tzinfo=UTC)
    assert next_step(progress(calls=1), PLAN, late, STOCKHOLM) == Wait(
        datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    )
    assert next_step(progress(calls=1), PLAN, late - timedelta(minutes=1), STOCKHOLM) == Call(2)


def test_after_the_last_failed_call_comes_the_email_else_a_letter() -> None:
    noon = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert (
        next_step(progress(calls=5, last=CallOutcome.NO_ANSWER), PLAN, noon, STOCKHOLM) == Email()
    )
    no_email = progress(calls=5, last=CallOutcome.BUSY, has_email=False)
    assert next_step(no_email, PLAN, noon, STOCKHOLM) == Letter()
    no_phone = progress(has_phone=False)
    assert next_step(no_phone, PLAN, noon, STOCKHOLM) == Email()


def test_an_invalid_number_is_not_called_again() -> None:
    noon = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    status, when = after_call(CallOutcome.INVALID_NUMBER, noon, PLAN)
    assert (status, when) == (Status.PENDING, None)
    step = next_step(progress(calls=1, last=CallOutcome.INVALID_NUMBER), PLAN, noon, STOCKHOLM)
    assert step == Email()


def test_only_a_confirmed_identity_delivers_the_call() -> None:
    noon = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert after_call(CallOutcome.REACHED_VERIFIED, noon, PLAN) == (Status.CALLED, None)
    for outcome in (
        CallOutcome.REACHED_UNVERIFIED,
        CallOutcome.NO_ANSWER,
        CallOutcome.BUSY,
        CallOutcome.VOICEMAIL,
        CallOutcome.FAILED,
    ):
        assert after_call(outcome, noon, PLAN) == (Status.PENDING, noon + PLAN.spacing)


def test_the_greeting_says_who_calls_and_for_whom_and_nothing_of_the_incident() -> None:
    text = greeting("Telco AB", "Anna Svensson", "sv")
    assert "Telco AB" in text and "Anna Svensson" in text
    assert not any(word in text.lower() for word in ("incident", "läck", "nummer", "data"))
    assert "the account holder" in greeting("Telco AB", None, "en")


def test_counts_add_up() -> None:
    a = Counts(people={Status.EMAILED: 2, Status.PENDING: 1}, calls={CallOutcome.BUSY: 3})
    b = Counts(people={Status.EMAILED: 1}, emails={"sent": 3})
    total = a.plus(b)
    assert total.people == {Status.EMAILED: 3, Status.PENDING: 1}
    assert (total.total, total.finished) == (4, 3)
    assert total.calls == {CallOutcome.BUSY: 3} and total.emails == {"sent": 3}
