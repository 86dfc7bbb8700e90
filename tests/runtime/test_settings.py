"""A malformed setting is one line that names it, says what is wrong and the form it
expects; a list setting given one value (or values separated by commas) is taken."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from breachclock.domain.catalogue import Voice
from breachclock.runtime.config import Settings, SettingsInvalid, load_settings, shape
from tests.cli_fork import run_python
from tests.cli_support import ROOT

STRUCTURED = sorted(
    (f.alias or n, shape(f)) for n, f in Settings.model_fields.items() if shape(f) != "value"
)
"""Every setting that holds a list or a JSON object."""

ONE_VALUE = {
    "BREACHCLOCK_PAGE_ONCALL": "oncall@example.org",
    "BREACHCLOCK_PAGE_MANAGER": "manager@example.org",
    "BREACHCLOCK_PAGE_SECURITY": "ciso@example.org",
    "BREACHCLOCK_PAGE_MANAGEMENT": "board@example.org",
    "BREACHCLOCK_SSO_PROXIES": "10.0.0.1",
    "BREACHCLOCK_TRUSTED_PROXIES": "10.0.0.0/8",
    "BREACHCLOCK_ESCALATION_LEADS_MINUTES": "30",
    "BREACHCLOCK_IDENTITY_METHODS": "bankid",
    "BREACHCLOCK_SMS_DLR_ALLOW": "127.0.0.1",
}


def test_the_list_of_structured_settings_is_known() -> None:
    """A new list setting must be added here, and so be tested below."""
    lists = {name for name, form in STRUCTURED if form == "list"}
    assert lists == set(ONE_VALUE)
    assert {name for name, form in STRUCTURED if form == "object"} == {
        "BREACHCLOCK_SIMULATOR_OUTCOMES"
    }


@pytest.mark.parametrize(("name", "form"), STRUCTURED)
@pytest.mark.parametrize("value", ["[not json", '{"a": ', "{}"])
def test_a_malformed_structured_setting_is_named_with_its_form(
    monkeypatch: pytest.MonkeyPatch, name: str, form: str, value: str
) -> None:
    if form == "object" and value == "{}":
        pytest.skip("an empty object is a valid object")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsInvalid) as caught:
        load_settings()
    (found,) = caught.value.problems
    assert found.code == "setting.invalid" and found.field == name
    line = found.words(Voice("en"))
    assert "\n" not in line
    assert line.startswith(f"the setting {name} cannot be used (expected: a JSON {form}")
    assert value not in line, "a setting's value may be a secret: it is never echoed"


@pytest.mark.parametrize(("name", "value"), sorted(ONE_VALUE.items()))
def test_a_list_setting_takes_one_value_or_several_separated_by_commas(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    field = next(n for n, f in Settings.model_fields.items() if f.alias == name)
    monkeypatch.setenv(name, value)
    one = getattr(load_settings(), field)
    assert [str(getattr(v, "value", v)) for v in one] == [value]
    monkeypatch.setenv(name, f" {value} ,{value}")
    assert len(getattr(load_settings(), field)) == 2


@pytest.mark.parametrize("name", ["BREACHCLOCK_TRUSTED_PROXIES", "BREACHCLOCK_SSO_PROXIES"])
def test_a_proxy_that_is_no_address_is_named(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "10.0.0.0/8, proxy.example")
    with pytest.raises(SettingsInvalid) as caught:
        load_settings()
    (found,) = caught.value.problems
    assert found.field == name
    assert found.words(Voice("en")).endswith(
        "proxy.example is neither an IP address nor a network (such as 10.0.0.0/8 or ::1)"
    )


def test_settings_reach_a_process_the_engine_starts_as_they_are(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The console's process runs on the engine's settings, also those given in code."""
    given = load_settings(
        BREACHCLOCK_DATA_DIR=tmp_path,
        BREACHCLOCK_PAGE_ONCALL=["a@example.org", "b@example.org"],
        BREACHCLOCK_SIMULATOR_OUTCOMES={"no_answer": 1},
        BREACHCLOCK_ADMIN_PASSWORD="chosen, with a comma",
        BREACHCLOCK_WEB_INSECURE_COOKIES=True,
        BREACHCLOCK_TRUSTED_PROXIES=["10.0.0.0/8"],
        BREACHCLOCK_IDENTITY_METHODS=["bankid"],
        BREACHCLOCK_SESSION_HOURS=1.5,
    )
    for field in Settings.model_fields.values():
        monkeypatch.delenv(field.alias or "", raising=False)
    for name, value in given.environment().items():
        monkeypatch.setenv(name, value)
    assert load_settings() == given


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return run_python(*args, env={**os.environ, "LANG": "C.UTF-8", **env}, cwd=ROOT)


@pytest.mark.parametrize(
    "command",
    [["worker.py"], ["starter.py", "list"], ["-m", "breachclock.web", "token", "x", "manager"]],
)
def test_a_process_with_a_malformed_setting_says_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    done = run(
        command,
        BREACHCLOCK_DATA_DIR=str(tmp_path),
        BREACHCLOCK_PAGE_ONCALL='["oncall@example.org"',
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "BREACHCLOCK_PAGE_ONCALL" in lines[0] and "JSON list" in lines[0]
    assert "Traceback" not in done.stderr


def test_the_engine_takes_one_address_for_the_on_call(tmp_path: Path) -> None:
    done = run(
        ["worker.py", "stop"],
        BREACHCLOCK_DATA_DIR=str(tmp_path),
        BREACHCLOCK_PAGE_ONCALL="oncall@example.org",
    )
    assert done.returncode == 0, done.stderr
    assert "no engine is running" in done.stdout
