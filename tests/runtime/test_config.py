"""The engine's settings guard against real data reaching a real regulator by accident."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from breachclock.domain.problems import problems_of
from breachclock.domain.regimes import RegimeCode, regime
from breachclock.runtime.config import Settings

TEST_ADDRESSES = {
    f"BREACHCLOCK_{name}_ADDRESS": f"{name.lower()}@inbox.test"
    for name in ("PTS", "IMY", "DK", "NIS2")
}


def test_the_example_operator_with_a_relay_refuses_to_file_to_an_authority() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(SMTP_HOST="relay.operator.test")
    (found,) = problems_of(raised.value)
    assert found.code == "settings.example_operator_to_authority"
    assert regime(RegimeCode.PTS).address in found.params["addresses"]


def test_a_named_operator_test_addresses_or_the_local_outbox_may_run() -> None:
    assert Settings().smtp_host is None, "the dev default keeps every filing in the outbox"
    named = Settings(SMTP_HOST="relay.operator.test", BREACHCLOCK_OPERATOR="Tele2 Sverige AB")
    assert named.operator_name == "Tele2 Sverige AB"
    Settings(SMTP_HOST="relay.operator.test", **TEST_ADDRESSES)
