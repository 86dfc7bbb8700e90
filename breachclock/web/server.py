"""Serving the app with uvicorn inside an asyncio program (the engine, or alone)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from temporalio.client import Client

from breachclock.runtime.config import Settings
from breachclock.web import gateway
from breachclock.web.app import create_app


def announce(password: str) -> None:
    print(
        "Console: first run, account 'admin' (manager) made with password "
        f"{password}  (shown once; set BREACHCLOCK_ADMIN_PASSWORD to choose it)",
        flush=True,
    )


def address(settings: Settings) -> str:
    return f"http://{settings.http_host}:{settings.http_port}/"


class QuietServer(uvicorn.Server):
    """A uvicorn server that leaves the signals to the program it runs in, and says when
    its port takes connections (``listening``)."""

    def __init__(self, config: uvicorn.Config, listening: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.listening = listening

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.listening is not None:
            self.listening()


def quiet_server(
    app: Any, host: str, port: int, listening: Callable[[], None] | None = None
) -> uvicorn.Server:
    """A uvicorn server that leaves the signals to the program it runs in."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", lifespan="on", proxy_headers=False
    )
    return QuietServer(config, listening)


async def serve(
    settings: Settings,
    client: Client | None,
    stop: asyncio.Event,
    listening: Callable[[], None] | None = None,
) -> None:
    """Serve until ``stop`` is set; ``listening`` is called once the port takes
    connections (a line printed then can be acted on)."""
    app = create_app(settings, client, first_run=announce)
    server = quiet_server(gateway.outermost(app), settings.http_host, settings.http_port, listening)
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task
