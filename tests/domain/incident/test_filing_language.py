"""Filings in the regulator's language: Swedish to PTS and IMY, Danish to the Danish
authority, NIS2 in English or Swedish; nothing English in a Swedish or Danish filing
but what a person typed.

The golden filings, from engine runs of the seed incidents, are under ``tests/golden/``
(``tests/golden/regenerate.py``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from breachclock.domain.catalogue import LANGUAGES, messages
from breachclock.domain.incident.lifecycle import FileReport
from breachclock.domain.incident.model import (
    Discover,
    EntryKind,
    Facts,
    FilingKind,
    IncidentState,
    Policy,
    TimelineEntry,
    Track,
)
from breachclock.domain.incident.notice_fact import outcome_counts
from breachclock.domain.incident.report import (
    FACT_LABELS,
    ReportDraft,
    build_draft,
    document,
    render_json,
    render_text,
    subject,
)
from breachclock.domain.notify.delivery import CallOutcome, Counts, Status
from breachclock.domain.regimes import RegimeCode, regime
from breachclock.runtime.config import Settings
from tests.filing_cases import COMVIQ, NO_NOTICE, YOUSEE, at_deadline, variant

# --- nothing English ------------------------------------------------------------------------

ENGINE_WORDS = (
    "operator aware of the incident",
    "reported at discovery",
    "recorded by breachclock",
    "filing no.",
    "paged (",
    "notification campaign",
    "facts recorded",
)
"""What the engine writes in English into the timeline: never in a filing's text."""

RAW_VALUES = sorted(
    {
        *(k.value for k in FilingKind),
        "initial_report",
        "supplementary_report",
        "follow_up_report",
        "first",
        "second",
        "further",
        "disclosure",
        "alteration",
        "mistake",
        "technical_fault",
        "organisation_or_process",
        "intentional",
        "unintelligible",
        "no_adverse_effect",
        *(o.value for o in CallOutcome),
        *(f"people.{s.value}" for s in Status),
        "emails.sent",
    }
)


def filing_words(language: str) -> dict[str, str]:
    """The catalogue's filing phrases of ``language``, by their key under ``filing.``."""
    plain = messages(language).plain  # type: ignore[arg-type]
    return {k.removeprefix("filing."): v for k, v in plain.items() if k.startswith("filing.")}


def english_phrases() -> list[str]:
    """Every English phrase the filings print (labels, headings, value names), less the
    words the three languages share (Status, e-mail, NIS2, …) and single short words."""
    phrases = set()
    catalogs = {lang: filing_words(lang) for lang in LANGUAGES}
    for key, text in catalogs["en"].items():
        others = " ".join(catalogs[lang].get(key, "") for lang in ("sv", "da"))
        for fragment in re.split(r"\{[a-z_]+\}", text):
            fragment = fragment.strip(" :;,.()–-[]")
            if (" " in fragment or len(fragment) >= 8) and fragment not in others:
                phrases.add(fragment)
    phrases.update(FACT_LABELS.values())
    phrases.update(ENGINE_WORDS)
    return sorted(phrases)


def swedish_and_danish_drafts() -> list[ReportDraft]:
    late = variant(COMVIQ, late_reason="e-postservern svarade 451", justification=None)
    empty = variant(
        COMVIQ,
        facts=Facts().model_dump(),
        discovery=None,
        timeline=[],
        previous_filings=[],
        kind=FilingKind.INITIAL,
        stage="initial_report",
        order="first",
    )
    no_notice_dk = variant(
        YOUSEE,
        facts={
            "subscriber_notice": {
                "notified": False,
                "exemption": "no_adverse_effect",
                "justification": "Oplysningerne var allerede offentligt tilgængelige.",
            }
        },
    )
    imy = variant(
        COMVIQ,
        regime=RegimeCode.IMY,
        regulator="Integritetsskyddsmyndigheten (IMY)",
        stage="further_information",
        facts=NO_NOTICE,
    )
    nis2_sv = variant(COMVIQ, regime=RegimeCode.NIS2, language="sv", stage="early_warning")
    nis2_stages = [
        variant(nis2_sv, stage=stage) for stage in ("incident_notification", "final_report")
    ]
    return [
        *nis2_stages,
        COMVIQ,
        YOUSEE,
        late,
        empty,
        variant(COMVIQ, facts=NO_NOTICE),
        no_notice_dk,
        imy,
        nis2_sv,
        at_deadline(COMVIQ),
        at_deadline(YOUSEE),
    ]


@pytest.mark.parametrize("draft", swedish_and_danish_drafts(), ids=lambda d: f"{d.regime}-{d.kind}")
def test_no_english_label_leaks_into_a_swedish_or_danish_filing(draft: ReportDraft) -> None:
    text = f"{subject(draft)}\n{render_text(draft)}"
    assert draft.words in ("sv", "da")
    leaked = [p for p in english_phrases() if p.lower() in text.lower()]
    assert leaked == []
    raw = [v for v in RAW_VALUES if re.search(rf"(?<![\w.-]){re.escape(v)}(?![\w.-])", text)]
    assert raw == [], "recorded values are named in words, never shown as identifiers"


# --- what the filing shows ------------------------------------------------------------------


def test_the_pts_filing_is_in_swedish_in_the_forms_order_with_swedish_dates() -> None:
    text = render_text(COMVIQ)
    headings = [line for line in text.splitlines() if re.match(r"^\d\. ", line)]
    assert headings == [
        "1. Tidpunkt för incidenten samt upptäckt av incidenten",
        "2. Antal berörda abonnenter eller användare",
        "3. Omständigheter kring incidenten; vad som inträffat, orsaker och konsekvenser",
        "4. Åtgärder som operatören har vidtagit",
        "5. Medverkan av andra tjänsteleverantörer",
        "6. Medverkan eller påverkan på användare i andra länder",
        "7. Referensnummer",
        "8. Kopia på underrättelsen som har lämnats till berörda användare",
        "9. Motivering när abonnenter eller användare inte underrättas",
    ]
    assert "Skickad: 2026-02-27 kl. 08:50 CET" in text, "the sending time, labelled as such"
    assert "Organisationsnummer: 556267-5164" in text
    assert "Typ av rapport: kompletterande rapport med välgrundad motivering" in text
    assert "Välgrundad motivering till att uppgifter saknas" in text
    assert "Typ av incident: otillåtet avslöjande eller otillåten åtkomst" in text
    assert "Antal berörda: 3\u00a0300" in text
    assert "okänt, eftersom leverantören granskar fortfarande" in text
    assert "samtalsförsök – ogiltigt nummer: 41" in text
    assert "underrättade per e-post: 807" in text
    assert "(genomförd 2026-02-23)" in text and "(ska vara genomförd senast 2026-04-30)" in text


def test_the_danish_filing_is_in_danish_with_the_late_reason() -> None:
    text = render_text(YOUSEE)
    assert text.startswith(
        "YouSee A/S – Anmeldelse af brud på persondatasikkerheden til Erhvervsstyrelsen"
    )
    assert "Klargjort til portalen: 08.06.2018 kl. 10.30 CEST" in text
    assert "ANMELDELSEN INDSENDES FOR SENT" in text
    assert "Årsag til forsinkelsen: Sagen blev først behandlet som en driftsfejl" in text
    assert "ukendt, fordi det undersøges" in text
    assert "Grundlæggende årsag: tekniske fejl i systemer" in text
    assert "Antal underrettede: 6.120 indtil videre (underretningen er i gang)" in text
    assert "mellem kl. 09.00 og kl. 20.00" in text


def test_only_the_incidents_own_steps_are_in_the_timeline_field() -> None:
    text = render_text(COMVIQ)
    assert "migreringen av kunder med kontantkort kördes" in text
    assert "Operatören fick kännedom om incidenten: en kund frågade" in text
    assert "filing no. 1" not in text and "facts recorded" not in text
    data = json.loads(render_json(COMVIQ))
    assert {e["kind"] for e in data["timeline"]} == {"incident"}
    assert len(data["labels"]["timeline"]) == len(data["timeline"]) == 3


def test_a_filing_without_notice_names_the_exemption_ground_and_justification() -> None:
    text = render_text(variant(COMVIQ, facts=NO_NOTICE))
    assert "Abonnenterna och användarna har underrättats: nej; motiveringen står under punkt 9" in (
        text
    )
    assert "Grund för undantag från underrättelse: operatören har vidtagit tekniska" in text
    assert "Motivering: Numren var krypterade med AES-256" in text


def test_the_json_keeps_its_english_keys_and_adds_the_language_and_words() -> None:
    data = json.loads(render_json(COMVIQ))
    old_keys = {
        "reference",
        "title",
        "number",
        "kind",
        "stage",
        "order",
        "regime",
        "regulator",
        "recipient",
        "operator_name",
        "contact_point",
        "zone",
        "drafted_at",
        "due_at",
        "late_reason",
        "justification",
        "discovery",
        "facts",
        "missing",
        "timeline",
        "previous_filings",
        "facts_version",
    }
    assert old_keys <= set(data)
    assert data["kind"] == "extension" and data["drafted_at"] == "2026-02-27T08:50:00+01:00"
    assert data["language"] == "sv" and data["operator_org_number"] == "556267-5164"
    assert data["missing"] == [{"fact": "root_cause", "label": "grundläggande orsak"}]
    assert data["labels"]["kind"] == "kompletterande rapport med välgrundad motivering"
    assert data["labels"]["outcomes"]["calls.no_answer"] == "samtalsförsök – inget svar"
    assert data["facts"]["subscriber_notice"]["outcomes"]["people.emailed"] == 807


def test_nis2_is_written_in_the_configured_language() -> None:
    assert Settings().policy().nis2_language == "en"
    assert Settings(BREACHCLOCK_NIS2_LANGUAGE="sv").policy().nis2_language == "sv"
    assert Policy.model_validate({}).nis2_language == "en", "old payloads load"
    for language, heading in (
        ("en", "Significant incident report (NIS2)"),
        ("sv", "Rapport om betydande incident (NIS2)"),
    ):
        state = incident(Policy(nis2_language=language), RegimeCode.NIS2)
        draft = build_draft(
            state, FileReport(1, FilingKind.EARLY_WARNING, "early_warning", None), 3, NOW, None
        )
        assert draft.language == language
        assert heading in render_text(draft)
    pts = build_draft(
        incident(Policy(nis2_language="en")),
        FileReport(0, FilingKind.INITIAL, "initial_report", NOW),
        1,
        NOW,
        None,
    )
    assert pts.language == "sv"


def test_the_default_contact_point_is_named_in_each_filings_language() -> None:
    """The engine's default role for the contact point was English in every filing."""
    policy = Settings().policy()
    assert "Data protection officer" not in policy.contact_point
    state = incident(policy, RegimeCode.DK)
    pts, dk = (
        build_draft(state, FileReport(i, FilingKind.INITIAL, "initial_report", NOW), 1, NOW, None)
        for i in (0, 1)
    )
    assert pts.contact_point == f"Dataskyddsombud, {policy.contact_point}"
    assert dk.contact_point == f"Databeskyttelsesrådgiver, {policy.contact_point}"
    assert "Dataskyddsombud, dpo@" in render_text(pts)
    named = incident(policy.model_copy(update={"contact_role": "Säkerhetschef"}))
    draft = build_draft(
        named, FileReport(0, FilingKind.INITIAL, "initial_report", NOW), 1, NOW, None
    )
    assert draft.contact_point.startswith("Säkerhetschef, dpo@")


def test_contributing_causes_not_yet_established_read_apart_from_none() -> None:
    """'inga angivna' stood for both: a case officer could not tell unknown from none."""
    label = "Bidragande orsaker: "
    unknown = render_text(variant(COMVIQ, facts={"contributing_causes": None}))
    none = render_text(variant(COMVIQ, facts={"contributing_causes": []}))
    assert label + "okänt – ännu inte fastställt" in unknown
    assert label + "inga\n" in none
    assert "inga angivna" not in unknown + none


def test_a_draft_from_before_languages_is_written_in_its_regulators() -> None:
    old = YOUSEE.model_dump(mode="json")
    del old["language"], old["operator_org_number"]
    draft = ReportDraft.model_validate(old)
    assert draft.words == "da" and "Anmeldelse af brud" in render_text(draft)


NOW = datetime(2026, 11, 23, 8, 5, tzinfo=UTC)


def incident(policy: Policy, extra: RegimeCode | None = None) -> IncidentState:
    state = IncidentState(
        reference="INC-1",
        title="Hemliga nummer",
        regime=RegimeCode.PTS,
        opened_at=NOW - timedelta(hours=1),
        opened_by="Incidentansvarig",
        policy=policy,
        discovery=Discover(at=NOW, by="Jour", how="en kund ringde"),
        timeline=[
            TimelineEntry(
                at=NOW,
                what="a record",
                how_established="logs",
                recorded_at=NOW,
                kind=EntryKind.RECORD,
            ),
            TimelineEntry(
                at=NOW, what="facts recorded (version 1)", recorded_at=NOW, kind=EntryKind.RECORD
            ),
            TimelineEntry(at=NOW, what="now a step", recorded_at=NOW, kind=EntryKind.INCIDENT),
            TimelineEntry(at=NOW, what="paged", recorded_at=NOW, kind=EntryKind.ENGINE),
        ],
    )
    state.tracks.append(Track(regime=RegimeCode.PTS, aware_at=NOW))
    if extra is not None:
        state.tracks.append(Track(regime=extra, aware_at=NOW))
    return state


def test_build_draft_keeps_the_incidents_steps_and_the_org_number() -> None:
    state = incident(Policy(operator_org_number="556000-0000"))
    # Entries carried over from before entries had a kind: a person's (how given) is a step.
    carried = IncidentState.model_validate_json(
        state.model_copy(update={"timeline": []}).model_dump_json()
    )
    legacy = [
        TimelineEntry.model_validate(
            {
                "at": NOW.isoformat(),
                "what": w,
                "how_established": how,
                "recorded_at": NOW.isoformat(),
            }
        )
        for w, how in (("export stopped", "logs"), ("facts recorded", "recorded by breachclock"))
    ]
    carried.timeline = legacy + list(state.timeline)
    draft = build_draft(
        carried, FileReport(0, FilingKind.INITIAL, "initial_report", NOW), 1, NOW, None
    )
    assert [e.what for e in draft.timeline] == ["export stopped", "now a step"]
    assert all(e.kind is EntryKind.INCIDENT for e in draft.timeline)
    assert draft.operator_org_number == "556000-0000"
    assert "Organisationsnummer: 556000-0000" in render_text(draft)
    assert document(draft).language == "sv"


def test_the_notice_outcomes_are_stored_under_stable_keys() -> None:
    counts = Counts(
        people={Status.CALLED: 3, Status.EMAILED: 2, Status.UNREACHABLE: 1},
        calls={CallOutcome.INVALID_NUMBER: 1, CallOutcome.NO_ANSWER: 9},
        emails={"sent": 2},
    )
    assert outcome_counts(counts) == {
        "people.called": 3,
        "people.emailed": 2,
        "people.unreachable": 1,
        "people.pending": 0,
        "calls.invalid_number": 1,
        "calls.no_answer": 9,
        "emails.sent": 2,
    }


def test_outcomes_recorded_in_english_before_keys_are_worded_too() -> None:
    old = variant(
        COMVIQ,
        facts={
            "subscriber_notice": {
                "notified": True,
                "means": "telephone then e-mail",
                "outcomes": {
                    "told by e-mail": 20,
                    "call attempts: no_answer": 105,
                    "e-mails: sent": 20,
                },
            }
        },
    )
    text = render_text(old)
    assert "underrättade per e-post: 20" in text
    assert "samtalsförsök – inget svar: 105" in text
    assert "e-postmeddelanden – skickade: 20" in text


def test_a_campaign_that_walked_sms_first_is_filed_with_its_sms_step_and_counts() -> None:
    notice = COMVIQ.facts.subscriber_notice
    assert notice is not None
    texted = notice.model_dump() | {
        "plan": "sms_first",
        "outcomes": {
            "people.texted": 3000,
            "people.emailed": 200,
            "people.unreachable": 100,
            "people.pending": 0,
            "sms.delivered": 3000,
            "sms.expired": 300,
            "emails.sent": 200,
        },
    }
    text = render_text(variant(COMVIQ, facts={"subscriber_notice": texted}))
    means = "Sätt att underrätta: sms: 1 försök, mellan 09:00 och 20:00 på mottagarens klocka; "
    assert means + "e-post: 1 försök; brev till den som inget annat nådde\n" in text, text
    assert re.search(r"underrättade per sms \(leverans bekräftad\): 3\D000", text)
    assert "sms – ingen leveransrapport i tid (räknas som inte nådda): 300" in text


def test_a_swedish_nis2_report_names_its_recipient_without_english() -> None:
    """The NIS2 record named its recipient "CSIRT / competent authority (NIS2)", which a
    Swedish early warning printed as it was (seen in the Tre golden); it names the body
    whose address it sends to."""
    nis2 = regime(RegimeCode.NIS2)
    draft = variant(COMVIQ, regime=nis2.code, regulator=nis2.regulator, language="sv")
    text = render_text(draft)
    assert "Mottagare: CERT-SE" in text
    assert "competent authority" not in text


def test_each_nis2_stage_has_its_own_sections_in_article_23_4s_order_citing_each_point() -> None:
    """NIS2 art. 23(4) (CELEX 32022L2555) asks each stage for its own content: the early
    warning (a) whether the incident is suspected of unlawful or malicious acts and could
    have a cross-border impact; the incident notification (b) that updated and an
    initial assessment; the final report (d) (i)-(iv). It was the 611/2013 layout."""
    nis2 = regime(RegimeCode.NIS2)
    base = variant(COMVIQ, regime=nis2.code, regulator=nis2.regulator, language="en")
    headings = {
        stage: [s.heading for s in document(variant(base, stage=stage)).sections]
        for stage in ("early_warning", "incident_notification", "final_report")
    }
    assert headings == {
        "early_warning": [
            "Times of the incident and of its detection",
            "Early warning (Directive (EU) 2022/2555, Article 23(4)(a))",
            "Reference number",
        ],
        "incident_notification": [
            "Times of the incident and of its detection",
            "The early warning updated (Article 23(4)(b))",
            "Initial assessment: severity and impact, indicators of compromise (Article 23(4)(b))",
            "Reference number",
        ],
        "final_report": [
            "Times of the incident and of its detection",
            "Detailed description of the incident, its severity and impact (Article 23(4)(d)(i))",
            "Type of threat or root cause likely to have triggered the incident "
            "(Article 23(4)(d)(ii))",
            "Applied and ongoing mitigation measures (Article 23(4)(d)(iii))",
            "Cross-border impact of the incident (Article 23(4)(d)(iv))",
            "Reference number",
        ],
    }
    early = render_text(variant(base, stage="early_warning"))
    assert (
        "Suspected of being caused by unlawful or malicious acts: unknown – not yet established"
        in early
    ), early
    assert "whether the incident has or could have a cross-border impact" in early, "listed"
    assert "subscriber" not in early.split("1. ")[0], "611/2013's facts are not NIS2's list"
    told = variant(base, stage="final_report", facts={"suspected_malicious": True})
    final = render_text(told)
    assert "Suspected of being caused by unlawful or malicious acts: yes" in final
