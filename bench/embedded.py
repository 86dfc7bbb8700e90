"""What every benchmark runs on: the embedded dev server (SQLite, as ``make run``)
in a temporary data folder, and an SMTP server on 127.0.0.1 that accepts all."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from temporalio.testing import WorkflowEnvironment

from breachclock.config import Settings
from breachclock.outbox import free_port
from breachclock.temporal import start_dev_server


class Accept:
    """An SMTP handler that accepts every message and keeps none."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@contextlib.asynccontextmanager
async def embedded(
    task_queue: str, **overrides: Any
) -> AsyncIterator[tuple[WorkflowEnvironment, Settings]]:
    smtp_port = free_port()
    controller = Controller(Accept(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                BREACHCLOCK_DATA_DIR=Path(tmp),
                BREACHCLOCK_TEMPORAL_PORT=free_port(),
                BREACHCLOCK_UI_PORT=free_port(),
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=smtp_port,
                BREACHCLOCK_TASK_QUEUE=task_queue,
                **overrides,
            )
            env = await start_dev_server(settings)
            try:
                yield env, settings
            finally:
                await env.shutdown()
    finally:
        controller.stop()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
