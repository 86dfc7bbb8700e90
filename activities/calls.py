"""Placing notification calls, behind one interface, three ways.

- ``Simulator``: the embedded default. Outcomes drawn with configured probabilities
  and latency, from a seed and the call's key, so a retried call gets the outcome
  it got the first time.
- ``AgentWorklist``: people dial by hand (as YouSee's staff did). Calls go on a list
  in the store; ``calls next`` hands one to an agent, ``calls record`` reports it;
  a call nobody reports within the hold time goes back on the list.
- ``HttpDialer`` (``dialer.py``): an outside dialer over HTTP.

Every provider gets the greeting (who calls, for whom) and the notice separately:
the notice is for the person only once they confirmed who they are.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from temporalio import activity

from breachclock.domain.notify.delivery import CallOutcome, greeting
from breachclock.domain.notify.identity import ALL_METHODS, IdentityMethod, refusal
from breachclock.domain.notify.notice import IncidentNotice, Operator, spoken_notice
from breachclock.domain.notify.plan import Delivery
from breachclock.domain.notify.subscribers import Subscriber
from breachclock.domain.problems import invalid_from
from breachclock.runtime.store.people import NotifyStore


class CallRequest(BaseModel):
    """One call to place. Its repr shows no name, number or words."""

    model_config = ConfigDict(frozen=True)

    key: str
    reference: str
    subscriber_id: str
    name: Annotated[str | None, Field(repr=False)]
    phone: Annotated[str, Field(repr=False)]
    greeting: Annotated[str, Field(repr=False)]
    """Said first: who is calling and for whom; nothing about the incident."""
    notice: Annotated[str, Field(repr=False)]
    """Said only to the person, after they confirmed their identity."""
    methods: tuple[IdentityMethod, ...] = ALL_METHODS
    """How the person may prove who they are (calls queued before this existed: any)."""


class CallResult(BaseModel):
    """How a call ended. ``reached_verified`` carries how the person was identified;
    no other outcome does (a provider breaking this raises, it is a bug)."""

    key: str
    outcome: CallOutcome
    disclosed: bool = False
    """True when the notice was given (only ever after identity was confirmed)."""
    identified_by: IdentityMethod | None = None

    @model_validator(mode="after")
    def _identified(self) -> CallResult:
        refused = refusal(self.outcome, self.identified_by, ALL_METHODS)
        if refused:
            raise invalid_from(refused)
        return self


class CallProvider(ABC):
    @abstractmethod
    def place(self, calls: Sequence[CallRequest]) -> AsyncIterator[CallResult]:
        """Place the calls; yield each result as it comes in (any order).

        Placing a key again must not call the person again: providers dedupe on the key.
        """


HEARTBEAT_EVERY = 0.2
"""Seconds between heartbeats an activity hands the SDK: a round beats after every
e-mail and call batch, and handing each one over cost a tenth of an e-mail's CPU."""
_last_beat: dict[bytes, float] = {}


def heartbeat(detail: object = None) -> None:
    """Tell Temporal the activity is alive, when running in one (at most every
    ``HEARTBEAT_EVERY``; the SDK sends to the server less often still)."""
    if not activity.in_activity():
        return
    token = activity.info().task_token
    now = time.monotonic()
    if now - _last_beat.get(token, 0.0) < HEARTBEAT_EVERY:
        return
    if len(_last_beat) > 10_000:  # attempts long finished
        _last_beat.clear()
    _last_beat[token] = now
    activity.heartbeat(detail)


class SimulatorConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcomes: dict[CallOutcome, Annotated[float, Field(ge=0)]] = {
        CallOutcome.REACHED_VERIFIED: 0.45,
        CallOutcome.REACHED_UNVERIFIED: 0.05,
        CallOutcome.NO_ANSWER: 0.3,
        CallOutcome.BUSY: 0.05,
        CallOutcome.VOICEMAIL: 0.1,
        CallOutcome.INVALID_NUMBER: 0.03,
        CallOutcome.FAILED: 0.02,
    }
    """Relative weights of each outcome."""
    latency: timedelta = timedelta(0)
    """Mean time a call takes (drawn evenly from 0 to twice this)."""
    seed: str = "breachclock"
    lines: Annotated[int, Field(ge=1, le=10_000)] = 50
    """Calls at the same time."""

    @model_validator(mode="after")
    def _some_weight(self) -> SimulatorConfig:
        if sum(self.outcomes.values()) <= 0:
            raise ValueError("at least one outcome needs a positive weight")
        return self


class Simulator(CallProvider):
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        total = sum(config.outcomes.values())
        running = 0.0
        self._cumulative: list[tuple[float, CallOutcome]] = []
        for outcome, weight in config.outcomes.items():
            running += weight / total
            self._cumulative.append((running, outcome))

    def _draw(self, key: str, purpose: str) -> float:
        digest = hashlib.sha256(f"{self.config.seed}:{purpose}:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def outcome(self, key: str) -> CallOutcome:
        point = self._draw(key, "outcome")
        return next((o for edge, o in self._cumulative if point < edge), self._cumulative[-1][1])

    def method(self, call: CallRequest) -> IdentityMethod:
        """How the simulated person proved who they are: one of the call's methods."""
        return call.methods[int(self._draw(call.key, "method") * len(call.methods))]

    async def place(self, calls: Sequence[CallRequest]) -> AsyncIterator[CallResult]:
        lines = asyncio.Semaphore(self.config.lines)
        mean = self.config.latency.total_seconds()

        async def one(call: CallRequest) -> CallResult:
            async with lines:
                if mean:
                    await asyncio.sleep(2 * mean * self._draw(call.key, "latency"))
                outcome = self.outcome(call.key)
                verified = outcome is CallOutcome.REACHED_VERIFIED
                return CallResult(
                    key=call.key,
                    outcome=outcome,
                    disclosed=verified,
                    identified_by=self.method(call) if verified else None,
                )

        if not mean:
            for call in calls:  # no waiting: skip the task machinery
                yield await one(call)
            return
        for done in asyncio.as_completed([one(c) for c in calls]):
            yield await done


class AgentWorklist(CallProvider):
    """Calls made by people: queued in the store, outcomes read back as agents report them."""

    def __init__(self, store: NotifyStore, poll: timedelta = timedelta(seconds=2)) -> None:
        self.store = store
        self.poll = poll

    async def place(self, calls: Sequence[CallRequest]) -> AsyncIterator[CallResult]:
        await self.store.enqueue(
            calls[0].reference if calls else "",
            [(c.key, c.subscriber_id, c.model_dump_json()) for c in calls],
            datetime.now(UTC),
        )
        waiting = {c.key for c in calls}
        while waiting:
            for key, (outcome, method) in (await self.store.reported(sorted(waiting))).items():
                waiting.discard(key)
                yield CallResult(
                    key=key,
                    outcome=outcome,
                    disclosed=outcome is CallOutcome.REACHED_VERIFIED,
                    identified_by=method,
                )
            if waiting:
                heartbeat(len(waiting))
                await asyncio.sleep(self.poll.total_seconds())


def call_request(
    key: str,
    reference: str,
    person: Subscriber,
    notice: IncidentNotice,
    operator: Operator,
    methods: Sequence[IdentityMethod],
) -> CallRequest:
    """The call that tells ``person``: the greeting first, the notice in their language."""
    language, text = spoken_notice(notice, person, operator)
    return CallRequest(
        key=key,
        reference=reference,
        subscriber_id=person.id,
        name=person.name,
        phone=person.phone or "",
        greeting=greeting(operator.name, person.name, language.value),
        notice=text,
        methods=tuple(methods),
    )


class CallChannel:
    """The call step of a plan (``plan_runner.Channel``): one call per key through the
    provider (each provider dedupes on the key). A call ends when it is placed:
    delivered when the person confirmed who they are and was told, else failed;
    ``results`` keeps how, for the campaign's record."""

    at_once = 16
    """Calls a round places at once (a provider with fewer lines queues the rest)."""

    def __init__(
        self,
        provider: CallProvider,
        reference: str,
        notice: IncidentNotice,
        operator: Operator,
        methods: Sequence[IdentityMethod],
    ) -> None:
        self.provider = provider
        self.reference = reference
        self.notice = notice
        self.operator = operator
        self.methods = tuple(methods)
        self.results: dict[str, CallResult] = {}

    async def send(self, key: str, person: Subscriber) -> Delivery:
        request = call_request(
            key, self.reference, person, self.notice, self.operator, self.methods
        )
        async for result in self.provider.place([request]):
            self.results[key] = result
        reached = key in self.results and self.results[key].outcome is CallOutcome.REACHED_VERIFIED
        return Delivery.DELIVERED if reached else Delivery.FAILED

    async def statuses(self, keys: Sequence[str]) -> dict[str, Delivery]:
        return {}  # a call is final once placed: nothing arrives later
