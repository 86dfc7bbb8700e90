"""SMS through a real Kannel: once per key, delivery reports back, and the faults that
would send twice or count twice (a gateway that goes silent after taking a message, a
report that arrives twice or late)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx
import pytest
from aiohttp import web

from breachclock.domain.notify.plan import Delivery
from breachclock.runtime.config import Settings
from breachclock.runtime.gateway import dlr_url
from breachclock.runtime.kannel import Kannel, free_port
from breachclock.service.deliveries import DeliveryReports
from breachclock.web.app import create_app
from breachclock.web.gateway import outermost
from tests.channels.support import SECRET, Sms, slow_stand_in, sms_channel


@pytest.fixture
async def sms(kannel: Kannel, tmp_path: Path) -> AsyncIterator[Sms]:
    async with sms_channel(kannel, tmp_path) as channel:
        yield channel


async def settled(sms: Sms, keys: list[str], seconds: float = 30) -> dict[str, Delivery]:
    """The keys' statuses once none is still merely accepted (or the time is up)."""
    end = asyncio.get_running_loop().time() + seconds
    while True:
        found = {k: s[0] for k in keys if (s := await sms.deliveries.status(k))}
        waiting = [k for k in keys if found.get(k, Delivery.ACCEPTED) is Delivery.ACCEPTED]
        if not waiting or asyncio.get_running_loop().time() > end:
            return found
        await asyncio.sleep(0.1)


def to_numbers(kannel: Kannel, numbers: set[str]) -> list[str]:
    return [r.to for r in kannel.received() if r.to in numbers]


async def test_each_key_sends_one_sms_and_the_gateway_s_reports_mark_it_delivered(
    sms: Sms,
) -> None:
    numbers = [f"+4670100{n:04d}" for n in range(6)]
    keys = [f"INC-1:p{n}:sms:1" for n in range(6)]
    for key, number in zip(keys, numbers, strict=True):
        first = await sms.sender.send_once(key, number, "Tre", "Hej! Åsa, Øresund: æøå.")
        assert first.status is Delivery.ACCEPTED and not first.duplicate
    for key, number in zip(keys, numbers, strict=True):  # a retried slice, a replay
        again = await sms.sender.send_once(key, number, "Tre", "Hej! Åsa, Øresund: æøå.")
        assert again.duplicate
    assert await settled(sms, keys) == dict.fromkeys(keys, Delivery.DELIVERED)
    got = [r for r in sms.kannel.received() if r.to in numbers]
    assert sorted(r.to for r in got) == sorted(numbers)  # exactly one each
    assert {(r.sender, r.kind, r.text) for r in got} == {("Tre", "text", "Hej! Åsa, Øresund: æøå.")}


async def test_a_name_outside_gsm_goes_as_ucs2_and_a_long_text_in_two_parts(sms: Sms) -> None:
    emoji = "Hej Łukasz 🙂, det gäller ditt abonnemang."
    long = "Från Tre: " + "ett intrång i en växel. " * 10
    await sms.sender.send_once("INC-1:u:sms:1", "+46701110001", "Tre", emoji)
    receipt = await sms.sender.send_once("INC-1:l:sms:1", "+46701110002", "Tre", long)
    assert receipt.parts == 2
    got = sms.kannel.wait_received(len(sms.kannel.received()) + 3, seconds=10)
    ucs2 = [r for r in got if r.to == "+46701110001"]
    assert [r.kind for r in ucs2] == ["ucs-2"] and ucs2[0].decoded == emoji
    parts = [r for r in got if r.to == "+46701110002"]
    assert [r.kind for r in parts] == ["udh", "udh"]  # each part, with its header
    assert await settled(sms, ["INC-1:u:sms:1", "INC-1:l:sms:1"]) == {
        "INC-1:u:sms:1": Delivery.DELIVERED,
        "INC-1:l:sms:1": Delivery.DELIVERED,
    }


async def test_a_gateway_that_takes_the_message_then_times_out_is_not_sent_to_again(
    kannel: Kannel, tmp_path: Path
) -> None:
    runner = await slow_stand_in(kannel.url, delay=5)
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        url = f"http://127.0.0.1:{port}/cgi-bin/sendsms"
        async with sms_channel(kannel, tmp_path, url) as sms:
            key, number = "INC-2:p1:sms:1", "+46701220001"
            first = await sms.sender.send_once(key, number, "Tre", "Hej")
            assert first.status is Delivery.ACCEPTED  # unknown: the gateway did not answer
            second = await sms.sender.send_once(key, number, "Tre", "Hej")
            assert second.duplicate
            assert await settled(sms, [key]) == {key: Delivery.DELIVERED}
            await asyncio.sleep(1)
            assert to_numbers(kannel, {number}) == [number]
    finally:
        await runner.cleanup()


async def test_a_report_twice_late_or_forged_changes_nothing_twice(sms: Sms) -> None:
    key, number = "INC-3:p1:sms:1", "+46701330001"
    await sms.sender.send_once(key, number, "Tre", "Hej")
    assert await settled(sms, [key]) == {key: Delivery.DELIVERED}
    link = dlr_url(f"http://127.0.0.1:{sms.dlr_port}/gateway/sms/dlr", SECRET.encode(), key)
    async with aiohttp.ClientSession() as http:

        async def report(url: str) -> tuple[int, str]:
            async with http.get(url) as answer:
                return answer.status, await answer.text()

        assert await report(link.replace("%d", "1")) == (200, "unchanged")  # again
        assert await report(link.replace("%d", "2")) == (200, "unchanged")  # late, failed
        assert await report(link.replace("%d", "8")) == (200, "unchanged")  # late, taken
        forged = link.replace("%d", "2").replace("sig=", "sig=0")
        status, _ = await report(forged)
        assert status == 403
        other = dlr_url(f"http://127.0.0.1:{sms.dlr_port}/gateway/sms/dlr", b"guess", key)
        assert (await report(other.replace("%d", "2")))[0] == 403
    assert (await sms.deliveries.status(key) or (None,))[0] is Delivery.DELIVERED


async def test_a_message_no_report_reaches_expires_once(kannel: Kannel, tmp_path: Path) -> None:
    runner = await slow_stand_in(kannel.url, delay=3, forward=False)  # swallows it
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        url = f"http://127.0.0.1:{port}/cgi-bin/sendsms"
        async with sms_channel(kannel, tmp_path, url) as sms:
            key = "INC-4:p1:sms:1"
            assert (await sms.sender.send_once(key, "+46701440001", "Tre", "Hej")).status is (
                Delivery.ACCEPTED
            )
            later = datetime.now(UTC) + timedelta(days=2)
            assert await sms.deliveries.expire(later, later) == 1
            assert await sms.deliveries.expire(later, later) == 0
            assert (await sms.deliveries.status(key) or (None,))[0] is Delivery.EXPIRED
            assert to_numbers(kannel, {"+46701440001"}) == []
    finally:
        await runner.cleanup()


async def test_a_sender_killed_between_ledger_and_gateway_never_resends_and_the_try_expires(
    sms: Sms,
) -> None:
    key, number = "INC-1:k:sms:1", "+46701120001"
    # What a worker killed right after the ledger's write leaves: the key, and nothing else.
    assert await sms.ledger.record_sent(key, "mid", datetime.now(UTC), {"channel": "sms"})
    assert await sms.deliveries.status(key) is None
    retried = await sms.sender.send_once(key, number, "Tre", "Hej!")
    assert retried.duplicate and retried.status is Delivery.ACCEPTED
    later = datetime.now(UTC) + timedelta(seconds=1)
    assert await sms.deliveries.expire(later, later) == 1, "waits for a report, then expires"
    assert (await sms.deliveries.status(key) or (None,))[0] is Delivery.EXPIRED
    assert to_numbers(sms.kannel, {number}) == []


async def test_the_console_takes_a_report_at_its_door_before_its_own_middleware(
    tmp_path: Path,
) -> None:
    """The gateway's reports reach the console's app (as under ``make run``) and are
    answered by the report route alone: none of the console's middleware (its security
    headers, the sign-in redirect), which took half of each report's time."""
    settings = Settings(BREACHCLOCK_DATA_DIR=tmp_path, BREACHCLOCK_SMS_DLR_SECRET=SECRET)
    app = create_app(settings)
    key = "INC-9:p1:sms:1"
    link = dlr_url("http://console/gateway/sms/dlr", SECRET.encode(), key)
    transport = httpx.ASGITransport(app=outermost(app), client=("127.0.0.1", 40000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://console") as http,
    ):
        reports: DeliveryReports = app.state.delivery_reports
        await reports.store.handed(key, datetime.now(UTC))
        first = await http.get(link.replace("%d", "1"))
        again = await http.get(link.replace("%d", "1"))
        forged = await http.get(link.replace("%d", "1").replace("sig=", "sig=0"))
        unsigned = await http.get(
            "/gateway/sms/dlr", params={"key": key, "type": "1"}, headers={"Accept-Language": "sv"}
        )
        put = await http.put(link.replace("%d", "1"))
        page = await http.get("/login")
        assert (await reports.store.status(key) or (None,))[0] is Delivery.DELIVERED
    assert (first.status_code, first.text, again.text) == (200, "changed", "unchanged")
    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert "content-security-policy" not in first.headers
    assert unsigned.status_code == 422
    assert [(e["code"], e["pointer"]) for e in unsigned.json()["errors"]] == [
        ("input.missing", "/sig")
    ]
    assert unsigned.json()["title"] != "Unprocessable Content", "in the caller's language"
    assert (put.status_code, put.headers["allow"]) == (405, "GET, POST")
    assert "content-security-policy" in page.headers, "the console's pages keep theirs"
