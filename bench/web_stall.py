"""Does the web stall the engine? p95 of the register page, of a heartbeat-sized
activity and of how late the engine's event loop wakes from a 10 ms sleep, idle,
while 20 clients sign in at once, and while a 5 MB subscriber list is uploaded; each
against idle measured in the same run (target: at most 2x).

The engine (embedded dev server, worker) runs in this process, and the console in a
process of its own as ``make run`` starts it (``--console process``), or on the
engine's event loop as it ran before (``--console loop``: the comparison); the load
comes from a child process, so it takes no time of the loop under test. Not a timed
test: figures to read, with the machine's load.

    .venv/bin/python -m bench.web_stall [--seconds 8] [--console process|loop]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from bench.embedded import embedded, open_incident, percentile
from breachclock.app.console import console_process
from breachclock.app.engine import build_worker, relay_for
from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import free_port
from breachclock.runtime.store import open_account_store
from breachclock.runtime.store.accounts import Account
from breachclock.web import server as web
from breachclock.web.auth import Role, hash_password

PASSWORD = "bench password of some length"
PROBE_QUEUE = "bench-web-stall-probe"
CLIENTS = [f"bench{n}" for n in range(20)]
"""Twenty people signing in at once, each to their own account: a flood on one account
is refused before argon2 runs (the sign-in throttle), so it would measure nothing."""


@activity.defn(name="bench_beat")
async def beat() -> None:
    activity.heartbeat()


@workflow.defn(name="BenchBeat", sandboxed=False)
class BeatWorkflow:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity("bench_beat", start_to_close_timeout=timedelta(seconds=30))


TICK = 0.01
"""The engine loop's probe sleeps this long, again and again: how late it wakes is how
long something else held the loop (the engine's timers wait as long)."""


async def lateness(until: float) -> list[float]:
    """How late each ``TICK`` sleep on this (the engine's) event loop woke, until ``until``."""
    late = []
    while time.perf_counter() < until:
        began = time.perf_counter()
        await asyncio.sleep(TICK)
        late.append(time.perf_counter() - began - TICK)
    return late


async def probe(
    seconds: float, base: str, cookies: httpx.Cookies, client: object
) -> dict[str, float]:
    """p95 (ms) of the register page, of one heartbeat activity and of the engine
    loop's lateness, for ``seconds``."""
    pages: list[float] = []
    beats: list[float] = []
    deadline = time.perf_counter() + seconds
    loop = asyncio.create_task(lateness(deadline))
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=120) as http:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            response = await http.get("/")
            assert response.status_code == 200, response.status_code
            pages.append(time.perf_counter() - began)
            began = time.perf_counter()
            await client.execute_workflow(  # type: ignore[attr-defined]
                BeatWorkflow.run, id=f"beat-{uuid.uuid4().hex}", task_queue=PROBE_QUEUE
            )
            beats.append(time.perf_counter() - began)
    late = await loop
    return {
        "page": percentile(pages, 0.95) * 1000,
        "activity": percentile(beats, 0.95) * 1000,
        "loop": percentile(late, 0.95) * 1000,
    }


async def listening(base: str, within: float = 60) -> None:
    """Wait for the console to answer (it starts slowly on a loaded machine)."""
    deadline = time.perf_counter() + within
    async with httpx.AsyncClient(base_url=base) as http:
        while True:
            try:
                await http.get("/login")
                return
            except httpx.TransportError:
                if time.perf_counter() > deadline:
                    raise
                await asyncio.sleep(0.2)


def load(kind: str, base: str, seconds: float, token: str, reference: str) -> None:
    """The child process: 20 clients signing in, or one 5 MB upload (repeated)."""

    async def sign_ins() -> None:
        deadline = time.perf_counter() + seconds
        answers: Counter[int] = Counter()

        async def one(name: str) -> None:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                while time.perf_counter() < deadline:
                    signed = await http.post("/login", data={"name": name, "password": PASSWORD})
                    answers[signed.status_code] += 1

        await asyncio.gather(*(one(name) for name in CLIENTS))
        print(f"sign-ins answered: {dict(answers)}", flush=True)  # 303: signed in; 429: throttled

    async def uploads() -> None:
        rows = ["id,name,phone,email,language,affected_items"]
        n, size = 0, 0
        while size < 5_000_000:  # a running size: summing every row each time took minutes
            rows.append(f"S{n},Person {n},+4670{n:07d},p{n}@example.org,sv,secret number")
            size += len(rows[-1]) + 1
            n += 1
        body = ("\n".join(rows) + "\n").encode()
        deadline = time.perf_counter() + seconds
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
        answers: Counter[int] = Counter()
        async with httpx.AsyncClient(base_url=base, timeout=300) as http:
            while time.perf_counter() < deadline:
                uploaded = await http.put(
                    f"/api/incidents/{reference}/subscribers?name=people.csv",
                    content=body,
                    headers=headers,
                )
                answers[uploaded.status_code] += 1
        print(f"uploads answered: {dict(answers)}", flush=True)

    asyncio.run(sign_ins() if kind == "logins" else uploads())


@contextlib.asynccontextmanager
async def console(where: str, settings: Settings, client: Client) -> AsyncIterator[None]:
    """The console on the engine's event loop (``loop``: as ``make run`` served it before
    issue 18), or in its own process, supervised (``process``: as it serves it now)."""
    if where == "process":
        async with console_process(settings):
            yield
        return
    stop = asyncio.Event()
    served = asyncio.create_task(web.serve(settings, client, stop))
    try:
        yield
    finally:
        stop.set()
        await served


async def main(seconds: float, where: str) -> None:
    port = free_port()
    async with embedded(
        "bench-web-stall",
        BREACHCLOCK_HTTP_PORT=port,
        BREACHCLOCK_ADMIN_PASSWORD=PASSWORD,
        BREACHCLOCK_WEB_INSECURE_COOKIES=True,
    ) as (env, settings):
        base = f"http://127.0.0.1:{port}"
        probe_worker = Worker(
            env.client, task_queue=PROBE_QUEUE, workflows=[BeatWorkflow], activities=[beat]
        )
        async with (
            build_worker(env.client, settings, relay_for(settings)),
            probe_worker,
            console(where, settings, env.client),
        ):
            await listening(base)
            hashed = hash_password(PASSWORD)
            async with open_account_store(settings) as accounts:
                for name in ("bench", *CLIENTS):
                    await accounts.add_account(
                        Account(name=name, role=Role.MANAGER, password_hash=hashed),
                        datetime.now(UTC),
                    )
                token = uuid.uuid4().hex + uuid.uuid4().hex
                await accounts.add_token(token, "bench", Role.MANAGER, datetime.now(UTC))
            async with httpx.AsyncClient(base_url=base) as http:
                signed = await http.post("/login", data={"name": "bench", "password": PASSWORD})
                assert signed.status_code == 303, signed.text
                cookies = http.cookies
            handle = await open_incident(env, settings, "STALL")
            reference = handle.id.removeprefix("incident-")
            figures = {"idle": await probe(seconds, base, cookies, env.client)}
            for kind in ("logins", "upload"):
                child = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.web_stall",
                    "--load",
                    kind,
                    base,
                    str(seconds + 2),
                    token,
                    reference,
                )
                await asyncio.sleep(1.0)
                figures[kind] = await probe(seconds, base, cookies, env.client)
                print(f"{kind}: {figures[kind]} (idle {figures['idle']})", flush=True)
                await child.wait()
    idle = figures["idle"]
    print(f"console: {where}; load average: {os.getloadavg()}")
    for phase, values in figures.items():
        print(
            f"{phase:7} p95 register page {values['page']:8.1f} ms ({values['page'] / idle['page']:4.1f}x idle)"
            f"   p95 heartbeat activity {values['activity']:8.1f} ms"
            f" ({values['activity'] / idle['activity']:4.1f}x idle)"
            f"   p95 engine loop late {values['loop']:6.1f} ms"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--load":
        load(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], sys.argv[6])
    else:
        parser = argparse.ArgumentParser()
        parser.add_argument("--seconds", type=float, default=8)
        parser.add_argument("--console", choices=("process", "loop"), default="process")
        given = parser.parse_args()
        asyncio.run(main(given.seconds, given.console))
