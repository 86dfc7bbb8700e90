"""Acknowledged pages stop widening; a snooze holds reminders, never a filing or a deadline."""

from __future__ import annotations

from datetime import timedelta

from breachclock.domain.incident import lifecycle, ownership
from breachclock.domain.incident.lifecycle import FileReport, SendPage
from breachclock.domain.incident.model import Acknowledge, IncidentState, Policy, Snooze
from breachclock.domain.problems import Problem
from breachclock.domain.regimes import RegimeCode
from tests.domain.incident.test_pages import AWARE, incident
from tests.problems import code, said

DUE = AWARE + timedelta(hours=24)


def three_levels() -> IncidentState:
    state = incident(RegimeCode.PTS)
    state.policy = Policy(audiences=[["oncall@op"], ["manager@op"], ["ciso@op"], ["board@op"]])
    return state


def sent(state: IncidentState, level: str, audience: int) -> None:
    step = SendPage(0, level, audience, "initial_report", DUE)
    lifecycle.record_page(state, step, DUE - timedelta(hours=6), audience + 1, None)


def pages(state: IncidentState, now_hours: float) -> list[tuple[str, int]]:
    now = AWARE + timedelta(hours=now_hours)
    return [
        (s.step.level, s.step.audience)
        for s in lifecycle.schedule(state, 0, now)
        if isinstance(s.step, SendPage)
    ]


def test_nothing_to_acknowledge_before_a_page() -> None:
    state = three_levels()
    refusal = ownership.ack_target(state, Acknowledge(by="Kim"))
    assert isinstance(refusal, Problem) and code(refusal) == ("ack.nothing_waiting", None)


def test_an_acknowledged_deadline_pages_nobody_wider_and_its_filing_still_comes() -> None:
    state = three_levels()
    sent(state, "6h", 0)
    before = pages(state, 18.5)
    assert before == [("2h", 1), ("30m", 2), ("overdue-1", 3)], "unowned pages widen"

    target = ownership.ack_target(state, Acknowledge(by="Kim", deadline="initial_report"))
    assert target == ownership.Target(0, "initial_report", 0)
    message = ownership.acknowledge(state, target, Acknowledge(by="Kim"), DUE)
    assert (message.code, message.params) == (
        "answer.ack.done",
        {"deadline": "initial_report", "by": "Kim"},
    )
    assert pages(state, 18.5) == [("2h", 0), ("30m", 0), ("overdue-1", 0)]
    steps = lifecycle.schedule(state, 0, AWARE + timedelta(hours=18.5))
    (filing,) = [s for s in steps if isinstance(s.step, FileReport)]
    assert filing.at == DUE - timedelta(minutes=15), "the automatic filing is never held"

    again = ownership.acknowledge(state, target, Acknowledge(by="Lee"), DUE)
    assert again.code == "answer.ack.already" and again.params["by"] == "Kim"
    assert state.tracks[0].acknowledged["initial_report"].by == "Kim"


def test_a_page_for_a_deadline_already_met_cannot_be_acknowledged() -> None:
    state = three_levels()
    sent(state, "6h", 0)
    state.tracks[0].stage_index = 1  # the initial report went
    refusal = ownership.ack_target(state, Acknowledge(by="Kim", deadline="initial_report"))
    assert isinstance(refusal, Problem)
    assert said(refusal) == ("ack.nothing_waiting_for", "deadline", {"deadline": "initial_report"})


def test_a_link_acknowledges_once() -> None:
    state = three_levels()
    sent(state, "6h", 0)
    request = Acknowledge(by="Kim", link="ab" * 16)
    target = ownership.ack_target(state, request)
    assert not isinstance(target, Problem)
    assert not ownership.link_used(state, request.link or "")
    ownership.acknowledge(state, target, request, DUE)
    assert ownership.link_used(state, request.link or "")


def test_a_snooze_holds_lead_pages_but_not_the_filing_or_the_overdue_page() -> None:
    state = three_levels()
    sent(state, "6h", 0)
    now = AWARE + timedelta(hours=21, minutes=50)
    state.snoozed_until = ownership.snooze_until(Snooze(by="Kim", minutes=120), now)
    steps = lifecycle.schedule(state, 0, now)
    by_level = {s.step.level: s.at for s in steps if isinstance(s.step, SendPage)}
    assert by_level["2h"] == by_level["30m"] == AWARE + timedelta(hours=23, minutes=50)
    assert by_level["overdue-1"] == DUE, "a missed deadline is never snoozed"
    (filing,) = [s for s in steps if isinstance(s.step, FileReport)]
    assert filing.at == DUE - timedelta(minutes=15)
