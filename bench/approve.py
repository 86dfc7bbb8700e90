"""How long from ``approve`` to the regulator's mail accepted by the SMTP server.

Runs on the embedded dev server (SQLite, as ``make run``) with a real worker and an SMTP
server on 127.0.0.1. The baseline is the same report mail sent straight with
aiosmtplib to the same server: the ratio is what the durable workflow costs on
top of the send itself.

    .venv/bin/python -m bench.approve [--n 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from bench.embedded import embedded, open_incident, percentile
from breachclock.app.engine import build_worker, relay_for
from breachclock.domain.incident.lifecycle import FileReport
from breachclock.domain.incident.model import Approve, Discover, FilingKind
from breachclock.domain.incident.report import build_draft, render_text
from breachclock.runtime.config import Settings
from workflows.incident import IncidentWorkflow


async def main(n: int) -> None:
    async with embedded("bench-approve") as (env, settings):
        approve_times, baseline_times = await run(env, settings, n)
    for name, values in (
        ("approve → mail accepted", approve_times),
        ("baseline: aiosmtplib send", baseline_times),
    ):
        print(
            f"{name:28} n={len(values)}  median {statistics.median(values) * 1000:7.1f} ms"
            f"  p95 {percentile(values, 0.95) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms"
        )
    ratio = statistics.median(approve_times) / statistics.median(baseline_times)
    print(f"ratio (median approve / median baseline): {ratio:.1f}x")


async def run(env: Any, settings: Settings, n: int) -> tuple[list[float], list[float]]:
    approve_times: list[float] = []
    baseline_times: list[float] = []
    async with build_worker(env.client, settings, relay_for(settings)):
        for _ in range(n):
            handle = await open_incident(env, settings, "BENCH")
            await handle.execute_update(
                IncidentWorkflow.discover, Discover(at=datetime.now(UTC), by="bench", how="bench")
            )
            started = time.perf_counter()
            result = await handle.execute_update(
                IncidentWorkflow.approve,
                Approve(by="bench", filing="initial_report", facts_version=0),
            )
            assert result.filed is not None
            approve_times.append(time.perf_counter() - started)

            state = await handle.query(IncidentWorkflow.status)
            draft = build_draft(
                state,
                FileReport(0, FilingKind.INITIAL, "initial_report", None),
                99,
                datetime.now(UTC),
                None,
            )
            message = EmailMessage()
            message["From"] = settings.mail_from
            message["To"] = draft.recipient
            message["Subject"] = "baseline"
            message.set_content(render_text(draft))
            started = time.perf_counter()
            await aiosmtplib.send(message, hostname="127.0.0.1", port=settings.smtp_port)
            baseline_times.append(time.perf_counter() - started)
    return approve_times, baseline_times


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=30, help="incidents to approve")
    asyncio.run(main(parser.parse_args().n))
