"""(d) of ``bench.notify``: number-only people told by SMS through Kannel and its fake SMSC.

One local Kannel (``breachclock.runtime.kannel``: bearerbox, smsbox, fakesmsc) serves
both sides of the ratio, in the same run:

- the baseline is Kannel's own ``sendsms`` rate: the same messages (the same text,
  the same ``dlr-url``) sent straight with aiohttp, as many requests at once as the
  campaign uses, timed until the fake SMSC has every one: the physical limit of the path;
- the campaign is every person walked along the ``sms_first`` plan
  (``activities.plan_runner.advance`` over ``activities.sms.SmsChannel``): the SMS key
  written to the send ledger before each request, the delivery row, the request, then
  the delivery reports coming back through the engine's endpoint (served by uvicorn in
  this process) until every person's path has ended.

It counts the messages at the fake SMSC (exactly one per person, as many parts as the
text has) and the delivered reports, and gives the peak resident memory of this
process (the ledger, the endpoint and the sender; Kannel runs in its own processes).
The campaign here is the channel's path, not yet the durable campaign workflow.
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from activities.plan_runner import advance
from activities.sms import KANNEL_CODING, KannelGateway, SmsChannel, SmsSender
from breachclock.domain.notify.notice import IncidentNotice, Operator
from breachclock.domain.notify.plan import PRESETS, Attempt, Delivery, Ended
from breachclock.domain.notify.plan import Channel as ChannelName
from breachclock.domain.notify.sms import SmsNotice, coding_of, render, size
from breachclock.domain.notify.subscribers import Language, Subscriber
from breachclock.runtime.codec import Sealer
from breachclock.runtime.gateway import DLR_MASK, dlr_url
from breachclock.runtime.kannel import Kannel, free_port, installed
from breachclock.runtime.store import deliveries, records
from breachclock.runtime.store.db import SqliteDb
from breachclock.runtime.store.deliveries import DeliveryStore
from breachclock.runtime.store.records import RecordStore
from breachclock.service.deliveries import DeliveryReports
from breachclock.web import gateway

SV = Language.SV
AT_ONCE = 32
"""Requests in flight to smsbox, for the baseline and the campaign alike."""
SECRET = "bench-dlr-secret"
OPERATOR = Operator(name="Tre", phone="+46 735 300 407")
NOTICE = IncidentNotice.model_validate(
    {
        "reference": "BENCH-SMS",
        "access_from": "2025-07-02T00:00+02:00",
        "what_happened": {"sv": "Intrång i en företagsväxel."},
        "consequences": {"sv": "Ditt nummer kan ha setts."},
        "measures_taken": [{"what": {"sv": "Åtkomsten stängdes."}}],
    }
)
SMS = SmsNotice(
    sender="Tre",
    summary={"sv": "Ditt nummer fanns i en samtalslista hos ett drabbat företag. Gör inget."},
)


@dataclass
class Measured:
    seconds: float
    at_smsc: int
    delivered: int
    rss_mib: float


def people(n: int) -> list[Subscriber]:
    return [
        Subscriber(id=f"c{i}", phone=f"+4670{i:07d}", affected_items=["telefonnummer"])
        for i in range(n)
    ]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def wait_smsc(kannel: Kannel, count: int, limit: float) -> int:
    """The messages at the fake SMSC once ``count`` arrived, or after ``limit`` seconds."""
    return len(await asyncio.to_thread(kannel.wait_received, count, limit))


async def baseline(kannel: Kannel, numbers: Sequence[str], endpoint: str, parts: int) -> Measured:
    """Kannel's own rate: sendsms straight, ``AT_ONCE`` requests in flight."""
    text = render(SMS, NOTICE, OPERATOR, SV)
    before = len(kannel.received())
    queue = list(numbers)
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=AT_ONCE)) as http:

        async def worker() -> None:
            while queue:
                number = queue.pop()
                params = {
                    "username": kannel.USERNAME,
                    "password": kannel.PASSWORD,
                    "from": SMS.sender,
                    "to": number,
                    "text": text,
                    "charset": "UTF-8",
                    "coding": KANNEL_CODING[coding_of(text)],
                    "dlr-mask": str(DLR_MASK),
                    "dlr-url": dlr_url(endpoint, SECRET.encode(), f"base:{number}"),
                }
                async with http.get(kannel.url, params=params) as answer:
                    await answer.read()

        await asyncio.gather(*(worker() for _ in range(AT_ONCE)))
    got = await wait_smsc(kannel, before + len(numbers) * parts, 600) - before
    return Measured(time.monotonic() - started, got, 0, rss_mib())


async def campaign(
    kannel: Kannel, folder: Path, crowd: list[Subscriber], endpoint: str, store: DeliveryStore
) -> Measured:
    """Every person along the ``sms_first`` plan, until every path has ended."""
    sealer = Sealer({"k": b"\0" * 32}, "k")
    ledger = RecordStore(SqliteDb(folder / "breachclock.db", records.SCHEMA), sealer)
    config = KannelGateway(
        url=kannel.url,
        username=kannel.USERNAME,
        password=SecretStr(kannel.PASSWORD),
        dlr_url=endpoint,
        dlr_secret=SecretStr(SECRET),
    )
    plan = PRESETS["sms_first"]
    parts = size(render(SMS, NOTICE, OPERATOR, SV)).parts
    before = len(kannel.received())
    started = time.monotonic()
    now = datetime(2025, 7, 14, 8, 0, tzinfo=UTC)  # inside calling hours
    async with SmsSender(config, ledger, store) as sender:
        channels = {ChannelName.SMS: SmsChannel(sender, SMS, NOTICE, OPERATOR)}
        pending: dict[str, tuple[Subscriber, list[Attempt]]] = {p.id: (p, []) for p in crowd}
        ended: dict[str, Ended] = {}
        while pending:
            queue = list(pending.values())

            async def worker(queue: list[tuple[Subscriber, list[Attempt]]]) -> None:
                while queue:
                    person, tried = queue.pop()
                    tried, move = await advance(plan, channels, "BENCH", person, tried, now)
                    if isinstance(move, Ended):
                        ended[person.id] = move
                        del pending[person.id]
                    else:
                        pending[person.id] = (person, tried)

            await asyncio.gather(*(worker(queue) for _ in range(AT_ONCE)))
            if pending:
                await asyncio.sleep(0.2)
    seconds = time.monotonic() - started
    got = await wait_smsc(kannel, before + len(crowd) * parts, 60) - before
    await ledger.close()
    reached = sum(1 for e in ended.values() if e.by is ChannelName.SMS)
    return Measured(seconds, got, reached, rss_mib())


async def run(n: int) -> list[str]:
    """(d)'s lines for the report, or why it did not run."""
    if not installed():
        return ["(d) skipped: Kannel is not installed (Debian packages kannel, kannel-extras)"]
    folder = Path(tempfile.mkdtemp(prefix="bench-sms-"))
    kannel = Kannel(folder).start()
    store = DeliveryStore(SqliteDb(folder / "notify.db", deliveries.SCHEMA))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/gateway/sms/dlr"
    reports = DeliveryReports(store, SECRET.encode(), ["127.0.0.1"])
    try:
        async with gateway.serving_alone(reports, port):
            crowd = people(n)
            parts = size(render(SMS, NOTICE, OPERATOR, SV)).parts
            base = await baseline(kannel, [f"+4671{i:07d}" for i in range(n)], endpoint, parts)
            ours = await campaign(kannel, folder, crowd, endpoint, store)
            counts = await store.counts("BENCH:")
    finally:
        await store.close()
        kannel.stop()
        shutil.rmtree(folder, ignore_errors=True)
    base_rate, our_rate = n / base.seconds, n / ours.seconds
    ratio = our_rate / base_rate
    exact = ours.at_smsc == n * parts and counts.get(Delivery.DELIVERED, 0) == n
    return [
        f"(d) SMS, number-only people     n={n}  ({parts} part(s) each)",
        f"    baseline: Kannel sendsms straight, {AT_ONCE} at once: "
        f"{base.seconds:.1f} s, {base_rate:.0f} msg/s ({base.at_smsc} parts at the fake SMSC)",
        f"    campaign: ledger + sendsms + delivery reports: {ours.seconds:.1f} s, "
        f"{our_rate:.0f} msg/s; reached by SMS {ours.delivered}; delivered reports "
        f"{counts.get(Delivery.DELIVERED, 0)}; parts at the fake SMSC {ours.at_smsc}",
        f"    ratio (d) campaign rate / sendsms rate: {ratio:.2f} (target ≥ 0.8)"
        f" {'met' if ratio >= 0.8 else 'NOT met'}",
        f"    peak RSS of this process: {ours.rss_mib:.0f} MiB (target ≤ 512)"
        f" {'met' if ours.rss_mib <= 512 else 'NOT met'}",
        f"    exact counts: {'yes' if exact else 'NO'}",
    ]
