"""The engine's gauges: every ``SWEEP`` it looks at its open incidents and writes what
the on-call alerts on to its Prometheus endpoint (only when one is configured).

It starts with every counter's series at zero, so Prometheus sees the first filing,
page or call of a fresh engine as an increase.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from temporalio.client import Client

from breachclock.runtime import metrics
from breachclock.runtime.config import Settings
from breachclock.service.engine import Engine
from breachclock.service.monitoring import sweep
from workflows.campaign import CampaignWorkflow
from workflows.incident import IncidentWorkflow

SWEEP = timedelta(seconds=30)


def _type_of(cls: type) -> str:
    name: str = getattr(cls, "__temporal_workflow_definition").name
    return name


@contextlib.asynccontextmanager
async def health_gauges(
    settings: Settings, client: Client, every: timedelta = SWEEP
) -> AsyncIterator[None]:
    runtime = client.service_client.config.runtime
    if not settings.metrics_address or runtime is None:
        yield
        return
    meter = runtime.metric_meter
    namespace = client.namespace
    # A campaign is a child workflow on its incident's queue (its activities are not).
    metrics.zero_counters(
        metrics.workflow_meter(meter, namespace, settings.task_queue, _type_of(IncidentWorkflow)),
        metrics.workflow_meter(meter, namespace, settings.task_queue, _type_of(CampaignWorkflow)),
    )
    engine = Engine(settings, client)

    async def loop() -> None:
        while True:
            metrics.record_health(meter, await sweep(engine))
            await asyncio.sleep(every.total_seconds())

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        metrics.record_stopped(meter)
