"""Fixed filings of the two real cases, for the language and PDF tests (the golden
filings come from engine runs: tests/golden).

Comviq (seed 000): a migration program set "publish" on 3,300 customers who had asked
for secret numbers; found three months later when a customer asked why. Filed to PTS
as the 3-day report with a justification, the campaign done.

YouSee (seed 002): secret numbers and addresses of 10,000 fixed-line customers went to
the open directory 118.dk in a system migration, for up to 11 weeks; found through a
customer's call and an internal data check. Filed late to the Danish authority, with
customers being called (after 4–5 failed calls, an e-mail).

The people's own text is in the regulator's language, as they would type it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from breachclock.domain.incident.containment import TakedownStatus, TakedownTask
from breachclock.domain.incident.model import (
    Discover,
    EntryKind,
    Facts,
    Filing,
    FilingKind,
    PortalReceipt,
    TimelineEntry,
)
from breachclock.domain.incident.report import ReportDraft
from breachclock.domain.regimes import RegimeCode, dk


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


COMVIQ_NOTICE = """[sv] Integritetsincident som rör dina uppgifter (ärende COMVIQ-2026-007)

Hej [namn],

Vi på Comviq vill berätta om en integritetsincident som rör dina uppgifter hos oss.

NÄR HÄNDE DET?
Obehöriga kunde komma åt dina uppgifter från 2025-11-25.

VILKA AV DINA UPPGIFTER BERÖRS?
- [personens egna berörda uppgifter]

Ange ärendenummer COMVIQ-2026-007 när du kontaktar oss."""

COMVIQ = ReportDraft(
    reference="COMVIQ-2026-007",
    title="Hemliga nummer publicerade efter migrering",
    number=2,
    kind=FilingKind.EXTENSION,
    stage="supplementary_report",
    order="second",
    regime=RegimeCode.PTS,
    regulator="Post- och telestyrelsen (PTS)",
    recipient="incidentrapport@pts.se",
    operator_name="Tele2 Sverige AB (Comviq)",
    operator_org_number="556267-5164",
    contact_point="Dataskyddsombud, dpo@comviq.example, 08-000 00 00",
    zone="Europe/Stockholm",
    language="sv",
    drafted_at=at("2026-02-27T08:50:00+01:00"),
    due_at=at("2026-02-27T09:05:00+01:00"),
    late_reason=None,
    justification=(
        "Leverantörens analys av migreringsprogrammet är inte klar; grundorsaken kan "
        "fastställas först när regeln som satte publiceringsstatus har granskats."
    ),
    discovery=Discover(
        at=at("2026-02-23T09:05:00+01:00"),
        by="Kundtjänst, jour",
        how="en kund frågade varför hens hemliga nummer syntes i nummerupplysningen",
    ),
    facts=Facts.model_validate(
        {
            "occurred": {
                "at": "2025-11-25T02:00:00+01:00",
                "how": "uppskattning: migreringens datum i ändringsloggen",
            },
            "affected_count": 3300,
            "breach_types": ["disclosure"],
            "circumstances": (
                "Ett migreringsprogram satte status ”publicera” på kunder som begärt hemligt "
                "nummer; uppgifterna gick till nummerupplysningsföretag och vidare till webben."
            ),
            "services": ["mobilabonnemang med kontantkort (Comviq)"],
            "data_kinds": ["hemliga telefonnummer", "namn", "adresser"],
            "systems": ["kunddatabasen", "exporten till nummerupplysningen"],
            "location_and_media": "kunddatabasen i operatörens datacenter; dagliga exportfiler",
            "contributing_causes": ["ingen kontroll av statusflaggor efter migreringen"],
            "subscriber_effect": "Hemliga nummer och adresser gick att hitta i nummerupplysning och på webben.",
            "potential_consequences": "Oönskade kontakter, trakasserier och fara för personer med skyddade uppgifter.",
            "measures_taken": [
                {
                    "what": "nummerupplysningsföretagen ombedda att ta bort uppgifterna",
                    "on": "2026-02-23",
                },
                {"what": "exporten till nummerupplysningen stoppad", "on": "2026-02-24"},
            ],
            "measures_planned": [
                {
                    "what": "migreringsreglerna granskas och testas mot flaggor för hemligt nummer",
                    "on": "2026-04-30",
                }
            ],
            "other_providers": "Nummerupplysningsföretagen fick uppgifterna; ingen behandlade dem för vår räkning.",
            "cross_border": "Inga användare i andra medlemsstater kända; ingen annan myndighet underrättad.",
            "subscriber_notice": {
                "notified": True,
                "means": "telephone, up to 5 attempts between 09:00 and 20:00 …",
                "call_attempts": 5,
                "calling_hours": "09:00-20:00",
                "notified_count": 3212,
                "copy_text": COMVIQ_NOTICE,
                "outcomes": {
                    "people.called": 2405,
                    "people.emailed": 807,
                    "people.unreachable": 88,
                    "people.pending": 0,
                    "calls.busy": 310,
                    "calls.invalid_number": 41,
                    "calls.no_answer": 3988,
                    "calls.reached_verified": 2405,
                    "calls.voicemail": 702,
                    "identified.bankid": 1890,
                    "identified.one_time_code": 515,
                    "emails.sent": 807,
                },
                "skipped_rows": 3,
            },
            "unknown_because": {
                "root_cause": "leverantören granskar fortfarande migreringsprogrammets regel",
            },
        }
    ),
    missing=["root_cause"],
    timeline=[
        TimelineEntry(
            at=at("2025-11-25T02:00:00+01:00"),
            what="migreringen av kunder med kontantkort kördes",
            by="IT-drift",
            how_established="ändringsloggen",
            recorded_at=at("2026-02-23T11:00:00+01:00"),
            kind=EntryKind.INCIDENT,
        ),
        TimelineEntry(
            at=at("2026-02-23T09:05:00+01:00"),
            what="operator aware of the incident: en kund frågade varför hens hemliga nummer syntes i nummerupplysningen",
            by="Kundtjänst, jour",
            how_established="reported at discovery",
            recorded_at=at("2026-02-23T09:10:00+01:00"),
            kind=EntryKind.INCIDENT,
        ),
        TimelineEntry(
            at=at("2026-02-24T14:00:00+01:00"),
            what="exporten till nummerupplysningen stoppad",
            by=None,
            how_established="reported",
            recorded_at=at("2026-02-24T14:30:00+01:00"),
            kind=EntryKind.INCIDENT,
        ),
        TimelineEntry(
            at=at("2026-02-24T08:50:00+01:00"),
            what="filing no. 1 (initial) sent to Post- och telestyrelsen (PTS)",
            by="breachclock",
            recorded_at=at("2026-02-24T08:50:00+01:00"),
            kind=EntryKind.ENGINE,
        ),
        TimelineEntry(
            at=at("2026-02-25T10:00:00+01:00"),
            what="facts recorded (version 3): affected_count",
            recorded_at=at("2026-02-25T10:00:00+01:00"),
            kind=EntryKind.RECORD,
        ),
    ],
    takedowns=[
        TakedownTask(
            recipient="eniro",
            name="Eniro (118 118, eniro.se)",
            address="removals@eniro.example",
            scope="alla poster märkta hemligt nummer i leveransen från 2025-11-25",
            count=3300,
            requested_by="Incidentansvarig",
            requested_at=at("2026-02-24T10:00:00+01:00"),
            sent_at=at("2026-02-24T10:00:05+01:00"),
            acknowledged_at=at("2026-02-24T14:00:00+01:00"),
            status=TakedownStatus.ACKNOWLEDGED,
        ),
    ],
    previous_filings=[
        Filing(
            number=1,
            regime=RegimeCode.PTS,
            kind=FilingKind.INITIAL,
            stage="initial_report",
            recipient="incidentrapport@pts.se",
            message_id="<COMVIQ-2026-007.1@breachclock>",
            sent_at=at("2026-02-24T08:50:00+01:00"),
            due_at=at("2026-02-24T09:05:00+01:00"),
            late=False,
            missing=["affected_count", "root_cause"],
            facts_version=2,
        )
    ],
    facts_version=5,
    approved_by="Karin Berg",
    owner="Karin Berg",
    owner_role="Incidentansvarig",
)

YOUSEE_NOTICE = """[da] Brud på persondatasikkerheden, der vedrører dine oplysninger (sag YOUSEE-2018-118)

Kære [navn]

Vi skal fortælle dig om et brud på persondatasikkerheden, der vedrører dine oplysninger.

HVILKE AF DINE OPLYSNINGER ER BERØRT?
- [personens egne berørte oplysninger]

Oplys sagsnummer YOUSEE-2018-118, når du kontakter os."""

YOUSEE = ReportDraft(
    reference="YOUSEE-2018-118",
    title="Udeladte numre og adresser offentliggjort på 118.dk",
    number=2,
    kind=FilingKind.FINAL,
    stage="follow_up_report",
    order="second",
    regime=RegimeCode.DK,
    regulator="Erhvervsstyrelsen",
    recipient=dk.PORTAL,
    operator_name="YouSee A/S",
    operator_org_number="40075291",
    contact_point="Databeskyttelsesrådgiver, dpo@yousee.example, +45 00 00 00 00",
    zone="Europe/Copenhagen",
    language="da",
    drafted_at=at("2018-06-08T10:30:00+02:00"),
    due_at=at("2018-05-28T10:45:00+02:00"),
    late_reason=(
        "Sagen blev først behandlet som en driftsfejl; omfanget kunne ikke fastlægges, før "
        "den interne kontrol af data var afsluttet."
    ),
    justification=None,
    discovery=Discover(
        at=at("2018-05-24T11:00:00+02:00"),
        by="Kundeservice",
        how="den første kundehenvendelse, bekræftet ved en intern kontrol af data",
    ),
    facts=Facts.model_validate(
        {
            "occurred": {
                "at": "2018-03-12T06:00:00+01:00",
                "how": "fra logfilerne fra migreringen mellem de to it-systemer",
            },
            "affected_count": 10000,
            "affected_scale": "fastnetkunder",
            "breach_types": ["disclosure"],
            "circumstances": (
                "Ved en intern flytning af kunder fra et it-system til et andet kom valget af "
                "udeladt nummer og/eller adresse ikke med; oplysningerne blev sendt til "
                "Nummeroplysningen og vist på 118.dk."
            ),
            "services": ["fastnettelefoni"],
            "data_kinds": ["udeladte telefonnumre", "udeladte adresser"],
            "systems": ["kundesystemet", "indberetningen til Nummeroplysningen"],
            "location_and_media": "kundesystemerne i udbyderens datacenter; databasen bag 118.dk",
            "root_cause": "technical_fault",
            "root_cause_detail": "migreringen overførte ikke feltet for udeladt nummer",
            "contributing_causes": [
                "for få interne kontroller ved datamigreringer mellem it-systemer"
            ],
            "subscriber_effect": "Numre og adresser, som kunderne havde valgt at holde udeladt, kunne findes af alle i op til 11 uger.",
            "potential_consequences": "Uønsket kontakt; fare for personer, der har grund til at skjule deres adresse.",
            "measures_taken": [
                {
                    "what": "oplysningerne fjernet fra 118.dk og de kendte nummerdatabaser",
                    "on": "2018-05-29",
                },
                {
                    "what": "opkald til alle berørte kunder begyndt; nyt nummer og en måneds gratis abonnement tilbudt",
                    "on": "2018-06-06",
                },
            ],
            "measures_planned": [
                {
                    "what": "flere og bedre interne kontroller ved datamigreringer",
                    "on": "2018-09-01",
                }
            ],
            "other_providers": None,
            "cross_border": "Ingen brugere i andre lande kendt.",
            "subscriber_notice": {
                "notified": True,
                "call_attempts": 5,
                "calling_hours": "09:00-20:00",
                "notified_count": 6120,
                "in_progress": True,
                "copy_text": YOUSEE_NOTICE,
                "outcomes": {
                    "people.called": 5900,
                    "people.emailed": 220,
                    "people.unreachable": 0,
                    "people.pending": 3880,
                    "calls.no_answer": 2210,
                    "calls.reached_unverified": 35,
                    "calls.reached_verified": 5900,
                    "identified.known_callback": 2150,
                    "identified.security_questions": 3750,
                    "emails.sent": 220,
                },
            },
            "unknown_because": {
                "other_providers": "det undersøges, om Nummeroplysningen har videregivet oplysningerne",
            },
        }
    ),
    missing=["other_providers"],
    timeline=[
        TimelineEntry(
            at=at("2018-03-12T06:00:00+01:00"),
            what="kunderne flyttet fra det gamle it-system til det nye",
            by="IT",
            how_established="logfiler",
            recorded_at=at("2018-05-24T15:00:00+02:00"),
            kind=EntryKind.INCIDENT,
        ),
        TimelineEntry(
            at=at("2018-05-24T11:00:00+02:00"),
            what="operator aware of the incident: den første kundehenvendelse, bekræftet ved en intern kontrol af data",
            by="Kundeservice",
            how_established="reported at discovery",
            recorded_at=at("2018-05-24T11:05:00+02:00"),
            kind=EntryKind.INCIDENT,
        ),
        TimelineEntry(
            at=at("2018-05-29T16:00:00+02:00"),
            what="tilstrækkelig sikkerhed for, at oplysningerne ikke længere fremgår af de kendte nummerdatabaser",
            by="Jacob M.",
            how_established="kontrol af 118.dk",
            recorded_at=at("2018-05-29T16:30:00+02:00"),
            kind=EntryKind.INCIDENT,
        ),
        TimelineEntry(
            at=at("2018-06-06T09:00:00+02:00"),
            what="notification campaign 1 started for 10000 people",
            recorded_at=at("2018-06-06T09:00:00+02:00"),
            kind=EntryKind.ENGINE,
        ),
    ],
    takedowns=[
        TakedownTask(
            recipient="118dk",
            name="118.dk",
            address="removals@118dk.example",
            scope="alle poster markeret hemmeligt nummer i leverancerne siden 12.03.2018",
            count=10000,
            requested_by="Jacob M.",
            requested_at=at("2018-05-24T13:00:00+02:00"),
            sent_at=at("2018-05-24T13:00:05+02:00"),
            acknowledged_at=at("2018-05-25T09:10:00+02:00"),
            status=TakedownStatus.CONFIRMED,
            confirmed_at=at("2018-05-29T16:00:00+02:00"),
            confirmed_by="Jacob M.",
            how_verified="stikprøve af 50 numre i 118.dk's søgning",
        ),
    ],
    previous_filings=[
        Filing(
            number=1,
            regime=RegimeCode.DK,
            kind=FilingKind.INITIAL,
            stage="initial_report",
            recipient=dk.PORTAL,
            message_id="<YOUSEE-2018-118.1.portal@breachclock>",
            sent_at=at("2018-05-25T10:45:00+02:00"),
            receipt=PortalReceipt(
                number="EXAMPLE-RECEIPT-1",  # the test's own: the portal's format is not public
                at=at("2018-05-25T10:45:00+02:00"),
                recorded_by="Kundeservice, vagt",
                recorded_at=at("2018-05-25T10:52:00+02:00"),
            ),
            due_at=at("2018-05-25T11:00:00+02:00"),
            late=False,
            missing=["root_cause"],
            facts_version=1,
        )
    ],
    facts_version=4,
    approved_by="Mette Holm",
    owner="Jens Poulsen",
    owner_role="Sikkerhedschef",
)

CASES: dict[str, ReportDraft] = {"comviq-pts": COMVIQ, "yousee-dk": YOUSEE}


def variant(draft: ReportDraft, **changes: Any) -> ReportDraft:
    """The draft with some fields replaced (facts given as a dict of fact changes)."""
    facts = changes.pop("facts", None)
    if facts is not None:
        changes["facts"] = Facts.model_validate({**draft.facts.model_dump(), **facts})
        changes["missing"] = changes["facts"].missing()
    return draft.model_copy(update=changes)


NO_NOTICE = {
    "subscriber_notice": {
        "notified": False,
        "exemption": "unintelligible",
        "justification": "Numren var krypterade med AES-256 och nyckeln har inte röjts.",
    }
}


def at_deadline(draft: ReportDraft) -> ReportDraft:
    """``draft`` as the engine files it at the 3-day mark on its own: no justification,
    nobody's go, the root cause with a date of its own (two weeks on) and the planned
    measures with none
    (the policy's three days stand in), and notice decided but waiting for containment."""
    waiting_since = draft.drafted_at - timedelta(hours=30)
    return variant(
        draft,
        kind=FilingKind.AT_DEADLINE,
        justification=None,
        late_reason=None,
        approved_by=None,
        automatic=True,
        expected_after=timedelta(days=3),
        notice_waits_for_containment=True,
        notice_waiting_since=waiting_since,
        notice_wait_bound=waiting_since + timedelta(hours=24),
        facts={
            "root_cause": None,
            "measures_planned": None,
            "subscriber_notice": None,
            "expected": {"root_cause": (draft.drafted_at + timedelta(days=14)).date()},
        },
    )
