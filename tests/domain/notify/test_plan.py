"""A notification plan as data: the steps a person goes through, and the counts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from breachclock.domain.catalogue import Voice
from breachclock.domain.notify.delivery import CallOutcome, Counts, Plan, Status
from breachclock.domain.notify.plan import (
    PRESETS,
    Attempt,
    Channel,
    ChannelPlan,
    Contact,
    Delivery,
    Ended,
    Try,
    Wait,
    counted,
    describe,
    next_move,
    on_policy,
    plan_for,
    tally,
)
from breachclock.domain.problems import problems_of
from breachclock.domain.regimes import RegimeCode

ZONE = "Europe/Stockholm"
MORNING = datetime(2025, 7, 10, 8, 0, tzinfo=UTC)  # 10:00 in Stockholm
PLAN = PRESETS["calls_sms_email"]
BOTH = (Contact.PHONE, Contact.EMAIL)


def walk(plan: ChannelPlan, contacts: tuple[Contact, ...], outcome: dict[Channel, Delivery]):
    """A person's whole path, every attempt ending as ``outcome`` says for its channel."""
    tried: list[Attempt] = []
    now = MORNING
    while True:
        move = next_move(plan, contacts, tried, now, ZONE)
        if isinstance(move, Ended):
            return tried, move
        if isinstance(move, Wait):
            assert move.until is not None and move.until > now
            now = move.until
            continue
        tried.append(
            Attempt(
                channel=move.channel, number=move.number, at=now, delivery=outcome[move.channel]
            )
        )


def test_call_five_times_in_hours_four_hours_apart_then_sms_then_email_then_letter() -> None:
    failing = dict.fromkeys(Channel, Delivery.FAILED)
    tried, ended = walk(PLAN, BOTH, failing)
    assert [(a.channel, a.number) for a in tried] == [
        *((Channel.CALL, n) for n in range(1, 6)),
        (Channel.SMS, 1),
        (Channel.EMAIL, 1),
    ]
    assert ended == Ended(None)
    calls = [a.at for a in tried if a.channel is Channel.CALL]
    assert all(b - a >= timedelta(hours=4) for a, b in itertools.pairwise(calls))
    for at in calls:  # 09:00-20:00 on the person's clock
        local = at.astimezone(ZoneInfo(ZONE))
        assert 9 <= local.hour < 20


def test_a_delivered_sms_ends_the_path_and_no_email_means_straight_to_the_letter() -> None:
    outcome = {**dict.fromkeys(Channel, Delivery.FAILED), Channel.SMS: Delivery.DELIVERED}
    tried, ended = walk(PLAN, BOTH, outcome)
    assert ended == Ended(Channel.SMS) and tried[-1].channel is Channel.SMS
    tried, ended = walk(
        PRESETS["sms_first"], (Contact.PHONE,), dict.fromkeys(Channel, Delivery.EXPIRED)
    )
    assert [a.channel for a in tried] == [Channel.SMS] and ended == Ended(None)


def test_an_accepted_sms_waits_for_its_delivery_report() -> None:
    sent = Attempt(channel=Channel.SMS, number=1, at=MORNING, delivery=Delivery.ACCEPTED)
    assert next_move(PRESETS["sms_first"], (Contact.PHONE,), [sent], MORNING, ZONE) == Wait(None)


def test_an_sms_is_sent_only_in_hours_on_the_person_s_clock() -> None:
    night = datetime(2025, 7, 10, 22, 0, tzinfo=UTC)  # midnight in Stockholm
    move = next_move(PRESETS["sms_first"], (Contact.PHONE,), [], night, ZONE)
    assert move == Wait(datetime(2025, 7, 11, 7, 0, tzinfo=UTC))
    assert next_move(PRESETS["sms_first"], (Contact.PHONE,), [], MORNING, ZONE) == Try(
        Channel.SMS, 1
    )


def test_counts_per_channel_in_a_stable_shape() -> None:
    failing = dict.fromkeys(Channel, Delivery.FAILED)
    paths = [
        walk(PLAN, BOTH, failing),
        walk(PLAN, BOTH, {**failing, Channel.EMAIL: Delivery.DELIVERED}),
    ]
    counts = tally(paths)
    assert counts.model_dump(mode="json") == {
        "attempts": {
            "call": {"failed": 10},
            "email": {"delivered": 1, "failed": 1},
            "sms": {"failed": 2},
        },
        "reached_by": {"email": 1, "letter": 1},
    }


def test_a_plan_ends_in_one_letter_and_names_a_channel_once() -> None:
    with pytest.raises(ValidationError) as err:
        ChannelPlan(name="x", steps=({"channel": "sms"},))
    assert [p.code for p in problems_of(err.value)] == ["plan.letter_last"]
    with pytest.raises(ValidationError) as err:
        ChannelPlan(name="x", steps=({"channel": "sms"}, {"channel": "sms"}, {"channel": "letter"}))
    assert [p.code for p in problems_of(err.value)] == ["plan.channel_twice"]


def test_the_regime_default_and_an_incident_s_own_choice_and_the_plan_in_words() -> None:
    assert plan_for(RegimeCode.PTS) is PRESETS["calls_then_email"]
    assert plan_for(RegimeCode.PTS, "sms_first") is PRESETS["sms_first"]
    words = [s.words(Voice("sv")) for s in describe(PLAN)]
    assert words[0].startswith("samtal: upp till 5 försök, 4 h mellan, mellan 09:00 och 20:00")
    assert words[1].startswith("sms: 1 försök") and words[-1].startswith("brev")


def test_a_campaign_s_recorded_counts_read_per_channel_as_tally_counts_paths() -> None:
    recorded = Counts(
        people={Status.CALLED: 1, Status.TEXTED: 2, Status.EMAILED: 1, Status.UNREACHABLE: 1},
        calls={CallOutcome.REACHED_VERIFIED: 1, CallOutcome.NO_ANSWER: 9, CallOutcome.BUSY: 1},
        emails={"sent": 1, "refused": 1, "deferred": 3},
        sms={"delivered": 2, "expired": 1},
    )
    assert counted(recorded).model_dump(mode="json") == {
        "attempts": {
            "call": {"delivered": 1, "failed": 10},
            "email": {"delivered": 1, "failed": 1},
            "sms": {"delivered": 2, "expired": 1},
        },
        "reached_by": {"call": 1, "email": 1, "letter": 1, "sms": 2},
    }


def test_a_plan_runs_on_the_operator_s_calling_hours_and_call_rules() -> None:
    policy = Plan(
        attempts=3, spacing=timedelta(minutes=30), window_start=time(7), window_end=time(21)
    )
    fitted = on_policy(PRESETS["calls_sms_email"], policy)
    call, sms = fitted.steps[0], fitted.steps[1]
    assert (call.attempts, call.spacing, call.window_start, call.window_end) == (
        3,
        timedelta(minutes=30),
        time(7),
        time(21),
    )
    assert (sms.window_start, sms.window_end, sms.attempts) == (time(7), time(21), 1)
    no_calls = on_policy(PRESETS["calls_sms_email"], Plan(attempts=0))
    assert [s.channel for s in no_calls.steps] == [Channel.SMS, Channel.EMAIL, Channel.LETTER]
