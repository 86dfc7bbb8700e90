"""What every benchmark runs on: the embedded dev server (SQLite, as ``make run``)
in a temporary data folder, and an SMTP server on 127.0.0.1 that accepts all, in a
process of its own (``bench.smtp_sink``)."""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from bench.smtp_sink import SmtpSink
from breachclock.app.engine import prepare_data_dir
from breachclock.domain.incident.model import OpenIncident
from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import free_port
from breachclock.runtime.temporal import start_dev_server, workflow_id
from workflows.incident import IncidentWorkflow
from workflows.messages import IncidentStart


@contextlib.asynccontextmanager
async def embedded(
    task_queue: str, sink: SmtpSink | None = None, **overrides: Any
) -> AsyncIterator[tuple[WorkflowEnvironment, Settings]]:
    """``sink``: the SMTP server, not yet started, when the bench reads its counts; one
    of its own otherwise."""
    with sink or SmtpSink(free_port()) as smtp, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            BREACHCLOCK_DATA_DIR=Path(tmp),
            BREACHCLOCK_TEMPORAL_PORT=free_port(),
            BREACHCLOCK_UI_PORT=free_port(),
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=smtp.port,
            BREACHCLOCK_TASK_QUEUE=task_queue,
            # Filings go to the authorities' addresses, caught by the bench's SMTP
            # sink: an engine naming no operator would refuse to start so.
            BREACHCLOCK_OPERATOR="Bänkoperatören AB",
            # ... and one whose filings leave names who answers for them.
            BREACHCLOCK_POLICY_OWNER="Bänk Ansvarig",
            BREACHCLOCK_POLICY_OWNER_ROLE="Incidentansvarig",
            **overrides,
        )
        await prepare_data_dir(settings)
        env = await start_dev_server(settings)
        try:
            yield env, settings
        finally:
            await env.shutdown()


async def open_incident(
    env: WorkflowEnvironment, settings: Settings, prefix: str
) -> WorkflowHandle[Any, Any]:
    """A fresh incident with a unique reference, as ``starter.py open`` would start it."""
    reference = f"{prefix}-{uuid.uuid4().hex[:10]}"
    return await env.client.start_workflow(
        IncidentWorkflow.run,
        IncidentStart(opening=OpenIncident(reference=reference, title="bench", opened_by="bench")),
        id=workflow_id(reference),
        task_queue=settings.task_queue,
    )


def line(name: str, values: list[float]) -> str:
    """One figure's line: how many, median and p95, in milliseconds."""
    return (
        f"{name:34} n={len(values)}  median {statistics.median(values) * 1000:8.1f} ms"
        f"  p95 {percentile(values, 0.95) * 1000:8.1f} ms"
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
