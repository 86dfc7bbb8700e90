"""Server time of the console's two heaviest pages, against a plain SQL query of the
rows under them.

The register page with ``--incidents`` open (discovered) incidents, and the incident
page of one incident with ``--events`` timeline entries, each fetched ``--n`` times
through the app (in-process, no network: the time is the server's). Both pages read the
read model the engine keeps in the store; in the same run, the same rows read by a plain
SQL query (no unsealing, no parsing, no page), so the ratio is what the page adds on top;
and, for reference, the Temporal calls the pages made before the read model (the
register's visibility list and memos, the incident's ``status`` query).

    .venv/bin/python -m bench.pages [--incidents 1000] [--events 5000] [--n 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.embedded import embedded, line, open_incident
from breachclock.app.engine import build_worker, relay_for
from breachclock.domain.incident.model import Discover, TimelineInput
from breachclock.runtime.config import Settings
from breachclock.service.engine import Engine
from breachclock.web.app import create_app
from breachclock.web.auth import Role
from workflows.incident import IncidentWorkflow

BATCH = 50


async def timed(n: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return times


async def populate(env: Any, settings: Settings, incidents: int, events: int) -> str:
    now = datetime.now(UTC)
    for start in range(0, incidents, BATCH):
        handles = await asyncio.gather(
            *(open_incident(env, settings, "PAGE") for _ in range(min(BATCH, incidents - start)))
        )
        await asyncio.gather(
            *(
                h.execute_update(IncidentWorkflow.discover, Discover(at=now, by="b", how="bench"))
                for h in handles
            )
        )
    long = await open_incident(env, settings, "LONG")
    await long.execute_update(IncidentWorkflow.discover, Discover(at=now, by="b", how="bench"))
    for number in range(events):
        at = now - timedelta(seconds=events - number)
        await long.execute_update(
            IncidentWorkflow.add_event, TimelineInput(at=at, what=f"step {number}", by="bench")
        )
    return long.id.removeprefix("incident-")


async def main(incidents: int, events: int, n: int) -> None:
    async with embedded("bench-pages", BREACHCLOCK_HTTP_PORT=0) as (env, settings):
        async with build_worker(env.client, settings, relay_for(settings)):
            began = time.perf_counter()
            reference = await populate(env, settings, incidents, events)
            print(
                f"populated {incidents} incidents and {events} events in {time.perf_counter() - began:.0f} s"
            )
            app = create_app(settings, env.client)
            async with app.router.lifespan_context(app):
                secret = "bench-token"
                await app.state.auth.store.add_token(
                    secret, "bench", Role.AUDITOR, datetime.now(UTC)
                )
                transport = httpx.ASGITransport(app=app)
                engine = Engine(settings, env.client)
                async with httpx.AsyncClient(
                    transport=transport,
                    base_url="https://bench",
                    headers={"Authorization": f"Bearer {secret}"},
                    timeout=120,
                ) as web:

                    async def page(path: str) -> None:
                        response = await web.get(path)
                        assert response.status_code == 200, response.text[:200]

                    register_page = await timed(n, lambda: page("/?filter=open"))
                    register_sql = await timed(n, lambda: plain(engine, REGISTER_ROWS))
                    register_temporal = await timed(n, lambda: temporal_register(engine))
                    incident_page = await timed(n, lambda: page(f"/incidents/{reference}"))
                    incident_sql = await timed(n, lambda: plain(engine, INCIDENT_ROW, reference))
                    incident_temporal = await timed(n, lambda: engine.state(reference))
    for name, measured, sql, temporal in (
        (f"register page ({incidents} open)", register_page, register_sql, register_temporal),
        (f"incident page ({events} entries)", incident_page, incident_sql, incident_temporal),
    ):
        print(line(name, measured))
        print(line("  plain SQL query of its rows", sql))
        print(f"  ratio {statistics.median(measured) / statistics.median(sql):.2f}x")
        print(line("  Temporal calls (before the read model)", temporal))


REGISTER_ROWS = (
    "SELECT reference, register_row FROM incident_view"
    " ORDER BY next_deadline IS NULL, next_deadline, reference"
)
INCIDENT_ROW = "SELECT version, record FROM incident_view WHERE reference = ?"


async def plain(engine: Engine, sql: str, *args: Any) -> None:
    """The page's rows as they lie in the store, opened as the service opens it."""
    async with engine.read_model() as view:
        await view.db.query(sql, *args)


async def temporal_register(engine: Engine) -> None:
    """The register's open incidents as the console listed them from Temporal."""
    client = await engine.client()
    async for wf in client.list_workflows("WorkflowType = 'Incident'"):
        await wf.memo()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.incidents, args.events, args.n))
