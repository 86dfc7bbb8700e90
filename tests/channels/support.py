"""The SMS channel's parts as the tests run them: a real Kannel, the engine's delivery
report endpoint served over HTTP on loopback, and the ledger and delivery stores."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from activities.sms import KannelGateway, SmsSender
from breachclock.runtime.codec import Sealer
from breachclock.runtime.kannel import Kannel, free_port
from breachclock.runtime.store import deliveries, records
from breachclock.runtime.store.db import SqliteDb
from breachclock.runtime.store.deliveries import DeliveryStore
from breachclock.runtime.store.records import RecordStore
from breachclock.service.deliveries import DeliveryReports
from breachclock.web import gateway

SECRET = "dlr-test-secret"


@dataclass
class Sms:
    kannel: Kannel
    sender: SmsSender
    ledger: RecordStore
    deliveries: DeliveryStore
    dlr_port: int


@asynccontextmanager
async def dlr_endpoint(store: DeliveryStore, port: int) -> AsyncIterator[None]:
    """The engine's delivery-report route, alone, served by uvicorn on ``port``."""
    reports = DeliveryReports(store, SECRET.encode(), ["127.0.0.1"])
    async with gateway.serving_alone(reports, port):
        yield


@asynccontextmanager
async def sms_channel(kannel: Kannel, folder: Path, url: str | None = None) -> AsyncIterator[Sms]:
    """A sender on ``kannel`` (or on ``url``, a stand-in in front of it), with its stores
    in ``folder`` and the delivery-report endpoint up."""
    sealer = Sealer({"k": os.urandom(32)}, "k")
    ledger = RecordStore(SqliteDb(folder / "breachclock.db", records.SCHEMA), sealer)
    store = DeliveryStore(SqliteDb(folder / "notify.db", deliveries.SCHEMA))
    port = free_port()
    config = KannelGateway(
        url=url or kannel.url,
        username=kannel.USERNAME,
        password=SecretStr(kannel.PASSWORD),
        dlr_url=f"http://127.0.0.1:{port}/gateway/sms/dlr",
        dlr_secret=SecretStr(SECRET),
        timeout=2.0,
    )
    async with dlr_endpoint(store, port), SmsSender(config, ledger, store) as sender:
        try:
            yield Sms(kannel, sender, ledger, store, port)
        finally:
            await ledger.close()
            await store.close()


async def slow_stand_in(
    target: str, delay: float, forward: bool = True, drop: frozenset[str] = frozenset()
) -> web.AppRunner:
    """An HTTP stand-in for the gateway: hands the request on (not when ``forward`` is
    off, nor for a number in ``drop``: a message the gateway took and lost), then
    answers after ``delay`` (longer than the sender waits, or 0)."""

    async def handle(request: web.Request) -> web.Response:
        if forward and request.query.get("to") not in drop:
            async with aiohttp.ClientSession() as http, http.get(target, params=request.query) as r:
                await r.read()
        await asyncio.sleep(delay)
        return web.Response(status=202, text="0: Accepted for delivery")

    app = web.Application()
    app.router.add_get("/cgi-bin/sendsms", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    return runner


@asynccontextmanager
async def stand_in(
    target: str, delay: float = 0, drop: frozenset[str] = frozenset()
) -> AsyncIterator[str]:
    """``slow_stand_in`` on a free loopback port; yields its sendsms URL."""
    runner = await slow_stand_in(target, delay, drop=drop)
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/cgi-bin/sendsms"
    finally:
        await runner.cleanup()
