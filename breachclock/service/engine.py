"""How a client reaches the engine: one Temporal client, the stores, and the rules for
turning what goes wrong into a line a person can act on.

Every service function takes an ``Engine``; the CLI makes one per command, the HTTP
API one per process. ``Refused`` is input the engine (or this edge) will not take;
``Unreachable`` is an engine or store that does not answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from breachclock.domain.ids import workflow_id
from breachclock.domain.incident.model import IncidentState
from breachclock.runtime.codec import CodecKeyError
from breachclock.runtime.config import Settings
from breachclock.runtime.store import NotifyStore, RecordStore, open_notify_store, open_store
from breachclock.runtime.temporal import connect
from workflows.incident import IncidentWorkflow

T = TypeVar("T", bound=BaseModel)


ENCODED_FAILURE = "Encoded failure"
"""A failure's message as the SDK shows it when the sealed original does not open."""


class Refused(Exception):
    """Input the engine or the edge refused; the message is one line for a person."""


class Unreachable(Exception):
    """Temporal or the store does not answer; the message says which and what to do."""


def describe(err: ValidationError) -> str:
    """A validation error as one line: each field by its own name, not by where it sat
    in the message (``affected_count``, not ``changes.affected_count``)."""
    parts = []
    for e in err.errors(include_url=False):
        where = [str(p) for p in e["loc"] if p not in ("changes", "input")]
        message = e["msg"].removeprefix("Value error, ")
        parts.append(f"{'.'.join(where)}: {message}" if where else message)
    return " ".join("; ".join(parts).splitlines())  # one line, whatever keys a file had


def refusal_message(err: WorkflowUpdateFailedError) -> str:
    """The innermost cause: the validator's words, not the SDK's "Failed decoding arguments"."""
    cause: BaseException | None = err.cause
    while isinstance(cause, ApplicationError) and cause.cause is not None:
        cause = cause.cause
    return getattr(cause, "message", None) or str(cause)


def content_update_id(name: Any, reference: str, arg: BaseModel) -> str:
    """The same command sent again is the same update: Temporal answers it as the first."""
    what = getattr(name, "__name__", str(name))
    text = f"{what}\0{reference}\0{arg.model_dump_json()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


REQUESTED_KEY: ContextVar[str | None] = ContextVar("idempotency_key", default=None)
"""An idempotency key the caller gave (an HTTP ``Idempotency-Key``), for the update
sent while it is set (``Engine.keyed``)."""


def keyed_update_id(key: str, name: Any, reference: str) -> str:
    """The update id of a caller's key: the same key on another incident or another
    kind of update is another update."""
    what = getattr(name, "__name__", str(name))
    return hashlib.sha256(f"key\0{what}\0{reference}\0{key}".encode()).hexdigest()[:32]


def unreachable(err: RPCError) -> bool:
    return err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)


class Engine:
    def __init__(self, settings: Settings | None = None, client: Client | None = None) -> None:
        self.settings = settings or Settings()
        self._client = client

    async def client(self) -> Client:
        if self._client is None:
            try:
                self._client = await connect(self.settings)
            except CodecKeyError as err:
                raise Refused(str(err)) from err
            except RuntimeError as err:
                raise Unreachable(
                    f"cannot reach Temporal at {self.settings.address}: is the engine running "
                    "(make run)?"
                ) from err
        return self._client

    def parse(self, cls: type[T], **data: Any) -> T:
        """Input validated at the edge, before anything is sent (a time such as
        ``09:00 CET`` read in the operator's zone)."""
        context = {"operator_zone": self.settings.operator_zone}
        try:
            values = {k: v for k, v in data.items() if v is not None}
            return cls.model_validate(values, context=context)
        except ValidationError as err:
            raise Refused(describe(err)) from err

    async def handle(self, reference: str) -> WorkflowHandle[IncidentWorkflow, IncidentState]:
        return (await self.client()).get_workflow_handle_for(
            IncidentWorkflow.run, workflow_id(reference)
        )

    @staticmethod
    @contextmanager
    def keyed(key: str | None) -> Iterator[None]:
        """While inside: updates carry the caller's idempotency ``key`` as their id."""
        token = REQUESTED_KEY.set(key)
        try:
            yield
        finally:
            REQUESTED_KEY.reset(token)

    async def update(
        self,
        reference: str,
        name: Any,
        arg: BaseModel,
        *,
        repeatable: bool = True,
        update_id: str | None = None,
    ) -> Any:
        """Send an update; ``repeatable``: with an id derived from it, so the same command
        sent again (a re-run, a retried request) acts once. ``update_id`` (or a key set
        with ``keyed``) names the update instead: a retried request with the same key is
        answered as the first, whatever it carries."""
        handle = await self.handle(reference)
        key = REQUESTED_KEY.get()
        if update_id is None and key is not None:
            update_id = keyed_update_id(key, name, reference)
        if update_id is None and repeatable:
            update_id = content_update_id(name, reference, arg)
        try:
            return await handle.execute_update(name, arg, id=update_id)
        except WorkflowUpdateFailedError as err:
            message = refusal_message(err)
            if message == ENCODED_FAILURE:
                raise Refused(
                    "the engine refused this, and its reason cannot be read here: this "
                    "client's codec key is not the engine's (BREACHCLOCK_CODEC_KEYS, or "
                    f"{self.settings.key_file})"
                ) from err
            raise Refused(message) from err
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                raise Refused(f"no open incident {reference}") from err
            raise

    async def state(self, reference: str) -> IncidentState:
        """The incident from its workflow, or from the register once Temporal has dropped
        it, or while Temporal cannot be reached (a closed incident is all there)."""
        try:
            handle = await self.handle(reference)
            return await handle.query(IncidentWorkflow.status)
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND and not unreachable(err):
                raise
            down: BaseException | None = err if unreachable(err) else None
        except Unreachable as err:
            down = err
        async with self.records() as store:
            record = await store.registered(reference)
        if record is not None:
            return IncidentState.model_validate_json(record)
        if down is not None:
            raise Unreachable(str(down)) from down
        raise Refused(f"no incident {reference}")

    def records(self) -> RecordStore:
        return open_store(self.settings)

    def people(self) -> NotifyStore:
        return open_notify_store(self.settings)
