"""A 1,000-person campaign survives its worker being SIGKILLed at 10 random moments.

Real parts throughout: the Temporal dev server, the worker as its own process
(``worker.py``), an SMTP server on 127.0.0.1 counting what arrives. Every person
must end told exactly once: one e-mail each at the SMTP server, none twice, and
every filing sent once.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import Discover, IncidentState
from breachclock.domain.notify.delivery import CallOutcome, Status
from tests.cli_support import start_worker, worker_env
from tests.conftest import Harness, SmtpSink, approve_pending, settings_for, unique
from tests.notify_support import decide, people, ready
from workflows.incident import IncidentWorkflow

PEOPLE = 1000
KILLS = 10


async def test_ten_sigkills_during_a_campaign_leave_everyone_told_exactly_once(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    simulator = {
        "BREACHCLOCK_SIMULATOR_OUTCOMES": json.dumps({"no_answer": 1}),
        "BREACHCLOCK_SIMULATOR_LATENCY_MS": "60",
        "BREACHCLOCK_SIMULATOR_LINES": "10",
    }
    plan = {
        "BREACHCLOCK_CALL_SPACING_MINUTES": "0",
        "BREACHCLOCK_CALLING_HOURS": "00:00-23:59",
        "BREACHCLOCK_NOTIFY_BATCH": "100",
        "BREACHCLOCK_NOTIFY_PARALLEL": "4",
        "BREACHCLOCK_NOTIFY_HEARTBEAT_SECONDS": "2",
    }
    settings = settings_for(tmp_path, smtp, **plan)
    env = worker_env(dev_server, settings, smtp.port, **simulator, **plan)
    h = Harness(dev_server, settings, smtp)
    seed = os.environ.get("BREACHCLOCK_KILL_SEED") or str(random.randrange(10**6))
    print(f"kill moments from seed {seed} (BREACHCLOCK_KILL_SEED repeats them)")
    chance = random.Random(seed)
    worker = start_worker(env)
    kills = 0
    try:
        ref = unique("KILL")
        handle = await h.open(ref)
        await handle.execute_update(
            IncidentWorkflow.discover,
            Discover(at=datetime.now(UTC), by="On-call", how="alarm"),
        )
        await approve_pending(handle, "DPO")
        await ready(h.settings, handle, ref, people(PEOPLE))
        await decide(handle)
        while kills < KILLS:
            await asyncio.sleep(chance.uniform(0.2, 1.5))
            state: IncidentState = await handle.query(IncidentWorkflow.status)
            if state.notification.waves[0].finished_at is not None:
                break
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
            worker = start_worker(env)
        async with asyncio.timeout(180):
            while True:
                state = await handle.query(IncidentWorkflow.status)
                if state.notification.waves[0].finished_at is not None:
                    break
                await asyncio.sleep(0.5)
        await asyncio.sleep(1)
    finally:
        worker.kill()
        worker.wait()

    assert kills == KILLS, f"the campaign finished after only {kills} kills: make it longer"
    counts = state.notification.waves[0].counts
    assert counts is not None
    assert counts.people == {Status.EMAILED: PEOPLE}
    assert counts.calls == {CallOutcome.NO_ANSWER: 5 * PEOPLE}
    keys = Counter(smtp.keys())
    notices = {k: n for k, n in keys.items() if k.endswith(":email")}
    assert len(notices) == PEOPLE, "everyone got the notice"
    assert [k for k, n in keys.items() if n > 1] == [], "nobody got anything twice"
    assert keys[f"{ref}:1"] == 1, "the filing was sent once"
