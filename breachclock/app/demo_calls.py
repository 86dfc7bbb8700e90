"""``breachclock demo --leave-calls``: calls for a newcomer to take in the console.

``demo`` runs the Comviq case on a time-skipping server of its own, so the running
engine's console shows nothing of it. This opens a demo incident on the running engine
instead, up to the campaign: a handful of made-up customers whose calls wait in the
agents' worklist (*Samtal* in the console) whatever way the engine places calls, and
at any hour. It is marked as a demo in its reference and title, and every address its
mail could go to is a reserved example.org one (RFC 2606): its filings and pages never
reach an authority or a person, even through a real relay.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

from breachclock.app.demo import HARM, affected, comviq_notice, first_facts
from breachclock.domain.incident.model import Discover, OpenIncident, Policy
from breachclock.domain.notify.assessment import Decision
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime.config import Settings
from breachclock.service import incidents
from breachclock.service.engine import Engine
from breachclock.service.notification import load_list
from workflows.incident import IncidentWorkflow

PREFIX = "DEMO-CALLS"
CALLS = 5
"""Made-up customers to call: enough to try each outcome, few enough to finish."""
AUTHORITY = "authority@example.org"
STAFF = "staff@example.org"
WAIT = timedelta(seconds=60)
"""How long the calls may take to reach the worklist (the campaign's first round)."""


def demo_policy(settings: Settings) -> Policy:
    """The engine's policy, with mail to example.org only, an example operator, and a
    plan whose calls go to the agents all day (a newcomer tries it at any hour), five
    minutes apart."""
    policy = settings.policy()
    plan = policy.notify_plan.model_copy(
        update={
            "agents": True,
            "window_start": time(0, 0),
            "window_end": time(23, 59, 59),
            "spacing": timedelta(minutes=5),
        }
    )
    return policy.model_copy(
        update={
            "operator_name": "Example Operator (demo)",
            "regulator_addresses": {
                code: AUTHORITY for code in (RegimeCode.PTS, RegimeCode.IMY, RegimeCode.NIS2)
            },
            "audiences": [[STAFF] for _ in policy.audiences],
            "contact_point": STAFF,
            "customer_phone": None,
            "customer_email": STAFF,
            "customer_web": None,
            "notify_plan": plan,
        }
    )


async def leave_calls(engine: Engine) -> tuple[str, int]:
    """Open the demo incident on the running engine and bring it to its campaign; the
    reference and how many calls wait for an agent once they do (or ``WAIT`` ran out)."""
    now = datetime.now(UTC)
    reference = f"{PREFIX}-{now:%Y%m%d%H%M%S}"
    migration = (now - timedelta(days=90)).replace(minute=0, second=0, microsecond=0)
    opening = OpenIncident(
        reference=reference,
        title="DEMO: secret numbers published after a migration (example data)",
        opened_by="Demo",
        facts=first_facts(migration),
    )
    await incidents.open_incident(engine, opening, demo_policy(engine.settings))
    handle = await engine.handle(reference)
    await handle.execute_update(
        IncidentWorkflow.discover,
        Discover(at=now, by="Demo", how="a customer asked why their secret number is listed"),
    )
    await handle.execute_update(IncidentWorkflow.assess, HARM)
    async with engine.people() as store:
        await load_list(handle, store, reference, "demo.csv", affected(CALLS))
        await handle.execute_update(
            IncidentWorkflow.set_notice, comviq_notice(reference, migration)
        )
        await handle.execute_update(
            IncidentWorkflow.decide_notice, Decision(notify=True, decided_by="Demo")
        )
        deadline = asyncio.get_running_loop().time() + WAIT.total_seconds()
        while (waiting := await store.waiting(reference)) < CALLS:
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
    return reference, waiting
