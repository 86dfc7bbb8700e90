"""Who answers for a filing: the person who approved it, or for one the engine filed at
the deadline on its own, the policy's owner under whose standing authority it went;
the next filing confirms or corrects an automatic one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from breachclock.domain.incident.lifecycle import FileReport
from breachclock.domain.incident.model import (
    Approve,
    FilingKind,
    IncidentState,
    Policy,
)
from breachclock.domain.incident.report import build_draft, document, render_text
from tests.filing_cases import COMVIQ, YOUSEE, variant
from tests.states import incident_state

AWARE = datetime(2026, 2, 26, 9, 0, tzinfo=UTC)
OWNER = Policy(owner="Karin Berg", owner_role="Incidentansvarig", operator_name="Comviq")


def incident() -> IncidentState:
    """A PTS incident aware at ``AWARE``, under a policy whose owner is named."""
    return incident_state("INC-5", AWARE, OWNER)


def test_a_filing_at_the_deadline_names_the_owner_whose_standing_authority_it_used() -> None:
    state = incident()
    step = FileReport(0, FilingKind.INITIAL, "initial_report", AWARE + timedelta(hours=24))
    draft = build_draft(state, step, 1, AWARE + timedelta(hours=24), None)
    assert draft.automatic and draft.approved_by is None
    text = render_text(draft)
    assert "RAPPORTEN LÄMNADES AUTOMATISKT VID TIDSFRISTEN" in text
    assert "stående fullmakt som Karin Berg (Incidentansvarig) har gett för Comviq" in text
    assert "Nästa rapport bekräftar eller rättar den." in text
    assert "Ansvarig för rapporten: Karin Berg, Incidentansvarig" in text
    lines = dict(document(draft).signature.lines)
    assert lines["Namnförtydligande"] == "Karin Berg"
    assert lines["Befattning eller roll"] == "Incidentansvarig"
    assert lines["Namnteckning"] == "lämnad automatiskt, utan namnteckning"
    assert lines["Ort och datum"] == "2026-02-27", "the day it was sent, in the operator's zone"


def test_an_approved_filing_names_who_approved_it() -> None:
    state = incident()
    state.tracks[0].approve = Approve(by="Anna Lind", filing="initial_report")
    step = FileReport(0, FilingKind.INITIAL, "initial_report", AWARE + timedelta(hours=24))
    draft = build_draft(state, step, 1, AWARE + timedelta(hours=2), None)
    assert not draft.automatic and draft.approved_by == "Anna Lind"
    text = render_text(draft)
    assert "Ansvarig för rapporten: Anna Lind (godkände rapporten)" in text
    assert "AUTOMATISKT" not in text


def test_the_next_filing_confirms_an_automatic_one_or_corrects_it() -> None:
    (automatic,) = COMVIQ.previous_filings
    assert automatic.approved_by is None
    same = render_text(variant(COMVIQ, facts_version=automatic.facts_version))
    assert "Karin Berg bekräftar uppgifterna i rapport nr 1" in same
    changed = render_text(COMVIQ)
    assert "Karin Berg rättar och kompletterar rapport nr 1" in changed


def test_an_automatic_filing_with_no_deadline_does_not_say_it_went_at_the_deadline() -> None:
    """The final report after the last fact came in (seen in the Comviq golden): "filed
    at the deadline" beside "no fixed deadline" is a contradiction a case officer queries."""
    draft = variant(COMVIQ, approved_by=None, automatic=True, due_at=None, kind=FilingKind.FINAL)
    text = render_text(draft)
    assert "VID TIDSFRISTEN" not in text and "vid tidsfristen" not in text
    assert "RAPPORTEN LÄMNADES AUTOMATISKT NÄR UPPGIFTERNA VAR KOMPLETTA" in text
    assert "stående fullmakt som Karin Berg (Incidentansvarig)" in text


def test_a_portal_filing_prepared_on_its_own_says_a_person_files_it() -> None:
    """The Danish filing the engine prepares hours before the deadline is not filed by
    the engine: a person files it on the portal (seen in the Comviq golden for Denmark)."""
    draft = variant(YOUSEE, approved_by=None, automatic=True)
    text = render_text(draft)
    assert "INDGIVET AUTOMATISK VED FRISTEN" not in text
    assert "ANMELDELSEN BLEV KLARGJORT AUTOMATISK INDEN FRISTEN" in text
    assert "en person indsender den på myndighedens portal" in text


def test_a_portal_filing_does_not_say_it_was_submitted_on_time_before_anyone_submitted_it() -> None:
    """Prepared hours before its deadline, the Danish filing's cover said "indsendt
    rettidigt" (submitted on time); the person may file it after the deadline."""
    cover = dict((e.label, e.value) for e in document(variant(YOUSEE, late_reason=None)).cover)
    assert cover["Status"] == "klargjort inden fristen; indsendes på portalen"


def test_an_operator_without_an_org_number_is_not_told_it_is_not_yet_established() -> None:
    """ "okänt – ännu inte fastställt" reads as a fact under investigation (seen in the
    Tre golden); the operator's own number is simply not given."""
    cover = {e.label: e for e in document(variant(COMVIQ, operator_org_number=None)).cover}
    entry = cover["Organisationsnummer"]
    assert entry.value == "ej angivet" and entry.unknown
