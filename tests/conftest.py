"""Real parts for the tests: Temporal's time-skipping and dev servers, SMTP on 127.0.0.1.

Each test gets its own time-skipping server: skipped time is global to a server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from breachclock.config import Settings
from breachclock.incident.model import Discover, Facts, OpenIncident
from breachclock.outbox import free_port
from breachclock.temporal import start_dev_server, start_time_skipping, workflow_id
from breachclock.worker import build_worker, relay_for
from breachclock.workflows.incident import IncidentStart, IncidentWorkflow, campaign_id

HISTORIES = Path(__file__).parent / "histories"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps what it is sent.

    It can refuse mail to chosen recipients (``refusing``), as a relay does when the
    path to one domain fails while paging still works.
    """

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refusing: set[str] = set()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.refusing & set(envelope.rcpt_tos):
            return "451 4.3.0 Temporarily unavailable (test)"
        self.messages.append(message_from_bytes(envelope.original_content or b""))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in (m.get("To") or "")]

    def keys(self) -> list[str]:
        return [str(m["X-Breachclock-Key"]) for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture
async def skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@pytest.fixture(scope="session", autouse=True)
def codec_key() -> Iterator[str]:
    """One encryption key for the session, made here, in the environment so that the
    CLI and worker subprocesses the tests start use it too."""
    keys = json.dumps({"test-key": base64.b64encode(os.urandom(32)).decode()})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BREACHCLOCK_CODEC_KEYS", keys)
        yield keys


@pytest.fixture(scope="session")
async def dev_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI dev server (in memory), shared: tests use their own ids and queues.

    Its client encrypts payloads with the session's key, as the engine does."""
    ports = Settings(
        BREACHCLOCK_TEMPORAL_PORT=free_port(),
        BREACHCLOCK_UI_PORT=free_port(),
        BREACHCLOCK_DATA_DIR=tmp_path_factory.mktemp("dev-server"),
    )
    env = await start_dev_server(ports, persistent=False)
    yield env
    await env.shutdown()


def settings_for(tmp_path: Path, smtp: SmtpSink, **overrides: Any) -> Settings:
    return Settings(
        BREACHCLOCK_DATA_DIR=tmp_path / "data",
        BREACHCLOCK_TASK_QUEUE=f"test-{uuid.uuid4()}",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        **overrides,
    )


class Harness:
    """A worker on a fresh task queue, and helpers to drive one incident."""

    def __init__(self, env: WorkflowEnvironment, settings: Settings, smtp: SmtpSink) -> None:
        self.env = env
        self.settings = settings
        self.smtp = smtp
        self.handles: list[WorkflowHandle[Any, Any]] = []

    @property
    def client(self) -> Client:
        return self.env.client

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def open(
        self, reference: str = "INC-1", facts: Facts | None = None, **kw: Any
    ) -> WorkflowHandle[Any, Any]:
        opening = OpenIncident(
            reference=reference,
            title="Secret numbers published",
            opened_by="Incident Manager",
            facts=facts or Facts(),
            **kw,
        )
        handle = await self.client.start_workflow(
            IncidentWorkflow.run,
            IncidentStart(opening=opening, policy=self.settings.policy()),
            id=workflow_id(reference),
            task_queue=self.settings.task_queue,
        )
        self.handles.append(handle)
        return handle

    async def discovered(self, reference: str = "INC-1", **kw: Any) -> WorkflowHandle[Any, Any]:
        """A fresh incident (``open``'s ``kw``), discovered now on the environment's clock."""
        handle = await self.open(reference, **kw)
        await handle.execute_update(
            IncidentWorkflow.discover,
            Discover(at=await self.now(), by="On-call", how="a customer asked"),
        )
        return handle

    async def save_histories(self) -> None:
        """Keep each incident's history for the replay test (BREACHCLOCK_RECORD_HISTORIES=1)."""
        test = os.environ["PYTEST_CURRENT_TEST"].split("::")[-1].split(" ")[0]
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in test)
        for number, handle in enumerate(self.handles):
            history = await handle.fetch_history()
            (HISTORIES / f"{name}-{number}.json").write_text(history.to_json())
            state = await handle.query(IncidentWorkflow.status)
            for wave in state.notification.waves:  # the campaign children, too
                child = self.client.get_workflow_handle(campaign_id(state.reference, wave.number))
                history = await child.fetch_history()
                path = HISTORIES / f"{name}-{number}-campaign-{wave.number}.json"
                path.write_text(history.to_json())

    async def wait_for(self, predicate: Any, seconds: float = 20) -> None:
        async with asyncio.timeout(seconds):
            while not predicate():  # noqa: ASYNC110 - polls a plain list
                await asyncio.sleep(0.05)


@asynccontextmanager
async def harness(
    env: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink, **overrides: Any
) -> AsyncIterator[Harness]:
    settings = settings_for(tmp_path, smtp, **overrides)
    async with build_worker(env.client, settings, relay_for(settings)):
        h = Harness(env, settings, smtp)
        yield h
        if os.environ.get("BREACHCLOCK_RECORD_HISTORIES"):
            await h.save_histories()


def unique(prefix: str = "INC") -> str:
    """A reference no other test uses (the dev server is shared)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
