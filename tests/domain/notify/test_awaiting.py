"""What a pending person waits for, and at the end why a letter, as the CLI and the
console say it: the next step of the plan their campaign walks, when, and why not
sooner, in the reader's language (the first engine's calls then e-mail, and the plans
with SMS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from breachclock.domain.catalogue import Voice
from breachclock.domain.notify.delivery import (
    Awaiting,
    CallOutcome,
    Plan,
    Progress,
    awaiting,
    letter_reason,
    reason_words,
)
from breachclock.domain.notify.plan import (
    PRESETS,
    Attempt,
    Channel,
    Contact,
    Delivery,
    awaiting_on,
    walked_plan,
)
from breachclock.domain.regimes import RegimeCode

STOCKHOLM = "Europe/Stockholm"
NOON = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # 12:00 CET, a Monday
NIGHT = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)  # 23:00 CET
PLAN = Plan(attempts=5, spacing=timedelta(hours=2))
SV, EN = Voice("sv", STOCKHOLM), Voice("en", STOCKHOLM)


def words(waiting: Awaiting, voice: Voice) -> tuple[str, str | None]:
    return waiting.step.words(voice), waiting.why.words(voice) if waiting.why else None


def test_the_first_engine_s_calls_say_which_call_and_the_spacing_before_it() -> None:
    last_call = NOON - timedelta(minutes=30)
    made = Progress(
        calls_made=1,
        last_outcome=CallOutcome.NO_ANSWER,
        next_at=last_call + PLAN.spacing,
        has_phone=True,
        has_email=True,
    )
    waiting = awaiting(made, PLAN, NOON, STOCKHOLM)
    assert waiting.at == last_call + PLAN.spacing
    assert words(waiting, SV) == ("samtal 2 av 5", "2 h mellan försöken")
    assert words(waiting, EN) == ("call 2 of 5", "2 h between tries")


def test_an_sms_plan_says_the_sms_not_a_call() -> None:
    plan = walked_plan(RegimeCode.PTS, "sms_first", PLAN)
    assert plan is not None
    at_night = awaiting_on(plan, [Contact.PHONE], [], NIGHT, STOCKHOLM)
    assert at_night.at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert words(at_night, SV) == (
        "sms",
        "utanför kontakttiderna (09:00–20:00 på personens klocka)",
    )
    assert words(awaiting_on(plan, [Contact.PHONE], [], NOON, STOCKHOLM), EN) == (
        "the SMS",
        None,
    )


def test_a_sent_sms_waits_for_its_delivery_report_then_a_number_only_person_gets_a_letter() -> None:
    plan = walked_plan(RegimeCode.PTS, "sms_first", PLAN)
    assert plan is not None
    sent = Attempt(channel=Channel.SMS, number=1, at=NOON, delivery=Delivery.ACCEPTED)
    waiting = awaiting_on(plan, [Contact.PHONE], [sent], NOON, STOCKHOLM)
    assert (waiting.at, words(waiting, SV)) == (None, ("leveransbesked för sms", None))
    failed = sent.model_copy(update={"delivery": Delivery.FAILED})
    letter = awaiting_on(plan, [Contact.PHONE], [failed], NOON, STOCKHOLM)
    assert words(letter, EN) == ("a letter (nothing left to try)", None)


def test_calls_then_sms_count_the_operator_s_own_attempts() -> None:
    plan = walked_plan(RegimeCode.PTS, "calls_sms_email", PLAN)
    assert plan is not None
    calls = [
        Attempt(
            channel=Channel.CALL,
            number=n,
            at=NOON - timedelta(hours=2 * (6 - n)),
            delivery=Delivery.FAILED,
        )
        for n in range(1, 6)
    ]
    waiting = awaiting_on(plan, [Contact.PHONE, Contact.EMAIL], calls[:2], NOON, STOCKHOLM)
    assert words(waiting, EN)[0] == "call 3 of 5"
    assert words(awaiting_on(plan, [Contact.PHONE], calls, NOON, STOCKHOLM), SV)[0] == "sms"


def test_the_first_engine_s_plan_is_walked_its_own_way() -> None:
    assert walked_plan(RegimeCode.PTS, None, PLAN) is None
    assert walked_plan(RegimeCode.PTS, PRESETS["calls_then_email"], PLAN) is None


def test_a_letter_s_reason_is_kept_coded_and_worded_in_the_reader_s_language() -> None:
    called = Progress(
        calls_made=5,
        last_outcome=CallOutcome.NO_ANSWER,
        next_at=None,
        has_phone=True,
        has_email=False,
    )
    kept = letter_reason(called)
    assert reason_words(kept, SV) == "5 samtal nådde inte fram, och det finns ingen e-postadress"
    assert (
        reason_words(kept, Voice("da")) == "5 opkald nåede ikke frem, og der er ingen e-mailadresse"
    )
    # A relay's own answer, and reasons kept before they were coded, are shown as they are.
    assert reason_words("550 5.1.1 no such user", SV) == "550 5.1.1 no such user"
    assert reason_words("{not json", SV) == "{not json"
