"""The durable campaign walks the incident's plan over real parts: the Temporal dev
server, the worker as its own process (``worker.py``), Kannel with its fake SMSC, the
engine's delivery-report route, and an SMTP server on 127.0.0.1.

Tre's callers (seed 004: number-only people, SMS first) are told with the worker
SIGKILLed in the middle: exactly one SMS per person at the fake SMSC, the delivery
reports counted, the two the gateway lost on the letter list. A plan of calls, SMS and
e-mail ends with its counts per channel in the campaign's final progress.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.ids import campaign_id, workflow_id
from breachclock.domain.incident.model import Discover, IncidentState
from breachclock.domain.incident.notice_fact import operator_for
from breachclock.domain.notify.assessment import Decision
from breachclock.domain.notify.delivery import Status
from breachclock.domain.notify.sms import render, size
from breachclock.domain.notify.subscribers import Subscriber
from breachclock.domain.problems import said
from breachclock.runtime.kannel import Kannel, free_port
from breachclock.runtime.store import open_delivery_store
from breachclock.service import notification
from breachclock.service.engine import Engine
from tests.channels.support import SECRET, dlr_endpoint, stand_in
from tests.cli_support import start_worker, worker_env
from tests.conftest import Harness, SmtpSink, approve_pending, settings_for, unique
from tests.notify_support import notice, ready
from tests.tre import SMS
from workflows.campaign import CampaignProgress
from workflows.incident import IncidentWorkflow

PLAN_ENV = {
    "BREACHCLOCK_CALL_SPACING_MINUTES": "0",
    "BREACHCLOCK_CALLING_HOURS": "00:00-23:59",
    "BREACHCLOCK_NOTIFY_BATCH": "10",
    "BREACHCLOCK_NOTIFY_PARALLEL": "4",
    "BREACHCLOCK_NOTIFY_HEARTBEAT_SECONDS": "2",
    "BREACHCLOCK_SMS_REPORT_MINUTES": "0.25",
}
"""Calls back to back at any hour, small slices, and 15 seconds for a delivery report (under load)."""


@asynccontextmanager
async def engine(
    dev_server: WorkflowEnvironment,
    tmp_path: Path,
    smtp: SmtpSink,
    sms_url: str,
    **extra: str,
) -> AsyncIterator[tuple[Harness, dict[str, str], list[subprocess.Popen[bytes]]]]:
    """A worker process sending SMS through ``sms_url``, with the delivery-report route up
    beside it (on the engine's ``notify.db``); the list holds the running worker."""
    port = free_port()
    sms = {
        "BREACHCLOCK_SMS_URL": sms_url,
        "BREACHCLOCK_SMS_USERNAME": Kannel.USERNAME,
        "BREACHCLOCK_SMS_PASSWORD": Kannel.PASSWORD,
        "BREACHCLOCK_SMS_DLR_URL": f"http://127.0.0.1:{port}/gateway/sms/dlr",
        "BREACHCLOCK_SMS_DLR_SECRET": SECRET,
    }
    settings = settings_for(tmp_path, smtp, **PLAN_ENV, **sms)
    env = worker_env(dev_server, settings, smtp.port, **{**PLAN_ENV, **sms, **extra})
    workers = [start_worker(env)]
    try:
        async with open_delivery_store(settings) as reports, dlr_endpoint(reports, port):
            h = Harness(dev_server, settings, smtp)
            yield h, env, workers
            if os.environ.get("BREACHCLOCK_RECORD_HISTORIES"):
                await h.save_histories()
    finally:
        workers[-1].kill()
        workers[-1].wait()


async def open_with_list(h: Harness, ref: str, crowd: list[Subscriber]) -> WorkflowHandle[Any, Any]:
    handle = await h.open(ref)
    await handle.execute_update(
        IncidentWorkflow.discover, Discover(at=datetime.now(UTC), by="On-call", how="alarm")
    )
    await approve_pending(handle, "DPO")
    await ready(h.settings, handle, ref, crowd)
    return handle


async def finished(h: Harness, ref: str, seconds: float = 120) -> CampaignProgress:
    """The campaign's final progress, once it ended (only the incident is asked while it
    runs, as an operator's status would)."""
    incident = h.client.get_workflow_handle(workflow_id(ref))
    async with asyncio.timeout(seconds):
        while True:
            state: IncidentState = await incident.query(IncidentWorkflow.status)
            if state.notification.waves and state.notification.waves[0].finished_at:
                break
            await asyncio.sleep(0.3)
    campaign = h.client.get_workflow_handle(campaign_id(ref, 1), result_type=CampaignProgress)
    return await campaign.result()


def callers(count: int, prefix: str) -> list[Subscriber]:
    """Tre's callers as the CRM knows them: an id and a number, nothing else."""
    return [
        Subscriber(id=f"caller-{n}", phone=f"{prefix}{n:06d}", affected_items=["secret number"])
        for n in range(count)
    ]


async def test_tre_s_callers_by_sms_first_survive_a_worker_killed_mid_campaign(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink, kannel: Kannel
) -> None:
    people = callers(40, "+46704")
    lost = frozenset({people[3].phone or "", people[27].phone or ""})
    async with (
        stand_in(kannel.url, drop=lost) as url,
        engine(dev_server, tmp_path, smtp, url) as (h, env, workers),
    ):
        ref = unique("TRE")
        handle = await open_with_list(h, ref, people)
        await handle.execute_update(
            IncidentWorkflow.decide_notice,
            Decision(notify=True, decided_by="DPO", plan="sms_first", sms=SMS),
        )
        # Killed once every SMS the gateway will deliver reached the fake SMSC: the
        # campaign is in the middle, its rounds waiting for the delivery reports.
        reached = {p.phone for p in people} - lost
        async with asyncio.timeout(60):
            while True:
                if {r.to for r in kannel.received()} >= reached:
                    break
                await asyncio.sleep(0.02)
        at_kill: IncidentState = await handle.query(IncidentWorkflow.status)
        # What ``person`` says of one whose SMS the gateway took but never reported on:
        # the plan's step, not the first engine's "call 1 of 5".
        unreported = await notification.person(Engine(h.settings, h.client), ref, "caller-3")
        workers[-1].send_signal(signal.SIGKILL)
        workers[-1].wait()
        wave_open_at_kill = at_kill.notification.waves[0].finished_at is None
        sent_before = Counter(r.to for r in kannel.received() if r.to.startswith("+46704"))
        workers.append(start_worker(env))
        progress = await finished(h, ref)
        state: IncidentState = await handle.query(IncidentWorkflow.status)

    text = render(SMS, notice(ref), operator_for(h.settings.policy()), "sv")
    parts = size(text).parts
    got = Counter(r.to for r in kannel.received() if r.to.startswith("+46704"))
    assert got == {p.phone: parts for p in people if p.phone not in lost}, "one SMS each"
    assert got == sent_before, "nothing was sent again after the kill"
    assert wave_open_at_kill, "the kill came before the campaign ended"
    assert progress.plan == "sms_first"
    assert unreported.awaiting is not None
    assert unreported.awaiting.step == said("awaiting.report", channel="sms"), unreported.awaiting
    assert progress.counts.people == {Status.TEXTED: 38, Status.UNREACHABLE: 2}
    assert progress.by_channel.model_dump(mode="json") == {
        "attempts": {"sms": {"delivered": 38, "expired": 2}},
        "reached_by": {"letter": 2, "sms": 38},
    }
    wave = state.notification.waves[0]
    assert wave.counts is not None and wave.counts.sms == {"delivered": 38, "expired": 2}


async def test_a_worker_killed_mid_round_tells_each_at_most_once_and_letters_the_rest(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink, kannel: Kannel
) -> None:
    """Killed while SMS are in flight: a message whose key was written but whose request
    never left is not sent again (Kannel does not de-duplicate), it expires and the person
    is on the letter list; nobody gets two, and the campaign ends."""
    people = callers(40, "+46707")
    async with engine(dev_server, tmp_path, smtp, kannel.url) as (h, env, workers):
        ref = unique("TRE")
        handle = await open_with_list(h, ref, people)
        await handle.execute_update(
            IncidentWorkflow.decide_notice,
            Decision(notify=True, decided_by="DPO", plan="sms_first", sms=SMS),
        )
        async with asyncio.timeout(60):
            while True:
                if [r for r in kannel.received() if r.to.startswith("+46707")]:
                    break
                await asyncio.sleep(0.02)
        workers[-1].send_signal(signal.SIGKILL)
        workers[-1].wait()
        workers.append(start_worker(env))
        progress = await finished(h, ref)

    parts = size(render(SMS, notice(ref), operator_for(h.settings.policy()), "sv")).parts
    got = Counter(r.to for r in kannel.received() if r.to.startswith("+46707"))
    assert set(got.values()) == {parts}, "nobody got a message twice"
    texted = progress.counts.people.get(Status.TEXTED, 0)
    assert texted == len(got) and progress.counts.sms == {"delivered": texted} | (
        {"expired": len(people) - texted} if texted < len(people) else {}
    )
    assert progress.counts.people.get(Status.UNREACHABLE, 0) == len(people) - texted


async def test_calls_sms_email_counts_each_channel_in_the_final_progress(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink, kannel: Kannel
) -> None:
    nobody_answers = {"BREACHCLOCK_SIMULATOR_OUTCOMES": json.dumps({"no_answer": 1})}
    people = [
        # Nobody answers; the SMS arrives.
        Subscriber(
            id="a", phone="+46705000001", email="a@example.se", affected_items=["secret number"]
        ),
        # Nobody answers; the SMS is lost; the e-mail goes.
        Subscriber(
            id="b", phone="+46705000002", email="b@example.se", affected_items=["secret number"]
        ),
        # Nobody answers; the SMS is lost; no e-mail: a letter.
        Subscriber(id="c", phone="+46705000003", affected_items=["secret number"]),
        # No number: straight to the e-mail.
        Subscriber(id="d", email="d@example.se", affected_items=["secret number"]),
    ]
    lost = frozenset({"+46705000002", "+46705000003"})
    async with (
        stand_in(kannel.url, drop=lost) as url,
        engine(dev_server, tmp_path, smtp, url, **nobody_answers) as (h, _, _),
    ):
        ref = unique("TRE")
        handle = await open_with_list(h, ref, people)
        await handle.execute_update(
            IncidentWorkflow.decide_notice,
            Decision(notify=True, decided_by="DPO", plan="calls_sms_email", sms=SMS),
        )
        progress = await finished(h, ref)

    assert progress.by_channel.model_dump(mode="json") == {
        "attempts": {
            "call": {"failed": 15},
            "email": {"delivered": 2},
            "sms": {"delivered": 1, "expired": 2},
        },
        "reached_by": {"email": 2, "letter": 1, "sms": 1},
    }
    assert sorted(k for k in smtp.notices() if k.startswith(ref)) == [
        f"{ref}:b:email",
        f"{ref}:d:email",
    ]
    assert Counter(r.to for r in kannel.received() if r.to.startswith("+46705")) == {
        "+46705000001": size(
            render(SMS, notice(ref), operator_for(h.settings.policy()), "sv")
        ).parts
    }
