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

from breachclock.domain.catalogue import Voice
from breachclock.domain.ids import workflow_id
from breachclock.domain.incident.model import IncidentState
from breachclock.domain.problems import Problem, problem, problems_of
from breachclock.runtime.codec import CodecKeyError
from breachclock.runtime.config import Settings
from breachclock.runtime.keyguard import KeysNotTheDeployments, ensure_keys
from breachclock.runtime.store import (
    NotifyStore,
    ReadModel,
    RecordStore,
    open_notify_store,
    open_read_model,
    open_store,
)
from breachclock.runtime.temporal import connect
from workflows.base import REJECTED
from workflows.incident import IncidentWorkflow

T = TypeVar("T", bound=BaseModel)


ENCODED_FAILURE = "Encoded failure"
"""A failure's message as the SDK shows it when the sealed original does not open."""


ENGLISH = Voice("en")


class Refused(Exception):
    """Input the engine or the edge refused: the problems, for each surface to word in its
    reader's language (the exception's own message is the English, for logs)."""

    def __init__(self, *problems: Problem) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.words(ENGLISH) for p in problems))

    @classmethod
    def of(cls, code: str, field: str | None = None, **params: Any) -> Refused:
        return cls(problem(code, field, **params))


BUSY = "busy"
"""The problem code of work another caller is doing right now (the same key, at once):
a retry, not an error; its ``retry_after`` says in how many seconds."""
RETRY_AFTER = 5


def busy(retry_after: int = RETRY_AFTER) -> Refused:
    """Another caller is doing this now: try again in ``retry_after`` seconds."""
    return Refused.of(BUSY, retry_after=retry_after)


def retry_after(err: Refused) -> int | None:
    """Seconds to wait before retrying, when the refusal is only ``busy``."""
    for p in err.problems:
        wait = p.params.get("retry_after")
        if p.code == BUSY and isinstance(wait, int):
            return wait
    return None


class Invalid(Refused):
    """Input that is not what the command takes (a field missing, of the wrong type, out
    of range), refused before anything was sent: the caller's to fix, whatever the
    incident's state."""


class Unreachable(Exception):
    """Temporal or the store does not answer; the message says which and what to do."""


def refusal_problems(err: WorkflowUpdateFailedError) -> list[Problem]:
    """What the validator found (the failure's details), or, from an engine that did not
    say it as problems, its words: the innermost cause, not the SDK's "Failed decoding
    arguments"."""
    cause: BaseException | None = err.cause
    if isinstance(cause, ApplicationError) and cause.type == REJECTED and cause.details:
        try:
            return [Problem.model_validate(d) for d in cause.details]
        except ValidationError:
            pass
    while isinstance(cause, ApplicationError) and cause.cause is not None:
        cause = cause.cause
    message = getattr(cause, "message", None) or str(cause)
    if message == ENCODED_FAILURE:
        return [problem("codec.cannot_read_refusal")]
    return [problem("engine.refused", detail=message)]


def refusal_message(err: WorkflowUpdateFailedError) -> str:
    """The refusal in English, for logs and tests."""
    return "; ".join(p.words(ENGLISH) for p in refusal_problems(err))


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
                await ensure_keys(self.settings)
                self._client = await connect(self.settings)
            except KeysNotTheDeployments as err:
                raise Refused(err.problem) from None
            except CodecKeyError as err:
                raise Refused.of("codec.no_key", detail=str(err)) from err
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
            raise Invalid(*problems_of(err)) from err

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
            raise Refused(*refusal_problems(err)) from err
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                raise Refused.of("incident.unknown", reference=reference) from err
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
        raise Refused.of("incident.unknown", reference=reference)

    def records(self) -> RecordStore:
        return open_store(self.settings)

    def people(self) -> NotifyStore:
        return open_notify_store(self.settings)

    def read_model(self) -> ReadModel:
        return open_read_model(self.settings)
