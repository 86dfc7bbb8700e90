"""(d) of ``bench.notify``: number-only people told by SMS through Kannel and its fake SMSC.

One local Kannel (``breachclock.runtime.kannel``: bearerbox, smsbox, fakesmsc) serves
both sides of the ratio, in the same run:

- the baseline is Kannel's own ``sendsms`` rate: the same text with the same
  ``dlr-url``, sent straight with aiohttp, timed until the fake SMSC has every part,
  at half, once and twice as many requests at once as the campaign's sender keeps in
  flight; the best of them, measured again after the campaign, is the physical limit
  of the path (a client's own latency holds the gateway below it at any one level);
- the campaign is the durable one, as ``make run-sms`` runs it: the embedded dev
  server, the engine's worker in this process, an incident whose list holds only
  numbers, ``decide_notice`` with the ``sms_first`` plan, and the delivery reports
  coming back through the engine's ``/gateway/sms/dlr`` route (served by uvicorn in this
  process, as the console serves it in its own) until the incident records its wave
  finished. Each SMS's key is in the send ledger before its request leaves.

It counts the parts at the fake SMSC (each campaign number exactly once, as many parts
as the text has), the campaign's own counts, and the peak resident memory of this
process (the worker, the report route and the bench's list; Kannel and the Temporal
server run in processes of their own).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from activities.sms import CONNECTIONS, KANNEL_CODING
from bench import cpu
from bench.measure import Memory, Run, rate, run_campaign, verdict
from breachclock.app.console import START_WITHIN, console_process
from breachclock.app.engine import build_worker, relay_for
from breachclock.domain.incident.notice_fact import operator_for
from breachclock.domain.notify.assessment import Decision
from breachclock.domain.notify.delivery import Status
from breachclock.domain.notify.notice import IncidentNotice
from breachclock.domain.notify.sms import SmsNotice, coding_of, render, size
from breachclock.domain.notify.subscribers import Language, Subscriber
from breachclock.runtime.config import Settings
from breachclock.runtime.gateway import DLR_MASK, dlr_url
from breachclock.runtime.kannel import Kannel, free_port, installed, wait_port

SV = Language.SV
LEVELS = (CONNECTIONS // 2, CONNECTIONS, 2 * CONNECTIONS)
"""Requests in flight to smsbox in the baseline's runs, around as many as the engine's
SMS sender keeps open (``activities.sms.CONNECTIONS``): with 64, Kannel took 1,761 to
2,342 messages a second; with 128, 3,150 to 3,908 (30,000 people, 7 December 2026)."""
SECRET = "bench-dlr-secret"
NOTICE = IncidentNotice.model_validate(
    {
        "reference": "BENCH-SMS",
        "access_from": "2025-07-02T00:00+02:00",
        "what_happened": {"sv": "Intrång i en företagsväxel."},
        "consequences": {"sv": "Ditt nummer kan ha setts."},
        "measures_taken": [{"what": {"sv": "Åtkomsten stängdes."}}],
        "recommendations": {"sv": "Var vaksam på samtal och sms från okända om vem du ringt."},
        "item_labels": {"telefonnummer": {"sv": "ditt telefonnummer"}},
    }
)
SMS = SmsNotice(
    sender="Tre",
    summary={"sv": "Ditt nummer fanns i en samtalslista hos ett drabbat företag. Gör inget."},
)


@dataclass
class Sent:
    at_once: int
    seconds: float
    at_smsc: int
    cpu: dict[str, float]
    """CPU seconds by process while it ran (``bench.cpu``)."""


def people(n: int) -> list[Subscriber]:
    """Tre's callers: an id and a number, nothing else."""
    return [
        Subscriber(id=f"c{i}", phone=f"+4670{i:07d}", affected_items=["telefonnummer"])
        for i in range(n)
    ]


def tre_notice(reference: str) -> IncidentNotice:
    return NOTICE.model_copy(update={"reference": reference})


async def wait_smsc(kannel: Kannel, count: int, limit: float) -> int:
    """The messages at the fake SMSC once ``count`` arrived, or after ``limit`` seconds."""
    return len(await asyncio.to_thread(kannel.wait_received, count, limit))


async def baseline(
    kannel: Kannel, text: str, numbers: Sequence[str], endpoint: str, at_once: int
) -> Sent:
    """Kannel's own rate: sendsms straight, ``at_once`` requests in flight."""
    parts = size(text).parts
    # Once for the text, as the engine's sender does (its ``size`` is remembered), not
    # for every request (9 us each of the client's ~0.4 ms a message).
    coding = KANNEL_CODING[coding_of(text)]
    before = len(kannel.received())
    queue = list(numbers)
    cpu_before = cpu.used()
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=at_once)) as http:

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
                    "coding": coding,
                    "dlr-mask": str(DLR_MASK),
                    "dlr-url": dlr_url(endpoint, SECRET.encode(), f"base:{number}"),
                }
                async with http.get(kannel.url, params=params) as answer:
                    await answer.read()

        await asyncio.gather(*(worker() for _ in range(at_once)))
    got = await wait_smsc(kannel, before + len(numbers) * parts, 600) - before
    return Sent(at_once, time.monotonic() - started, got, cpu.since(cpu_before))


@dataclass
class Texted:
    lines: list[str]
    problems: list[str]


async def run(env: WorkflowEnvironment, engine: Settings, memory: Memory, n: int) -> Texted:
    """(d)'s lines for the report, or why it did not run, and what was not exact: on ``bench.notify``'s dev server,
    with its settings (calling hours, slices) and a worker of its own for SMS."""
    if not installed():
        return Texted(
            ["(d) skipped: Kannel is not installed (Debian packages kannel, kannel-extras)"], []
        )
    folder = Path(tempfile.mkdtemp(prefix="bench-sms-"))
    kannel = Kannel(folder).start()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/gateway/sms/dlr"
    # The delivery reports come back to the console's process, as under ``make run``
    # (its own process, five steps nicer than the engine), not to the worker's loop.
    settings = engine.model_copy(
        update={
            "task_queue": "bench-notify-sms",
            "sms_url": kannel.url,
            "sms_username": kannel.USERNAME,
            "sms_password": SecretStr(kannel.PASSWORD),
            "sms_dlr_url": endpoint,
            "sms_dlr_secret": SecretStr(SECRET),
            "http_port": port,
            "console_url": f"http://127.0.0.1:{port}",
        }
    )
    try:
        async with console_process(settings):
            await asyncio.to_thread(wait_port, port, START_WITHIN)
            operator = operator_for(settings.policy())
            text = render(SMS, tre_notice("NOTIFY-0000000000"), operator, SV)
            parts = size(text).parts
            # Kannel's rate moved 2x between runs on one machine (1,785 to 3,770/s), so
            # it is measured before the campaign and after it, and the best is the limit.
            before = [
                await baseline(kannel, text, [f"+467{1 + k}{i:07d}" for i in range(n)], endpoint, m)
                for k, m in enumerate(LEVELS)
            ]
            best = min(before, key=lambda b: b.seconds).at_once
            async with build_worker(env.client, settings, relay_for(settings)):
                done = await run_campaign(
                    env,
                    settings,
                    memory,
                    people(n),
                    tre_notice,
                    Decision(notify=True, decided_by="bench", plan="sms_first", sms=SMS),
                )
            after = await baseline(
                kannel, text, [f"+4679{i:07d}" for i in range(n)], endpoint, best
            )
            got = Counter(
                r.to for r in await asyncio.to_thread(kannel.received) if r.to.startswith("+4670")
            )
    finally:
        kannel.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return report(n, parts, [*before, after], done, got)


def report(n: int, parts: int, bases: Sequence[Sent], done: Run, got: Counter[str]) -> Texted:
    """``bases``: the baseline's runs before the campaign, then the one after it."""
    counts = done.wave.counts
    sms = dict(counts.sms) if counts else {}
    texted = counts.people.get(Status.TEXTED, 0) if counts else 0
    base = min(bases, key=lambda b: b.seconds)
    base_rate, our_rate = n / base.seconds, n / done.seconds
    ratio = our_rate / base_rate
    rss = done.peak.worker_kib / 1024
    problems = []
    if len(got) != n or set(got.values()) != {parts}:
        problems.append(
            f"the fake SMSC has {len(got)} numbers, parts each {sorted(set(got.values()))}; "
            f"expected {n}, {parts} each"
        )
    if sms != {"delivered": n} or texted != n:
        problems.append(f"the campaign counts {texted} texted, reports {sms}; expected {n}")
    longest = max(r.events for r in done.incident + done.campaign)
    lines = [
        f"(d) {n:,} number-only people, durable campaign (sms_first), {parts} part(s) each",
        *(
            f"  baseline {when}: Kannel sendsms straight, {b.at_once} at once: "
            f"{b.seconds:.1f} s, {rate(n, b.seconds)} ({b.at_smsc:,} parts at the fake SMSC)"
            for when, b in zip(["before"] * (len(bases) - 1) + ["after"], bases, strict=True)
        ),
        f"  baseline: the best, {base.at_once} at once, {base_rate:,.0f}/s; "
        f"the campaign's sender keeps {CONNECTIONS}",
        f"  loading the list: {done.load_seconds:.1f} s ({rate(n, done.load_seconds)})",
        f"  campaign: {done.seconds:.1f} s wall, decide_notice → wave finished with every "
        f"delivery report back, {rate(n, done.seconds)}; people texted {texted:,}; "
        f"reports {sms}; numbers at the fake SMSC {len(got):,}, parts {sum(got.values()):,}",
        f"  baseline ({base.at_once} at once), "
        f"{cpu.per('message', n, base.cpu, base.seconds, 'the client')}",
        f"  campaign, {cpu.per('person', n, done.cpu, done.seconds, 'the worker')}",
        f"  {done.peak.show()}",
        f"  histories: incident {len(done.incident)} run(s), campaign {len(done.campaign)} "
        f"run(s), longest {longest:,} events",
        f"ratio (d) campaign rate / sendsms rate, {n:,} people: {ratio:.2f}x  (target >= 0.8x) "
        f"{verdict(ratio >= 0.8)}",
        f"(d) worker peak RSS: {rss:.0f} MiB  (target <= 512 MiB) {verdict(rss <= 512)}",
        f"(d) exact counts: {'yes' if not problems else 'NO'}",
    ]
    return Texted(lines, problems)
