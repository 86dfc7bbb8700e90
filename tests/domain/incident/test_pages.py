"""Escalation pages in plain words, and where to act on them: the incident's page in the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.escalation import build_page
from breachclock.domain.incident.lifecycle import SendPage
from breachclock.domain.incident.model import IncidentState, Policy, Track
from breachclock.domain.regimes import RegimeCode

ROOT = Path(__file__).resolve().parents[3]
AWARE = datetime(2026, 11, 23, 8, 5, tzinfo=UTC)  # 09:05 CET


def incident(*codes: RegimeCode) -> IncidentState:
    state = IncidentState(
        reference="INC-7",
        title="Secret numbers published",
        regime=codes[0],
        opened_at=AWARE,
        opened_by="Incident manager",
        policy=Policy(audiences=[["oncall@op"], ["manager@op"]]),
    )
    for code in codes:
        track = Track(regime=code, aware_at=AWARE)
        lifecycle.start_track(track)
        state.tracks.append(track)
    return state


def page(state: IncidentState, index: int, level: str, deadline: str) -> SendPage:
    stage = lifecycle.current_stage(state.tracks[index])
    assert stage is not None and stage.name == deadline
    return SendPage(index, level, 0, deadline, lifecycle.stage_due(state.tracks[index], stage))


def test_a_lead_page_says_which_report_is_due_when_and_what_to_do_in_the_console() -> None:
    state = incident(RegimeCode.PTS)
    draft = build_page(state, page(state, 0, "30m", "initial_report"), AWARE)
    assert draft.subject == "[INC-7] PTS initial report due in 30 min (2026-11-24 09:05 CET)"
    assert "The PTS initial report is due at 2026-11-24 09:05 CET." in draft.body
    assert "It is filed automatically at 2026-11-24 08:50 CET" in draft.body
    assert "on the incident's page in the console" in draft.body
    assert "--" not in draft.body and "starter" not in draft.body, "no terminal command"
    assert draft.idempotency_key == "INC-7:page:pts:initial_report:30m", "the key is unchanged"
    assert draft.recipients == ["oncall@op"]


def test_a_portal_track_s_page_says_the_filing_is_prepared_for_the_portal_not_filed() -> None:
    state = incident(RegimeCode.DK)
    state.tracks[0].via_portal = True
    draft = build_page(state, page(state, 0, "30m", "initial_report"), AWARE)
    assert "prepared automatically for the authority's portal" in draft.body
    assert "filed automatically" not in draft.body, "the engine cannot file on the portal"


def test_a_page_speaks_the_staff_s_language() -> None:
    state = incident(RegimeCode.PTS)
    state.policy = state.policy.model_copy(update={"staff_language": "sv"})
    draft = build_page(state, page(state, 0, "6h", "initial_report"), AWARE)
    assert draft.subject.startswith(
        "[INC-7] PTS: inledande rapport ska lämnas om 6 h (2026-11-24 kl. 09:05 CET)"
    )
    assert "Granska och godkänn den nu på incidentens sida i konsolen." in draft.body
    assert draft.language == "sv"


def test_a_supplementary_page_with_facts_missing_says_to_record_or_justify() -> None:
    state = incident(RegimeCode.PTS)
    track = state.tracks[0]
    track.stage_index = 1
    track.anchors["supplementary_report"] = AWARE + timedelta(hours=23)
    draft = build_page(state, page(state, 0, "6h", "supplementary_report"), AWARE)
    assert draft.subject.startswith(
        "[INC-7] PTS supplementary report due in 6 h (2026-11-27 08:05 CET)"
    )
    assert "record them, or say why they are still missing" in draft.body


def test_an_overdue_nis2_page_asks_for_the_late_reason() -> None:
    state = incident(RegimeCode.PTS, RegimeCode.NIS2)
    draft = build_page(state, page(state, 1, "overdue-1", "early_warning"), AWARE)
    assert draft.subject == "[INC-7] NIS2 early warning overdue since 2026-11-24 09:05 CET"
    assert "File it now, with why it is late" in draft.body
    assert "_" not in draft.subject


def test_the_data_folder_is_the_checkout_s_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CLI run from another directory finds the engine's keys and stores."""
    from breachclock.runtime.config import CHECKOUT, Settings, default_data_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BREACHCLOCK_DATA_DIR", raising=False)
    assert (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "starter.py").is_file()
    assert default_data_dir() == CHECKOUT / "data"
    assert Settings().data_dir == CHECKOUT / "data"
