"""Real parts for the tests: Temporal's time-skipping and dev servers, SMTP on 127.0.0.1.

Each test gets its own time-skipping server: skipped time is global to a server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from google.protobuf.message import Message as ProtoMessage
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.converter import PayloadCodec
from temporalio.testing import WorkflowEnvironment

from breachclock.app.engine import build_worker, relay_for
from breachclock.domain.ids import campaign_id
from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import Approve, Discover, Facts, IncidentState, OpenIncident
from breachclock.runtime import offload
from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import free_port
from breachclock.runtime.temporal import start_dev_server, start_time_skipping, workflow_id
from workflows.incident import IncidentWorkflow
from workflows.messages import ApproveResult, IncidentStart

HISTORIES = Path(__file__).parent / "histories"

pytest_plugins = ["tests.tiers", "tests.schedule"]  # tiers; longest modules first under xdist


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps what it is sent.

    Like a real relay it can turn recipients away: ``refusing`` (a 451 to the message,
    as when the path to one domain fails while paging still works), ``deferring`` (451
    at RCPT: greylisting), ``rejecting`` (550 at RCPT: no such mailbox). It offers
    SMTPUTF8 only when made with ``smtputf8``; ``dropping`` breaks the connection at
    that recipient, once; ``slow`` holds the answer to each
    message's end that long (a relay under load), ``slow_for`` for that many messages.
    """

    def __init__(self, smtputf8: bool = False) -> None:
        self.messages: list[Message] = []
        self.raw: list[bytes] = []
        self.accepted_at: list[datetime] = []
        """When each of ``messages`` was accepted (the wall clock)."""
        self.refusing: set[str] = set()
        self.deferring: set[str] = set()
        self.rejecting: set[str] = set()
        self.dropping: set[str] = set()
        self.slow = 0.0
        self.slow_for = 0
        self.port = free_port()
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8
        )

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.dropping:  # once: the connection breaks at this recipient
            self.dropping.discard(address)
            server.transport.close()
            return "421 4.4.2 Connection dropped (test)"
        if address in self.deferring:
            return "451 4.7.1 Greylisted, try again later (test)"
        if address in self.rejecting:
            return "550 5.1.1 <" + address + ">: no such mailbox (test)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.refusing & set(envelope.rcpt_tos):
            return "451 4.3.0 Temporarily unavailable (test)"
        if self.slow_for > 0:
            self.slow_for -= 1
            await asyncio.sleep(self.slow)
        self.raw.append(envelope.original_content or b"")
        self.messages.append(message_from_bytes(self.raw[-1]))
        self.accepted_at.append(datetime.now(UTC))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in (m.get("To") or "")]

    def keys(self) -> list[str]:
        return [str(m["X-Breachclock-Key"]) for m in self.messages]

    def notices(self) -> Counter[str]:
        """Notice e-mails received, by key: each person's should be there exactly once."""
        return Counter(k for k in self.keys() if k.endswith(":email"))


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
async def worker_process() -> AsyncIterator[None]:
    """The engine's worker process (``offload``), held for the whole session.

    Each test's engine holds it while it runs and the last holder stops it: without a
    holder here every engine spawned a fresh one and waited for its imports, about 1.5 s
    of CPU a test on a slow core. It starts on first use, so a test that needs none
    spawns none. A test that kills it still gets a fresh one (the next call's)."""
    async with offload.process_held():
        yield


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
    env = await private_server(tmp_path_factory.mktemp("dev-server"))
    yield env
    await env.shutdown()


async def private_server(folder: Path) -> WorkflowEnvironment:
    """A dev server (in memory) on free ports, for tests that must see only their own
    workflows on it (a visibility list); shut it down after."""
    ports = Settings(
        BREACHCLOCK_TEMPORAL_PORT=free_port(),
        BREACHCLOCK_UI_PORT=free_port(),
        BREACHCLOCK_DATA_DIR=folder,
    )
    return await start_dev_server(ports, persistent=False)


TEST_OPERATOR = "Testoperatören AB"
"""A named operator: tests send to the authorities' addresses, caught by the SMTP sink."""
POLICY_OWNER = {
    "BREACHCLOCK_POLICY_OWNER": "Karin Berg",
    "BREACHCLOCK_POLICY_OWNER_ROLE": "Incidentansvarig",
}
"""Who answers for the test operator's automatic filings (a named operator must say)."""


def settings_for(tmp_path: Path, smtp: SmtpSink, **overrides: Any) -> Settings:
    return Settings(
        BREACHCLOCK_DATA_DIR=tmp_path / "data",
        BREACHCLOCK_TASK_QUEUE=f"test-{uuid.uuid4()}",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        **{"BREACHCLOCK_OPERATOR": TEST_OPERATOR, **POLICY_OWNER, **overrides},
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
            IncidentStart(opening=opening),
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
        """Keep each incident's history for the replay test (BREACHCLOCK_RECORD_HISTORIES=1):
        every run of it, and of its campaigns, those that continued as new included."""
        test = os.environ["PYTEST_CURRENT_TEST"].split("::")[-1].split(" ")[0]
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in test)
        # A new path's recordings beside the old path's of the same test (``clock_…``).
        if prefix := os.environ.get("BREACHCLOCK_HISTORY_PREFIX"):
            name = f"{prefix}_{name}"

        codec = self.client.data_converter.payload_codec

        async def save(histories: list[WorkflowHistory], stem: str) -> None:
            for run, history in enumerate(histories):
                if codec is not None:  # the dev server's: saved opened, as the test key goes
                    for event in history.events:
                        await opened(event, codec)
                suffix = f"-run{run}" if len(histories) > 1 else ""
                (HISTORIES / f"{stem}{suffix}.json").write_text(history.to_json())

        for number, handle in enumerate(self.handles):
            await save(await runs_of(self.client, handle.id), f"{name}-{number}")
            state = await handle.query(IncidentWorkflow.status)
            for wave in state.notification.waves:  # the campaign children, too
                child = campaign_id(state.reference, wave.number)
                stem = f"{name}-{number}-campaign-{wave.number}"
                await save(await runs_of(self.client, child), stem)

    async def check_continued(self) -> None:
        """With a short history budget, a workflow whose history outgrew it twice over
        must have continued as new."""
        for handle in self.handles:
            ids = [(handle.id, self.settings.history_budget)]
            state: IncidentState = await handle.query(IncidentWorkflow.status)
            ids += [
                (campaign_id(state.reference, w.number), self.settings.notify_history_budget)
                for w in state.notification.waves
            ]
            for run_id, budget in ids:
                runs = await runs_of(self.client, run_id)
                events = sum(len(r.events) for r in runs)
                assert events <= 2 * budget or len(runs) > 1, (
                    f"{run_id}: {events} events in one run, budget {budget}"
                )

    async def wait_for(self, predicate: Any, seconds: float = 20) -> None:
        async with asyncio.timeout(seconds):
            while not predicate():  # noqa: ASYNC110 - polls a plain list
                await asyncio.sleep(0.05)


@asynccontextmanager
async def harness(
    env: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink, **overrides: Any
) -> AsyncIterator[Harness]:
    settings = settings_for(tmp_path, smtp, **{**HISTORY_BUDGET, **overrides})
    async with build_worker(env.client, settings, relay_for(settings)):
        h = Harness(env, settings, smtp)
        yield h
        if HISTORY_BUDGET:
            await h.check_continued()
        if os.environ.get("BREACHCLOCK_RECORD_HISTORIES"):
            await h.save_histories()


HISTORY_BUDGET: dict[str, Any] = {}
"""Settings every harness of the running test gets (the ``history`` fixtures')."""
SHORT_INCIDENT = {"BREACHCLOCK_HISTORY_BUDGET": 20}
SHORT_CAMPAIGN = {"BREACHCLOCK_NOTIFY_HISTORY_BUDGET": 20}


@contextmanager
def budgets(short: dict[str, Any] | None) -> Iterator[None]:
    HISTORY_BUDGET.clear()
    HISTORY_BUDGET.update(short or {})
    try:
        yield
    finally:
        HISTORY_BUDGET.clear()


@pytest.fixture(params=["whole", "continued"])
def history(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test twice: with the engine's history budgets, and with budgets so short
    that every workflow in it continues as new, again and again, on every path (as
    sdk-python's and samples-python's own tests force it)."""
    with budgets({**SHORT_INCIDENT, **SHORT_CAMPAIGN} if request.param == "continued" else None):
        yield str(request.param)


@pytest.fixture(params=["whole", "continued"])
def campaign_history(request: pytest.FixtureRequest) -> Iterator[str]:
    """``history`` for campaigns on the time-skipping server: there only the campaigns'
    budget is short. That server stops skipping time once a parent with a running child
    has continued as new (sdk-java#1618, #1539): the incident's own continuing as new
    while its campaign runs is tested on the dev server instead (``test_exactly_once``)."""
    with budgets(SHORT_CAMPAIGN if request.param == "continued" else None):
        yield str(request.param)


async def opened(message: ProtoMessage, codec: PayloadCodec) -> None:
    """Decode, in place, every payload anywhere in a history event (any depth)."""
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            children = (
                list(value.values())
                if field.message_type.fields_by_name["value"].message_type
                else []
            )
        elif field.is_repeated:
            children = list(value)
        else:
            children = [value]
        for child in children:
            if child.DESCRIPTOR.full_name == "temporal.api.common.v1.Payload":
                (plain,) = await codec.decode([child])
                child.CopyFrom(plain)
            else:
                await opened(child, codec)


async def runs_of(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow id, oldest first, following continue-as-new back."""
    histories = [await client.get_workflow_handle(workflow_id).fetch_history()]
    while True:
        started = histories[0].events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return histories
        earlier = client.get_workflow_handle(workflow_id, run_id=started.continued_execution_run_id)
        histories.insert(0, await earlier.fetch_history())


WORKFLOW_TASK = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
}
"""A workflow task that carries no command: the server may keep one for a refused
update (the first after a run that decided several patches at its start does), and
it changes nothing. Every other event would be the update's trace."""


async def settled(handle: WorkflowHandle[Any, Any]) -> int:
    """Wait until the workflow has nothing left to do for now (its start, the engine's
    policy, its first loop are in history); the number of events then."""
    length = -1
    async with asyncio.timeout(20):
        while True:
            state: IncidentState = await handle.query(IncidentWorkflow.status)
            events = len((await handle.fetch_history()).events)
            if state.timeline and events == length:
                return events
            length = events
            await asyncio.sleep(0.2)


async def recorded(
    handle: WorkflowHandle[Any, Any],
    what: Callable[[IncidentState], object],
    seconds: float = 30,
) -> IncidentState:
    """The incident once ``what`` is true of its state: the relay has a mail a moment
    before the workflow task that records it runs (longer on a busy machine), so a
    test that saw the mail arrive waits here for the record, not a fixed time."""
    async with asyncio.timeout(seconds):
        while True:
            state: IncidentState = await handle.query(IncidentWorkflow.status)
            if what(state):
                return state
            await asyncio.sleep(0.1)


async def approve_pending(
    handle: WorkflowHandle[Any, Any], by: str = "Manager", **kw: Any
) -> ApproveResult:
    """Approve the filing pending now, naming it as the CLI does (``--filing``)."""
    state: IncidentState = await handle.query(IncidentWorkflow.status)
    track = state.track(kw.get("track"))
    assert track is not None
    pending = lifecycle.pending_filing(state, state.tracks.index(track), datetime.now(UTC))
    assert pending is not None, "nothing is pending"
    approval = Approve(by=by, filing=pending.stage, facts_version=state.facts_version, **kw)
    result: ApproveResult = await handle.execute_update(IncidentWorkflow.approve, approval)
    return result


def subject_of(message: Message) -> str:
    """A mail's subject as a person reads it (Swedish or Danish arrives encoded), on one
    line."""
    return " ".join(str(make_header(decode_header(str(message["Subject"])))).split())


def unique(prefix: str = "INC") -> str:
    """A reference no other test uses (the dev server is shared)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
