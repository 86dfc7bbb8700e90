"""Providers' results say how a delivered call's person was identified."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from activities.calls import CallRequest, CallResult, Simulator, SimulatorConfig
from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.notify.identity import IdentityMethod
from breachclock.domain.problems import problems_of
from tests.problems import codes


def test_a_provider_result_without_a_method_is_a_bug() -> None:
    with pytest.raises(ValidationError) as refused:
        CallResult(key="k", outcome=CallOutcome.REACHED_VERIFIED, disclosed=True)
    assert codes(problems_of(refused.value)) == ["identity.method_needed"]


async def test_the_simulator_identifies_people_by_the_calls_methods_only() -> None:
    methods = (IdentityMethod.ONE_TIME_CODE, IdentityMethod.SECURITY_QUESTIONS)
    calls = [
        CallRequest(
            key=f"R:s{i}:call:1",
            reference="R",
            subscriber_id=f"s{i}",
            name=None,
            phone="+46701234567",
            greeting="hello",
            notice="notice",
            methods=methods,
        )
        for i in range(40)
    ]
    simulator = Simulator(SimulatorConfig(outcomes={CallOutcome.REACHED_VERIFIED: 1.0}))
    used = {r.identified_by async for r in simulator.place(calls)}
    assert used == set(methods)
