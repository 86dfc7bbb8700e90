"""The agents' worklist (``BREACHCLOCK_CALLS=agents``): take the next call, read its
script once the person is identified, record how it went. An agent sees the name,
number and greeting of the call they hold, and nothing of any other person's."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from activities.calls import CallRequest
from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.notice_fact import operator_for
from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.notify.identity import (
    Disclosure,
    IdentityMethod,
    concerned_script,
    disclosure,
    refusal,
)
from breachclock.runtime.store.people import WorkItem
from breachclock.service.engine import Engine, Refused


class HeldCall(BaseModel):
    item: WorkItem
    call: CallRequest


async def next_call(engine: Engine, agent: str) -> HeldCall | None:
    """The oldest call nobody holds, now held by ``agent`` (None: no calls waiting)."""
    hold = engine.settings.agent_hold_minutes * 60
    async with engine.people() as store:
        item = await store.claim(agent, datetime.now(UTC), hold)
    if item is None:
        return None
    return HeldCall(item=item, call=CallRequest.model_validate_json(item.request))


async def held(engine: Engine, key: str, agent: str) -> HeldCall:
    """A call ``agent`` holds (the script is theirs to read, nobody else's)."""
    async with engine.people() as store:
        item = await store.work_item(key)
    if item is None:
        raise Refused.of("call.unknown", key=key)
    if item.claimed_by != agent:
        raise Refused.of("call.not_held", key=key)
    return HeldCall(item=item, call=CallRequest.model_validate_json(item.request))


async def record_call(
    engine: Engine,
    key: str,
    outcome: CallOutcome,
    agent: str,
    identified_by: IdentityMethod | None = None,
) -> None:
    """Record how a held call went; a delivered one (``reached_verified``) only with how the
    person was identified, by a method the call accepts (refused otherwise, nothing kept)."""
    async with engine.people() as store:
        item = await store.work_item(key)
        if item is None:
            raise Refused.of("call.unknown", key=key)
        accepted = CallRequest.model_validate_json(item.request).methods
        refused = refusal(outcome, identified_by, accepted)
        if refused:
            raise Refused(refused)
        if not await store.report(key, outcome, identified_by, datetime.now(UTC), agent):
            if item.claimed_by != agent:
                raise Refused.of("call.not_held", key=key)
            raise Refused.of("call.already_recorded", key=key)


async def script(
    engine: Engine, held: HeldCall, method: IdentityMethod | None, voice: Voice
) -> str:
    """What the agent may say after ``method`` (``identity.RATING``): the whole notice
    after a method that proves more than holding the phone; after a possession-only one,
    only that an incident concerns the subscription, and which stronger method would let
    them tell the details."""
    if disclosure(method) is Disclosure.DETAILS:
        return held.call.notice
    state = await engine.state(held.item.reference)
    return concerned_script(operator_for(state.policy).name, held.call.methods).words(voice)
