"""Affected people, a notice and assessments for the campaign tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from breachclock.app.demo import comviq_notice
from breachclock.domain.incident.model import IncidentState
from breachclock.domain.notify.assessment import Decision
from breachclock.domain.notify.notice import IncidentNotice
from breachclock.domain.notify.subscribers import Subscriber
from breachclock.runtime.config import Settings
from breachclock.runtime.store import open_notify_store
from breachclock.service.notification import LoadSummary, load_list
from workflows.incident import IncidentWorkflow

HARMFUL: dict[str, Any] = {
    "data_kinds": ["secret_number_or_address"],
    "consequences": ["physical_harm"],
    "stolen": False,
    "known_with_third_party": True,
}


def person(number: int, *, phone: bool = True, email: bool = True, **extra: Any) -> Subscriber:
    return Subscriber.model_validate(
        {
            "id": f"S{number:06d}",
            "name": f"Person Number{number}",
            "phone": f"+4670{number:07d}" if phone else None,
            "email": f"person{number}@example.org" if email else None,
            "affected_items": ["secret number"],
            **extra,
        }
    )


def people(count: int, start: int = 1, **kw: Any) -> list[Subscriber]:
    return [person(n, **kw) for n in range(start, start + count)]


def notice(reference: str) -> IncidentNotice:
    return comviq_notice(reference, datetime(2025, 6, 1, 10, tzinfo=UTC))


async def load(
    settings: Settings, handle: WorkflowHandle[Any, Any], crowd: list[Subscriber]
) -> LoadSummary:
    """Stage and load the list, as the CLI does."""
    async with open_notify_store(settings) as store:
        return await load_list(
            handle, store, handle.id.removeprefix("incident-"), "affected.csv", crowd
        )


async def ready(
    settings: Settings, handle: WorkflowHandle[Any, Any], reference: str, crowd: list[Subscriber]
) -> None:
    """Assessed as harmful, the list loaded and the notice written: a decision away from a campaign."""
    from breachclock.domain.notify.assessment import Assessment

    await handle.execute_update(IncidentWorkflow.assess, Assessment.model_validate(HARMFUL))
    await load(settings, handle, crowd)
    await handle.execute_update(IncidentWorkflow.set_notice, notice(reference))


async def decide(handle: WorkflowHandle[Any, Any]) -> None:
    """The decision to notify: the campaign starts."""
    await handle.execute_update(
        IncidentWorkflow.decide_notice, Decision(notify=True, decided_by="DPO")
    )


async def finish(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], waves: int = 1
) -> IncidentState:
    """Let skipped time pass until the first ``waves`` campaign waves are done."""
    for _ in range(300):
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        done = state.notification.waves
        if len(done) >= waves and all(w.finished_at for w in done):
            return state
        await env.sleep(1800)
    raise AssertionError("the campaign did not finish")
