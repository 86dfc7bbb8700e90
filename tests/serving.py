"""A test's own servers on loopback, on free ports: a small HTTP one (aiohttp), and a
Temporal dev server with its UI where a test needs its ports (the shared one's are hidden)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from temporalio.testing import WorkflowEnvironment

from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import free_port
from breachclock.runtime.temporal import start_dev_server


@asynccontextmanager
async def serving(app: web.Application, port: int | None = None) -> AsyncIterator[str]:
    """``app`` served on 127.0.0.1 (``port``, or a free one) until the block ends: its base URL."""
    port = port or free_port()
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def own_dev_server(folder: Path) -> AsyncIterator[tuple[Settings, WorkflowEnvironment]]:
    """A dev server (in memory, UI on) whose settings (ports, codec key) the test knows."""
    settings = Settings(
        BREACHCLOCK_TEMPORAL_PORT=free_port(),
        BREACHCLOCK_UI_PORT=free_port(),
        BREACHCLOCK_DATA_DIR=folder,
    )
    env = await start_dev_server(settings, persistent=False)
    try:
        yield settings, env
    finally:
        await env.shutdown()
