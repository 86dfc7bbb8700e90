"""Serving the app with uvicorn inside an asyncio program (the engine, or alone)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

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


def quiet_server(app: Any, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server that leaves the signals to the program it runs in."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    return server


async def serve(settings: Settings, client: Client | None, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set."""
    app = create_app(settings, client, first_run=announce)
    server = quiet_server(app, settings.http_host, settings.http_port)
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task
