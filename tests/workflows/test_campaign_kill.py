"""A campaign survives its worker being SIGKILLed in each of its phases.

Real parts throughout: the Temporal dev server, the worker as its own process
(``worker.py``), an SMTP server on 127.0.0.1 counting what arrives. Every person
must end told exactly once: one e-mail each at the SMTP server, none twice, the
people without an address on the letter list, and every filing sent once.

Why 300 people and four kills suffice (the test once took 1,000 and ten kills at
random moments): exactly-once rests on each send's business key, not on how many
sends there are, so what matters is that a kill finds work of each kind in flight.
Each kill here is placed in its phase and the test checks it landed there: while the
list loads (its updates wait for the next worker), mid-round (calls under way in
slices of 50, four at a time), just as the campaign continued as new (a history
budget of 60 events makes it hand over every few rounds), and while the notices go
out and the letter list fills. A random moment found those phases only by chance.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.api import LOAD_SUBSCRIBERS
from breachclock.domain.ids import campaign_id
from breachclock.domain.incident.model import Discover, IncidentState
from breachclock.domain.notify.assessment import Assessment
from breachclock.domain.notify.delivery import CallOutcome, Status
from tests.cli_support import start_worker, worker_env
from tests.conftest import Harness, SmtpSink, approve_pending, settings_for, unique
from tests.notify_support import HARMFUL, decide, load, notice, person
from workflows.campaign import CampaignProgress, CampaignWorkflow
from workflows.incident import IncidentWorkflow

PEOPLE = 300
LETTERS = PEOPLE // 10
"""Every tenth person has no e-mail address: after the calls, a letter."""


class Killer:
    """The worker process, SIGKILLed and started again; which phase each kill hit."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.worker = start_worker(env)
        self.phases: list[str] = []

    async def kill(self, phase: str) -> None:
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()
        self.phases.append(phase)
        self.worker = await asyncio.to_thread(start_worker, self.env)

    def stop(self) -> None:
        self.worker.kill()
        self.worker.wait()


async def loading_started(handle: WorkflowHandle[Any, Any]) -> None:
    """Once the worker has scheduled the list's load activity: the kill then lands while
    the list loads (a fixed sleep was too short under load and, with a faster worker,
    too long)."""
    async with asyncio.timeout(30):
        while True:
            history = await handle.fetch_history()
            if any(
                e.activity_task_scheduled_event_attributes.activity_type.name == LOAD_SUBSCRIBERS
                for e in history.events
            ):
                return
            await asyncio.sleep(0.002)


async def test_sigkills_in_each_phase_of_a_campaign_leave_everyone_told_exactly_once(
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
        "BREACHCLOCK_NOTIFY_BATCH": "50",
        "BREACHCLOCK_NOTIFY_PARALLEL": "4",
        "BREACHCLOCK_NOTIFY_HEARTBEAT_SECONDS": "2",
        "BREACHCLOCK_NOTIFY_HISTORY_BUDGET": "60",
    }
    settings = settings_for(tmp_path, smtp, **plan)
    h = Harness(dev_server, settings, smtp)
    crowd = [person(n, email=n % 10 != 0) for n in range(1, PEOPLE + 1)]
    killer = Killer(worker_env(dev_server, settings, smtp.port, **simulator, **plan))
    try:
        ref = unique("KILL")
        handle = await h.open(ref)
        await handle.execute_update(
            IncidentWorkflow.discover,
            Discover(at=datetime.now(UTC), by="On-call", how="alarm"),
        )
        await approve_pending(handle, "DPO")
        await handle.execute_update(IncidentWorkflow.assess, Assessment.model_validate(HARMFUL))
        loading = asyncio.create_task(load(h.settings, handle, crowd))
        await loading_started(handle)
        assert not loading.done(), "the list loaded before the kill meant for its loading"
        await killer.kill("load")
        assert (await loading).people == PEOPLE
        await handle.execute_update(IncidentWorkflow.set_notice, notice(ref))
        await decide(handle)

        campaign = h.client.get_workflow_handle(campaign_id(ref, 1))
        run = (await campaign.describe()).run_id
        phases: dict[str, Callable[[CampaignProgress, str], bool]] = {
            "mid-round": lambda p, now: PEOPLE <= sum(p.counts.calls.values()) < 4 * PEOPLE,
            "continue-as-new": lambda p, now: now != run,
            "notices and letters": lambda p, now: (
                0 < p.counts.people.get(Status.EMAILED, 0) < PEOPLE - LETTERS
                and 0 < p.counts.people.get(Status.UNREACHABLE, 0) < LETTERS
            ),
        }
        async with asyncio.timeout(180):
            while True:
                progress: CampaignProgress = await campaign.query(CampaignWorkflow.progress)
                now = (await campaign.describe()).run_id
                if progress.finished_at is not None:
                    break
                hit = [name for name, met in phases.items() if met(progress, now)]
                if hit:
                    await killer.kill(hit[0])
                    del phases[hit[0]]
                run = now
                await asyncio.sleep(0.05)
            while True:  # the incident hears of the end and keeps the counts
                state: IncidentState = await handle.query(IncidentWorkflow.status)
                if state.notification.waves[0].finished_at is not None:
                    break
                await asyncio.sleep(0.2)
        await asyncio.sleep(1)
    finally:
        killer.stop()

    assert not phases, f"the campaign finished before a kill in: {list(phases)}"
    assert len(killer.phases) == 4, killer.phases
    counts = state.notification.waves[0].counts
    assert counts is not None
    assert counts.people == {Status.EMAILED: PEOPLE - LETTERS, Status.UNREACHABLE: LETTERS}
    assert counts.calls == {CallOutcome.NO_ANSWER: 5 * PEOPLE}
    keys = Counter(smtp.keys())
    assert len(smtp.notices()) == PEOPLE - LETTERS, "everyone with an address got the notice"
    assert [k for k, n in keys.items() if n > 1] == [], "nobody got anything twice"
    assert keys[f"{ref}:1"] == 1, "the filing was sent once"
