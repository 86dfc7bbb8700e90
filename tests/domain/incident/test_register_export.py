"""The register as it leaves the engine (LEK 8:9): each incident's facts, effects and
measures, reported or not, under stable codes with the reader's words beside them; and
no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.model import (
    Closure,
    Discover,
    FilingKind,
    IncidentState,
    RootCause,
)
from breachclock.domain.incident.register import closed_row, row_of
from breachclock.domain.incident.register_export import columns, csv_text, labels
from tests.domain.incident.test_lifecycle import HOUR, T0, file, new_state
from tests.filing_cases import COMVIQ

SV = Voice("sv", "Europe/Stockholm")
DA = Voice("da", "Europe/Copenhagen")


def comviq_closed() -> IncidentState:
    """The Comviq case's facts (its root cause found since), filed once late, closed."""
    state = new_state(facts=COMVIQ.facts.model_copy(update={"root_cause": RootCause.MISTAKE}))
    state.discovery = Discover(at=T0, by="On-call", how="a customer asked")
    filing = file(state, FilingKind.INITIAL, T0 + 30 * HOUR)
    filing.late = True
    state.closure = Closure(at=T0 + 100 * HOUR, by="M", reason="=cmd|' /C calc'!A0")
    return state


def test_a_row_carries_the_facts_effects_measures_filings_and_notice() -> None:
    state = comviq_closed()
    row = closed_row(state)
    facts = state.facts
    assert row.affected_count == facts.affected_count
    assert row.breach_types == [b.value for b in facts.breach_types or ()]
    assert row.root_cause == (facts.root_cause.value if facts.root_cause else None)
    assert row.circumstances == facts.circumstances
    assert row.subscriber_effect == facts.subscriber_effect
    assert row.potential_consequences == facts.potential_consequences
    assert row.measures_taken == facts.measures_taken
    assert row.measures_planned == facts.measures_planned
    assert row.reported and row.filings == 1 and row.late_filings == 1
    assert row.first_filed_at == T0 + 30 * HOUR and row.aware_at == T0
    assert row.closed_at == T0 + 100 * HOUR
    notice = facts.subscriber_notice
    assert notice is not None and row.notified is notice.notified
    assert row_of(state) == row, "a closed incident's row is the register's"
    unreported = row_of(new_state())
    assert not unreported.reported and unreported.filings == 0 and unreported.notified is None


def test_the_csv_has_stable_codes_the_readers_words_and_no_formula() -> None:
    state = comviq_closed()
    state.title = "+SUM(A1:A9)"
    row = closed_row(state)
    text = csv_text([row], SV)
    header, line = list(csv.reader(io.StringIO(text)))
    assert header[:4] == ["reference", "title", "state", "state.label"]
    cells = dict(zip(header, line, strict=True))
    assert cells["state"] == "closed" and cells["state.label"] == SV("incident_state.closed")
    assert cells["root_cause"] == row.root_cause
    assert cells["root_cause.label"] == SV(f"filing.cause.{row.root_cause}")
    assert cells["breach_types.label"].splitlines() == [
        SV(f"filing.breach.{b}") for b in row.breach_types
    ]
    assert cells["title"] == "'+SUM(A1:A9)" and cells["closed_reason"].startswith("'=")
    for measure in row.measures_taken:
        assert measure.on is not None
        assert f"{measure.on.isoformat()}: {measure.what}" in cells["measures_taken"]
    assert cells["first_filed_at"] == (T0 + 30 * HOUR).astimezone(SV.tz).isoformat()
    assert cells["reported"] == "true" and cells["late_filings"] == "1"
    assert all(not c.startswith(("=", "+", "-", "@")) for c in line)
    given_up = new_state()
    given_up.discovery = Discover(at=T0, by="On-call", how="a customer asked")
    given_up.closure = Closure(at=T0 + HOUR, by="M", reason="handed over")
    (_, unfiled) = csv.reader(io.StringIO(csv_text([closed_row(given_up)], SV)))
    never = dict(zip(header, unfiled, strict=True))
    assert never["never_filed"].splitlines()[0] == "pts:initial_report"
    assert never["never_filed.label"].splitlines()[0] == "PTS: " + SV("stage.initial_report")
    danish = dict(zip(*csv.reader(io.StringIO(csv_text([row], DA))), strict=True))
    assert danish["state.label"] == DA("incident_state.closed") != cells["state.label"]


def test_json_labels_name_every_column_and_coded_value_in_the_readers_language() -> None:
    row = closed_row(comviq_closed())
    assert set(columns(SV)) == set(type(row).model_fields)
    assert columns(SV)["measures_taken"] == "Vidtagna åtgärder"
    assert columns(DA)["measures_taken"] == "Trufne foranstaltninger"
    words = labels(row, DA)
    assert words["regime"] == DA("regime.pts")
    assert words["breach_types"] == [DA(f"filing.breach.{b}") for b in row.breach_types]
