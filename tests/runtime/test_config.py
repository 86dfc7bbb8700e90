"""The engine's settings guard against real data reaching a real regulator by accident."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from breachclock.domain.catalogue import Voice
from breachclock.domain.problems import problems_of
from breachclock.domain.regimes import RegimeCode, regime
from breachclock.runtime.config import Settings, SettingsInvalid, load_settings

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
    owner = {"BREACHCLOCK_POLICY_OWNER": "Karin Berg", "BREACHCLOCK_POLICY_OWNER_ROLE": "CISO"}
    named = Settings(
        SMTP_HOST="relay.operator.test", BREACHCLOCK_OPERATOR="Tele2 Sverige AB", **owner
    )
    assert named.operator_name == "Tele2 Sverige AB"
    assert (named.policy().owner, named.policy().owner_role) == ("Karin Berg", "CISO")


def test_a_named_operator_s_engine_refuses_to_start_with_no_one_answering_for_it() -> None:
    """It files at each deadline on its own: someone must answer for those filings."""
    with pytest.raises(SettingsInvalid) as raised:
        load_settings(SMTP_HOST="relay.operator.test", BREACHCLOCK_OPERATOR="Tele2 Sverige AB")
    (found,) = raised.value.problems
    assert found.code == "settings.policy_owner_missing"
    assert "BREACHCLOCK_POLICY_OWNER" in found.words(Voice("sv"))
    Settings(SMTP_HOST="relay.operator.test", **TEST_ADDRESSES)
