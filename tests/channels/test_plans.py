"""Plans run end to end over real parts: Tre's number-only callers by SMS through Kannel
(seed 004), and call, SMS, e-mail, letter with the counts for the final report."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from activities.mailer import Mailer, SmtpRelay
from activities.notice_mail import EmailChannel
from activities.plan_runner import Channel, Limited, advance, reports
from activities.sms import SmsChannel
from breachclock.domain.notify.notice import language_for
from breachclock.domain.notify.plan import (
    PRESETS,
    Attempt,
    ChannelPlan,
    Delivery,
    Ended,
    Wait,
    plan_for,
    tally,
)
from breachclock.domain.notify.plan import Channel as ChannelName
from breachclock.domain.notify.sms import check, render, size
from breachclock.domain.notify.subscribers import Subscriber, parse
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime.kannel import Kannel
from tests.channels.support import Sms, sms_channel, stand_in
from tests.conftest import SmtpSink
from tests.tre import NOTICE, SMS, TRE

MONDAY_MORNING = datetime(2025, 7, 14, 8, 0, tzinfo=UTC)  # 10:00 in Stockholm
REPORTS_WITHIN = timedelta(seconds=6)
"""The fake SMSC reports at once: a message with no report by then never gets one."""


class NobodyAnswers:
    """Calls that are placed and never answered (the telephony stand-in)."""

    at_once = 1

    def __init__(self) -> None:
        self.placed: list[str] = []

    async def send(self, key: str, person: Subscriber) -> Delivery:
        self.placed.append(key)
        return Delivery.FAILED

    async def statuses(self, keys: Sequence[str]) -> dict[str, Delivery]:
        return {key: Delivery.FAILED for key in keys if key in self.placed}


async def run_plan(
    plan: ChannelPlan,
    channels: dict[ChannelName, Channel],
    people: list[Subscriber],
    sms: Sms,
    reference: str,
) -> dict[str, tuple[list[Attempt], Ended]]:
    """Rounds as a campaign runs them: each due person advanced, the clock moved to the
    next time anyone is due; reports awaited; what never got one, expired."""
    started = datetime.now(UTC)
    state: dict[str, list[Attempt]] = {p.id: [] for p in people}
    ended: dict[str, Ended] = {}
    now = MONDAY_MORNING
    for _ in range(200):
        waits: list[datetime] = []
        pending_reports = False
        known = await reports(
            channels, reference, {p.id: state[p.id] for p in people if p.id not in ended}
        )
        for person in people:
            if person.id in ended:
                continue
            state[person.id], move = await advance(
                plan, channels, reference, person, state[person.id], now, known
            )
            if isinstance(move, Ended):
                ended[person.id] = move
            elif isinstance(move, Wait) and move.until is not None:
                waits.append(move.until)
            else:
                pending_reports = True
        if len(ended) == len(people):
            return {i: (state[i], ended[i]) for i in state}
        if pending_reports:
            await asyncio.sleep(0.3)
            if not waits:  # only reports outstanding: wait for them, then expire the rest
                reported = now + timedelta(seconds=30)
                if datetime.now(UTC) > started + REPORTS_WITHIN:
                    await sms.deliveries.expire(datetime.now(UTC), datetime.now(UTC))
                now = reported
                continue
        now = min(waits) if waits else now
    raise AssertionError("the plan did not end")


def number_only_list() -> list[Subscriber]:
    """Tre's callers as the CRM knows them: an id and a number, nothing else."""
    lines = ["id,phone,affected_items\n"] + [
        f"caller-{n},+46702{n:06d},telefonnummer i samtalslista\n" for n in range(12)
    ]
    read = parse("callers.csv", iter(lines))
    assert read.rejected == []
    return read.subscribers


async def test_tre_s_callers_by_sms_first_reports_back_and_the_unreachable_listed(
    kannel: Kannel, tmp_path: Path
) -> None:
    people = number_only_list()
    assert all(p.name is None and p.email is None and p.phone for p in people)
    languages = [language_for(p, NOTICE.regime) for p in people]
    assert check(SMS, NOTICE, TRE, languages) == []  # approval
    lost = frozenset({"+46702000003", "+46702000007"})  # the gateway takes them, never delivers
    async with stand_in(kannel.url, drop=lost) as url, sms_channel(kannel, tmp_path, url) as sms:
        channels: dict[ChannelName, Channel] = {
            ChannelName.SMS: SmsChannel(sms.sender, SMS, NOTICE, TRE)
        }
        paths = await run_plan(
            plan_for(RegimeCode.PTS, "sms_first"), channels, people, sms, "TRE-1"
        )
    unreachable = sorted(i for i, (_, end) in paths.items() if end.by is None)
    assert unreachable == ["caller-3", "caller-7"]
    parts = size(render(SMS, NOTICE, TRE, "sv")).parts
    got = [r for r in kannel.received() if r.to.startswith("+46702")]
    assert Counter(r.to for r in got) == {p.phone: parts for p in people if p.phone not in lost}
    assert {"".join(r.decoded for r in got if r.to == n) for n in {r.to for r in got}} == {
        render(SMS, NOTICE, TRE, "sv")
    }
    counts = tally(paths.values())
    assert counts.model_dump(mode="json") == {
        "attempts": {"sms": {"delivered": 10, "expired": 2}},
        "reached_by": {"letter": 2, "sms": 10},
    }


async def test_call_sms_email_letter_runs_end_to_end_with_counts(
    kannel: Kannel, tmp_path: Path, smtp: SmtpSink
) -> None:
    people = [
        # Nobody answers; the SMS arrives.
        Subscriber(id="a", phone="+46703000001", email="a@example.se", affected_items=["nr"]),
        # Nobody answers; the SMS is lost; the e-mail goes.
        Subscriber(id="b", phone="+46703000002", email="b@example.se", affected_items=["nr"]),
        # Nobody answers; the SMS is lost; no e-mail: a letter.
        Subscriber(id="c", phone="+46703000003", affected_items=["nr"]),
        # No number: straight to the e-mail.
        Subscriber(id="d", email="d@example.se", affected_items=["nr"]),
    ]
    lost = frozenset({"+46703000002", "+46703000003"})
    calls = NobodyAnswers()
    async with stand_in(kannel.url, drop=lost) as url, sms_channel(kannel, tmp_path, url) as sms:
        relay = SmtpRelay(host="127.0.0.1", port=smtp.port, sender="dataskydd@tre.example")
        channels: dict[ChannelName, Channel] = {
            ChannelName.CALL: calls,
            ChannelName.SMS: SmsChannel(sms.sender, SMS, NOTICE, TRE),
            ChannelName.EMAIL: EmailChannel(Mailer(relay, sms.ledger), NOTICE, TRE),
        }
        paths = await run_plan(PRESETS["calls_sms_email"], channels, people, sms, "TRE-2")
    assert {i: end.by for i, (_, end) in paths.items()} == {
        "a": ChannelName.SMS,
        "b": ChannelName.EMAIL,
        "c": None,
        "d": ChannelName.EMAIL,
    }
    assert [len([a for a in t if a.channel is ChannelName.CALL]) for t, _ in paths.values()] == [
        5,
        5,
        5,
        0,
    ]
    assert sorted(smtp.notices()) == ["TRE-2:b:email", "TRE-2:d:email"]
    assert all(n == 1 for n in smtp.notices().values())
    parts = size(render(SMS, NOTICE, TRE, "sv")).parts
    got = Counter(r.to for r in kannel.received() if r.to.startswith("+46703"))
    assert got == {"+46703000001": parts}  # the lost ones never reached the SMSC
    assert tally(paths.values()).model_dump(mode="json") == {
        "attempts": {
            "call": {"failed": 15},
            "email": {"delivered": 2},
            "sms": {"delivered": 1, "expired": 2},
        },
        "reached_by": {"email": 2, "letter": 1, "sms": 1},
    }


async def test_a_round_s_channel_makes_no_more_tries_at_once_than_it_says() -> None:
    """A round walks many people at once; each channel's own limit bounds its tries."""

    class Gateway:
        at_once = 3

        def __init__(self) -> None:
            self.now, self.most = 0, 0

        async def send(self, key: str, person: Subscriber) -> Delivery:
            self.now += 1
            self.most = max(self.most, self.now)
            await asyncio.sleep(0.01)
            self.now -= 1
            return Delivery.ACCEPTED

        async def statuses(self, keys: Sequence[str]) -> dict[str, Delivery]:
            return {}

    gateway = Gateway()
    limited = Limited(gateway)
    person = Subscriber(id="p1", phone="+46701234567", affected_items=["nr"])
    sent = await asyncio.gather(*(limited.send(f"k{i}", person) for i in range(20)))
    assert sent == [Delivery.ACCEPTED] * 20
    assert gateway.most == 3
