"""Measures as a regulator reads them: each with its date, temporary or permanent; what
the engine itself did (takedowns asked for and verified, people told) among the
measures taken without being typed again; "not yet known, expected by …" apart from
"none"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import Facts, FilingKind, Lasting, Measure, Track
from breachclock.domain.incident.report import next_due, render_text
from breachclock.domain.regimes import RegimeCode
from tests.filing_cases import COMVIQ, variant

AWARE = datetime(2026, 2, 26, 9, 0, tzinfo=UTC)


def section(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end)]


def test_a_measure_written_as_a_sentence_still_reads() -> None:
    facts = Facts.model_validate({"measures_taken": ["exporten stoppad"]})
    assert facts.measures_taken == [Measure(what="exporten stoppad")]


def test_each_measure_says_its_date_and_whether_it_is_temporary_or_permanent() -> None:
    draft = variant(
        COMVIQ,
        takedowns=[],
        facts={
            "measures_taken": [
                {"what": "exporten stoppad", "on": "2026-02-24", "lasting": Lasting.TEMPORARY},
                {"what": "flaggan rättad"},
            ],
            "subscriber_notice": None,
        },
    )
    text = render_text(draft)
    assert "- exporten stoppad (genomförd 2026-02-24; tillfällig åtgärd)" in text
    assert "- flaggan rättad (datum inte angivet)" in text


def test_the_24_hour_report_names_the_takedowns_sent_instead_of_measures_unknown() -> None:
    initial = variant(
        COMVIQ,
        kind=FilingKind.INITIAL,
        stage="initial_report",
        previous_filings=[],
        justification=None,
        facts={"measures_taken": None, "measures_planned": None, "subscriber_notice": None},
        expected_by=AWARE + timedelta(days=4),
    )
    text = render_text(initial)
    measures = section(text, "4. Åtgärder", "5. ")
    assert "Begäran om borttagning skickad till Eniro (118 118, eniro.se) (3\xa0300 poster)" in (
        measures
    )
    assert "Övriga åtgärder: okänt – ännu inte fastställt; väntas senast 2026-03-02" in measures
    missing = section(text, "Uppgifter som ännu inte är kända", "1. ")
    assert "delvis känt – de åtgärder som redan vidtagits står i avsnitt 4" in missing
    assert "Vidtagna åtgärder (med datum): okänt" not in text


def test_not_yet_known_reads_apart_from_none() -> None:
    unknown = render_text(variant(COMVIQ, takedowns=[], facts={"measures_planned": None}))
    none = render_text(variant(COMVIQ, takedowns=[], facts={"measures_planned": []}))
    assert "Planerade åtgärder (med datum då de ska vara genomförda): okänt" in unknown
    assert "Planerade åtgärder (med datum då de ska vara genomförda): inga" in none


def test_what_is_missing_is_expected_by_the_next_filing_s_deadline() -> None:
    track = Track(regime=RegimeCode.PTS, aware_at=AWARE)
    lifecycle.start_track(track)
    sent = AWARE + timedelta(hours=20)
    assert next_due(track, "initial_report", sent) == sent + timedelta(hours=72)
    assert next_due(track, "supplementary_report", sent) is None, "then: as soon as known"
