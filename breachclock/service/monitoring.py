"""The engine's look at its open incidents, for the gauges the on-call alerts on.

Each open incident's state is asked of its workflow (a query; the state is sealed on
the server, so visibility's search attributes cannot say who owns a deadline), a few
at a time and at most ``LIMIT`` of them, then reduced to bounded figures by the domain
(``breachclock.domain.incident.health``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import structlog
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from breachclock.domain.incident.health import Health, health
from breachclock.domain.incident.model import IncidentState
from breachclock.runtime.temporal import WORKFLOW_ID_PREFIX
from breachclock.service.engine import Engine
from workflows.incident import IncidentWorkflow

log = structlog.get_logger(__name__)

LIMIT = 5_000
"""Open incidents looked at per sweep (an operator has a handful; this bounds a flood)."""
AT_ONCE = 8
QUERY_TIMEOUT = timedelta(seconds=5)


async def open_states(engine: Engine) -> list[IncidentState]:
    client = await engine.client()
    query = "WorkflowType = 'Incident' AND ExecutionStatus = 'Running'"
    ids = []
    async for found in client.list_workflows(query, limit=LIMIT):
        if found.id.startswith(WORKFLOW_ID_PREFIX):
            ids.append(found.id)
    gate = asyncio.Semaphore(AT_ONCE)

    async def state_of(workflow_id: str) -> IncidentState | None:
        async with gate:
            handle = await engine.handle(workflow_id.removeprefix(WORKFLOW_ID_PREFIX))
            try:
                state: IncidentState = await handle.query(
                    IncidentWorkflow.status, rpc_timeout=QUERY_TIMEOUT
                )
            except (WorkflowQueryFailedError, RPCError):
                return None  # closed meanwhile, or its worker is busy: next sweep
            return state

    states = await asyncio.gather(*(state_of(i) for i in ids))
    return [s for s in states if s is not None]


async def sweep(engine: Engine) -> Health | None:
    """The figures now; None when Temporal does not answer the listing."""
    try:
        states = await open_states(engine)
    except RPCError as err:
        log.warning("health.sweep_failed", error=err.message)
        return None
    return health(states, datetime.now(UTC))
