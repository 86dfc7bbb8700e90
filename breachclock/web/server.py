"""Serving the app with uvicorn inside an asyncio program (the engine, or alone)."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn
from temporalio.client import Client

from breachclock.runtime.config import Settings
from breachclock.web.app import create_app


def announce(password: str) -> None:
    print(
        "Console: first run, account 'admin' (manager) made with password "
        f"{password}  (shown once; set BREACHCLOCK_ADMIN_PASSWORD to choose it)",
        flush=True,
    )


def address(settings: Settings) -> str:
    return f"http://{settings.http_host}:{settings.http_port}/"


async def serve(settings: Settings, client: Client | None, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set."""
    config = uvicorn.Config(
        create_app(settings, client, first_run=announce),
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="on",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]  # the program handles them
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task
