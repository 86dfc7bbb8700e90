"""Server time of the register page over a read model filled directly, against a plain
SQL query of the rows under it, in seconds rather than ``bench.pages``'s minutes.

``bench.pages`` opens and discovers every incident on the dev server first (two to
five minutes here for 1,000); the page reads only the read model, so this fills it as
the engine's projections would (``--incidents`` discovered incidents, deadlines an
hour apart) and fetches the page ``--n`` times through the app in-process, each
fetch beside one of the plain query (every row, as the store keeps it), so both
see the same load.

    .venv/bin/python -m bench.register [--incidents 1000] [--n 40]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.embedded import line
from bench.pages import REGISTER_ROWS, plain
from breachclock.app.engine import prepare_data_dir
from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import Discover, IncidentState, Policy, Track
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime.config import Settings
from breachclock.service.engine import Engine
from breachclock.web.app import create_app
from breachclock.web.auth import Role


def discovered(number: int, now: datetime) -> IncidentState:
    """An incident as its projection after discovery carries it."""
    aware = now - timedelta(hours=number % 24, minutes=number)
    state = IncidentState(
        reference=f"REG-{number:05d}",
        title=f"bench incident {number}",
        regime=RegimeCode.PTS,
        opened_at=aware,
        opened_by="bench",
        policy=Policy(),
        discovery=Discover(at=aware, by="bench", how="bench"),
        tracks=[Track(regime=RegimeCode.PTS, aware_at=aware)],
    )
    lifecycle.start_track(state.tracks[0])
    return state


async def main(incidents: int, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(BREACHCLOCK_DATA_DIR=Path(tmp), BREACHCLOCK_HTTP_PORT=0)
        await prepare_data_dir(settings)
        engine = Engine(settings)
        now = datetime.now(UTC)
        async with engine.read_model() as view:
            for number in range(incidents):
                await view.project(1, discovered(number, now))
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            await app.state.auth.store.add_token("bench-token", "bench", Role.AUDITOR, now)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="https://bench",
                headers={"Authorization": "Bearer bench-token"},
            ) as web:
                page_times: list[float] = []
                sql_times: list[float] = []
                for _ in range(n + 3):  # the first three warm up
                    started = time.perf_counter()
                    response = await web.get("/?filter=open")
                    page_times.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.text[:200]
                    started = time.perf_counter()
                    await plain(engine, REGISTER_ROWS)
                    sql_times.append(time.perf_counter() - started)
    print(line(f"register page ({incidents} open)", page_times[3:]))
    print(line("  plain SQL query of its rows", sql_times[3:]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--n", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.incidents, args.n))
