"""The pages' read model, seen from the service: an incident's state for its page, a
rebuild from Temporal, and the change feed that live pages follow.

The engine keeps the read model current (each incident's workflow projects every change,
``workflows.projection``); a rebuild is for a read model that is new, lost, or restored
from an older backup: it asks each incident's workflow for its state and the version it
last projected, and keeps whichever is newer, the live projection's or the rebuild's;
closed incidents come from the register.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

from pydantic import BaseModel
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.register import page_state
from breachclock.runtime.store.readmodel import Change, Projected
from breachclock.runtime.temporal import WORKFLOW_ID_PREFIX
from breachclock.service.engine import Engine
from workflows.incident import IncidentWorkflow

REBUILD_PARALLEL = 16
"""Incidents asked at once during a rebuild (each question replays a workflow)."""
QUERY_TIMEOUT = timedelta(seconds=10)
"""How long a rebuild waits for one workflow's answer (one whose worker is down is
listed as unread rather than holding up the rest)."""
RUNNING = "WorkflowType = 'Incident' AND ExecutionStatus = 'Running'"
FEED_POLL = 0.5
"""Seconds between looks at the change feed: a change reaches a live page within it."""


async def page_of(engine: Engine, reference: str) -> Projected:
    """The incident as its page reads it (the latest timeline entries), without asking
    Temporal; one never projected (opened by an engine before the read model, and not
    rebuilt yet) from Temporal."""
    async with engine.read_model() as view:
        found = await view.state(reference)
    if found is not None:
        return found
    state = await engine.state(reference)
    return Projected(0, page_state(state), len(state.timeline))


class Rebuilt(BaseModel):
    incidents: int
    """Incidents read: running ones from Temporal, closed ones from the register."""
    changed: int
    """Of them, the rows the rebuild wrote (the others were as new already)."""
    unread: list[str]
    """References whose workflow did not answer (their rows are left as they were)."""


async def rebuild(engine: Engine) -> Rebuilt:
    """Project every running incident as its workflow stands now, and every closed one
    the register keeps where the read model has no row for it (a closed incident does
    not change; the register outlives Temporal's retention)."""
    client = await engine.client()
    references: list[str] = []
    async for wf in client.list_workflows(RUNNING):
        reference = wf.id.removeprefix(WORKFLOW_ID_PREFIX)
        if wf.id.startswith(WORKFLOW_ID_PREFIX) and reference not in references:
            references.append(reference)
    gate = asyncio.Semaphore(REBUILD_PARALLEL)
    unread: list[str] = []
    async with engine.read_model() as view, engine.records() as store:

        async def one(reference: str) -> bool:
            async with gate:
                try:
                    found = await (await engine.handle(reference)).query(
                        IncidentWorkflow.projection, rpc_timeout=QUERY_TIMEOUT
                    )
                except (RPCError, WorkflowQueryFailedError):
                    unread.append(reference)
                    return False
                return await view.project(found.version, found.state, rebuild=True)

        changed = list(await asyncio.gather(*(one(r) for r in references)))
        for record in await store.all_registered():
            closed = IncidentState.model_validate_json(record)
            changed.append(await view.project(0, closed, rebuild=True))
    return Rebuilt(
        incidents=len(changed) - len(unread), changed=sum(changed), unread=sorted(unread)
    )


async def changes(engine: Engine, since: int | None = None) -> AsyncIterator[Change]:
    """Every projected change after feed number ``since`` (None: from now on), as it
    comes, for as long as the caller iterates; each change's ``seq`` is the number to
    resume from (a reconnecting page's ``Last-Event-ID``)."""
    async with engine.read_model() as view:
        seen = await view.last_seq() if since is None else since
        while True:
            for change in await view.changed_since(seen):
                seen = change.seq
                yield change
            await asyncio.sleep(FEED_POLL)
