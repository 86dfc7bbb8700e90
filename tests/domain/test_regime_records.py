"""Regimes are records: every fact in one carries a public source, and a regime added
as a record (here a test-only one, with its catalogue entries) is taken up by the
register, the console's regime choices, the clocks and the filing without code changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import click
import pytest

from breachclock.cli.incidents import open_
from breachclock.domain.catalogue import LANGUAGES, Voice, messages
from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import OpenIncident, Track
from breachclock.domain.incident.report import render_text
from breachclock.domain.regimes import (
    Anchor,
    Channel,
    Regime,
    RegimeCode,
    Source,
    Stage,
    StageKind,
    dk,
    privacy_regimes,
    record,
    regime,
    regimes,
)
from breachclock.web.console.register import regime_choices
from tests.filing_cases import YOUSEE, variant

TEST_REGIME = Regime(
    code=RegimeCode.mint("zz"),
    regulator="Test Authority",
    channel=Channel.EMAIL,
    destination="filings@authority.test",
    language="en",
    stages=(
        Stage("initial_report", StageKind.AUTOMATIC, Anchor.AWARENESS, hours=48),
        Stage("follow_up_report", StageKind.FOLLOW_UP, Anchor.PREVIOUS_FILING, hours=72),
    ),
    sources=(Source("everything (a test's own regime)", "https://authority.test/rules"),),
)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[Regime]:
    """The test regime in the register, with its catalogue entries, for this test only."""
    monkeypatch.setitem(record._REGISTER, "zz", TEST_REGIME)
    for language in LANGUAGES:
        plain = messages(language).plain
        monkeypatch.setitem(plain, "regime.zz", "Test regime")  # type: ignore[index]
        monkeypatch.setitem(plain, "regulator.zz", "Test Authority")  # type: ignore[index]
    yield TEST_REGIME


def test_every_record_cites_a_public_source_for_its_facts() -> None:
    for found in regimes():
        assert found.sources, found.code
        assert all(s.url.startswith("https://") and s.fact for s in found.sources), found.code
    denmark = regime(RegimeCode.DK)
    assert denmark.regulator == "Erhvervsstyrelsen" and denmark.channel is Channel.PORTAL
    assert denmark.portal == dk.PORTAL and denmark.address is None
    assert dk.PORTAL in {s.url for s in denmark.sources}
    assert [s.hours for s in denmark.stages] == [24, 72]


def test_a_regime_added_as_a_record_is_taken_up_everywhere(registered: Regime) -> None:
    code = RegimeCode("zz")
    assert code is registered.code and code in list(RegimeCode)
    assert code in privacy_regimes()
    opening = OpenIncident(reference="ZZ-1", title="x", opened_by="y", regime="zz")  # type: ignore[arg-type]
    assert opening.regime is code
    assert ("zz", "Test regime") in regime_choices(Voice("en"))

    aware = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    track = Track(regime=code, aware_at=aware)
    lifecycle.start_track(track)
    stage = lifecycle.current_stage(track)
    assert stage is not None and lifecycle.stage_due(track, stage) == aware + timedelta(hours=48)

    draft = variant(YOUSEE, regime=code, regulator=registered.regulator, language=None)
    text = render_text(draft)
    assert "Test Authority" in text and draft.words == "en"
    assert "Anmeldelse" not in text, "written in the record's language"


def test_an_unknown_code_is_refused_as_the_enum_refused_it() -> None:
    with pytest.raises(ValueError):
        RegimeCode("zz")
    with pytest.raises(ValueError):
        OpenIncident(reference="ZZ-1", title="x", opened_by="y", regime="zz")  # type: ignore[arg-type]


def test_the_cli_offers_every_regime_an_incident_may_be_opened_under() -> None:
    """The CLI named its regimes by hand (pts, imy, dk): a record added (Finland) was
    refused there while the console and the API took it."""
    (option,) = [p for p in open_.params if p.name == "regime"]
    assert isinstance(option.type, click.Choice)
    assert sorted(option.type.choices) == sorted(c.value for c in privacy_regimes())
    assert "fi" in option.type.choices
