"""The seed incidents as engine runs: what the people at the operator do, and when.

Facts are the seeds' (``/work/shared/seeds``): Comviq (000) published 3,300 secret
numbers after a migration on 25 November, found about three months later when a
customer asked why; YouSee (002) moved 10,000 fixed-line customers' unlisted numbers
and addresses into the open directory 118.dk in a system migration, up to 11 weeks,
found through a customer's call and an internal data check, removal confirmed 29 May,
calls from 6 June (after 4-5 failed calls, an e-mail), one month's free subscription
and a new number offered; Tre (004) had accounts in its business switchboard taken over
2-7 July, call logs seen, calls forwarded abroad for fraud, access closed and every
switchboard customer's password reset at once, the police told, and PTS wanted every
caller told although Tre judged no adverse effect.

Everything else is the scenario's own and says so by being plain: the times of day,
the year (``YEAR``: Temporal's time-skipping server starts at the real clock and can
only move forward, so the scenarios happen in a fixed year ahead of it), the people,
the contact details (``.example``) and the sentences the people type, written in the
filing's language as its people would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from breachclock.domain.regimes import RegimeCode, fi

YEAR = 2030
"""The year the scenarios happen in. When the real clock reaches it, raise it and
regenerate (``python -m tests.golden.regenerate``): every date in the goldens moves."""


def local(text: str, zone: str) -> datetime:
    """``MM-DD HH:MM`` (``YEAR``; ``Y-1:`` before it for the year before) in ``zone``, as UTC."""
    year = YEAR
    if text.startswith("Y-1:"):
        year, text = YEAR - 1, text[4:]
    naive = datetime.strptime(f"{year}-{text}", "%Y-%m-%d %H:%M")
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass(frozen=True)
class Step:
    """One thing people at the operator do at ``at`` (``local``'s form), for every
    variant of the case; ``what`` names the update, ``args`` its input by language.
    ``portal_receipt``: where the regime files on a portal, a person files what the
    engine prepared and records the receipt (elsewhere nothing)."""

    at: str
    what: str
    args: Callable[[str], dict[str, Any]] = lambda _language: {}


@dataclass(frozen=True)
class Variant:
    """The case filed under one regime: its operator's settings and its language."""

    regime: RegimeCode
    language: str
    zone: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    name: str
    reference: str
    title: Callable[[str], str]
    facts: Callable[[str], dict[str, Any]]
    steps: tuple[Step, ...]
    variants: tuple[Variant, ...]
    until: str
    """The scenario ends at this time: the clocks after the last step have run."""


def by_language(**texts: Any) -> Callable[[str], Any]:
    return lambda language: texts[language]


# --- Comviq (seed 000) ---------------------------------------------------------------------

COMVIQ_OPERATOR = {
    "BREACHCLOCK_OPERATOR": "Tele2 Sverige AB (Comviq)",
    "BREACHCLOCK_OPERATOR_ORG_NUMBER": "556267-5164",
    "BREACHCLOCK_CONTACT_POINT": "dpo@comviq.example, +46 8 000 00 00",
    "BREACHCLOCK_POLICY_OWNER": "Karin Berg",
    "BREACHCLOCK_POLICY_OWNER_ROLE": "Incidentansvarig",
}

COMVIQ_FIRST = {
    "sv": {
        "occurred": {
            "at": "Y-1:11-25 02:00",
            "how": "uppskattning: migreringens datum i ändringsloggen",
        },
        "breach_types": ["disclosure"],
        "services": ["mobilabonnemang med kontantkort (Comviq)"],
        "data_kinds": ["hemliga telefonnummer", "namn", "adresser"],
        "circumstances": (
            "Ett program i en systemmigrering satte status ”publicera” på kunder som begärt "
            "hemligt nummer; uppgifterna skickades till nummerupplysningsföretag, som "
            "publicerade dem bland annat på webben."
        ),
        "unknown_because": {
            "affected_count": "exporterna till nummerupplysningen sedan migreringen jämförs",
            "root_cause": "leverantören granskar migreringsprogrammets regel",
        },
    },
    "da": {
        "occurred": {
            "at": "Y-1:11-25 02:00",
            "how": "skøn: datoen for migreringen i ændringsloggen",
        },
        "breach_types": ["disclosure"],
        "services": ["mobilabonnementer med taletidskort (Comviq)"],
        "data_kinds": ["hemmelige telefonnumre", "navne", "adresser"],
        "circumstances": (
            "Et program i en systemmigrering satte status »offentliggør« på kunder, der havde "
            "bedt om hemmeligt nummer; oplysningerne blev sendt til nummeroplysningsfirmaer, "
            "som offentliggjorde dem blandt andet på nettet."
        ),
        "unknown_because": {
            "affected_count": "leverancerne til nummeroplysningen siden migreringen sammenlignes",
            "root_cause": "leverandøren gennemgår migreringsprogrammets regel",
        },
    },
}

COMVIQ_LATER = {
    "sv": {
        "affected_count": 3300,
        "systems": ["kunddatabasen", "exporten till nummerupplysningen"],
        "location_and_media": "kunddatabasen i operatörens datacenter; dagliga exportfiler",
        "contributing_causes": ["ingen kontroll av statusflaggor efter migreringen"],
        "subscriber_effect": (
            "Hemliga nummer och adresser gick att hitta i nummerupplysning och på webben."
        ),
        "potential_consequences": (
            "Oönskade kontakter och allvarliga hot mot personer som har skäl att hålla sina "
            "uppgifter hemliga."
        ),
        "measures_taken": [
            {
                "what": "felet rättat så att uppgifterna inte längre skickas för publicering",
                "on": f"{YEAR}-02-24",
                "lasting": "temporary",
            },
            {
                "what": "nummerupplysningsföretagen ombedda att ta bort uppgifterna",
                "on": f"{YEAR}-02-24",
                "lasting": "temporary",
            },
        ],
        "measures_planned": [
            {
                "what": "migreringsreglerna granskas och testas mot flaggor för hemligt nummer",
                "on": f"{YEAR}-04-30",
                "lasting": "permanent",
            }
        ],
        "other_providers": (
            "Nummerupplysningsföretagen fick uppgifterna; ingen behandlade dem för vår räkning."
        ),
        "cross_border": "Inga användare i andra medlemsstater kända; ingen annan myndighet underrättad.",
        "unknown_because": {
            "root_cause": "leverantören granskar migreringsprogrammets regel",
            "subscriber_notice": "alla berörda kunder kontaktas; utfallet redovisas när det är klart",
        },
    },
    "da": {
        "affected_count": 3300,
        "systems": ["kundedatabasen", "leverancen til nummeroplysningen"],
        "location_and_media": "kundedatabasen i operatørens datacenter; daglige eksportfiler",
        "contributing_causes": ["ingen kontrol af statusflag efter migreringen"],
        "subscriber_effect": (
            "Hemmelige numre og adresser kunne findes i nummeroplysningen og på nettet."
        ),
        "potential_consequences": (
            "Uønsket kontakt og alvorlige trusler mod personer, der har grund til at holde "
            "deres oplysninger hemmelige."
        ),
        "measures_taken": [
            {
                "what": "fejlen rettet, så oplysningerne ikke længere sendes til offentliggørelse",
                "on": f"{YEAR}-02-24",
                "lasting": "temporary",
            },
            {
                "what": "nummeroplysningsfirmaerne bedt om at fjerne oplysningerne",
                "on": f"{YEAR}-02-24",
                "lasting": "temporary",
            },
        ],
        "measures_planned": [
            {
                "what": "migreringsreglerne gennemgås og testes mod flag for hemmeligt nummer",
                "on": f"{YEAR}-04-30",
                "lasting": "permanent",
            }
        ],
        "other_providers": (
            "Nummeroplysningsfirmaerne modtog oplysningerne; ingen behandlede dem på vores vegne."
        ),
        "cross_border": "Ingen brugere i andre medlemsstater kendt; ingen anden myndighed underrettet.",
        "unknown_because": {
            "root_cause": "leverandøren gennemgår migreringsprogrammets regel",
            "subscriber_notice": "alle berørte kunder kontaktes; resultatet oplyses, når det foreligger",
        },
    },
}

COMVIQ_ROOT_CAUSE = {
    "sv": {
        "root_cause": "technical_fault",
        "root_cause_detail": "migreringsprogrammet tolkade en saknad flagga som ”publicera”",
        "subscriber_notice": {
            "notified": True,
            "means": "telefon, därefter e-post till dem som inte nåddes",
            "notified_count": 3300,
        },
    },
    "da": {
        "root_cause": "technical_fault",
        "root_cause_detail": "migreringsprogrammet tolkede et manglende flag som »offentliggør«",
        "subscriber_notice": {
            "notified": True,
            "means": "telefon, derefter e-mail til dem, der ikke blev nået",
            "notified_count": 3300,
        },
    },
}

COMVIQ = Case(
    name="comviq",
    reference="COMVIQ-2030-007",
    title=by_language(
        sv="Hemliga nummer publicerade efter en migrering",
        da="Hemmelige numre offentliggjort efter en migrering",
    ),
    facts=lambda language: COMVIQ_FIRST[language],
    steps=(
        Step(
            "02-23 09:05",
            "discover",
            by_language(
                sv={
                    "by": "Kundtjänst, jour",
                    "how": "en kund frågade varför hens hemliga nummer syntes i nummerupplysningen",
                },
                da={
                    "by": "Kundeservice, vagt",
                    "how": "en kunde spurgte, hvorfor hans hemmelige nummer stod i nummeroplysningen",
                },
            ),
        ),
        Step("02-24 08:20", "approve", lambda _: {"by": "Karin Berg"}),
        Step("02-25 10:00", "record_facts", lambda language: COMVIQ_LATER[language]),
        Step(
            "02-26 14:00",
            "justify",
            by_language(
                sv={
                    "by": "Karin Berg",
                    "text": "Leverantörens analys av migreringsprogrammet är inte klar; "
                    "grundorsaken kan fastställas först när regeln som satte "
                    "publiceringsstatus har granskats.",
                },
                da={
                    "by": "Karin Berg",
                    "text": "Leverandørens analyse af migreringsprogrammet er ikke færdig; "
                    "årsagen kan først fastslås, når reglen, der satte status for "
                    "offentliggørelse, er gennemgået.",
                },
            ),
        ),
        Step("02-27 08:00", "portal_receipt", lambda _: {"by": "Karin Berg"}),
        Step("03-02 11:00", "record_facts", lambda language: COMVIQ_ROOT_CAUSE[language]),
        Step("03-02 11:30", "portal_receipt", lambda _: {"by": "Karin Berg"}),
    ),
    variants=(
        Variant(RegimeCode.PTS, "sv", "Europe/Stockholm", COMVIQ_OPERATOR),
        Variant(
            RegimeCode.DK,
            "da",
            "Europe/Copenhagen",
            {**COMVIQ_OPERATOR, "BREACHCLOCK_POLICY_OWNER_ROLE": "Incidentansvarlig"},
        ),
        Variant(fi.RECORD.code, "sv", "Europe/Stockholm", COMVIQ_OPERATOR),
    ),
    until="03-02 12:00",
)


# --- YouSee (seed 002) ---------------------------------------------------------------------

YOUSEE_OPERATOR = {
    "BREACHCLOCK_OPERATOR": "YouSee A/S",
    "BREACHCLOCK_OPERATOR_ORG_NUMBER": None,
    "BREACHCLOCK_CONTACT_POINT": "dpo@yousee.example, +45 00 00 00 00",
    "BREACHCLOCK_POLICY_OWNER": "Jens Poulsen",
    "BREACHCLOCK_POLICY_OWNER_ROLE": "Sikkerhedschef",
    "BREACHCLOCK_ZONE": "Europe/Copenhagen",
}

YOUSEE = Case(
    name="yousee",
    reference="YOUSEE-2030-118",
    title=lambda _: "Udeladte numre og adresser offentliggjort på 118.dk",
    facts=lambda _: {
        "occurred": {
            "at": "03-12 06:00",
            "how": "fra logfilerne fra flytningen mellem de to it-systemer",
        },
        "affected_scale": "omkring 10.000 fastnetkunder",
        "breach_types": ["disclosure"],
        "circumstances": (
            "Ved en intern flytning af kunder fra et it-system til et andet kom valget af "
            "udeladt nummer og/eller adresse ikke med; oplysningerne blev sendt til "
            "Nummeroplysningen og var frit tilgængelige på 118.dk."
        ),
        "services": ["fastnettelefoni"],
        "data_kinds": ["udeladte telefonnumre", "udeladte adresser"],
        "unknown_because": {
            "root_cause": "fejlen i flytningen undersøges",
        },
    },
    steps=(
        Step(
            "05-24 11:00",
            "discover",
            lambda _: {
                "by": "Kundeservice",
                "how": "den første kundehenvendelse, bekræftet ved en intern kontrol af data",
            },
        ),
        Step("05-25 10:00", "approve", lambda _: {"by": "Jens Poulsen"}),
        Step(
            "05-27 15:00",
            "record_facts",
            lambda _: {
                "affected_count": 10000,
                "systems": ["kundesystemet", "indberetningen til Nummeroplysningen"],
                "location_and_media": "kundesystemerne i udbyderens datacenter; databasen bag 118.dk",
                "root_cause": "technical_fault",
                "root_cause_detail": (
                    "flytningen mellem it-systemerne overførte ikke kundernes valg af udeladt "
                    "nummer og/eller adresse"
                ),
                "contributing_causes": [
                    "for få interne kontroller ved datamigreringer mellem it-systemer"
                ],
                "subscriber_effect": (
                    "Numre og adresser, som kunderne havde valgt at holde udeladt, kunne findes "
                    "af alle på 118.dk i op til 11 uger."
                ),
                "potential_consequences": (
                    "Uønsket kontakt; fare for personer, der har grund til at skjule deres "
                    "nummer eller adresse."
                ),
                "measures_taken": [
                    {
                        "what": "fejlen rettet, så valget af udeladt nummer og adresse igen "
                        "sendes med til Nummeroplysningen; de udeladte oplysninger bedt fjernet",
                        "on": f"{YEAR}-05-25",
                        "lasting": "temporary",
                    }
                ],
                "measures_planned": [
                    {
                        "what": "kontrol af, at oplysningerne ikke længere fremgår af de "
                        "nummerdatabaser, vi kender til",
                        "on": f"{YEAR}-05-29",
                    },
                    {
                        "what": "flere og bedre interne kontroller ved datamigreringer",
                        "on": f"{YEAR}-09-01",
                        "lasting": "permanent",
                    },
                    {
                        "what": (
                            "alle berørte kunder ringes op, når fjernelsen er bekræftet; efter "
                            "fire til fem forgæves forsøg sendes en e-mail; nyt nummer og en "
                            "måneds gratis abonnement tilbydes"
                        ),
                        "on": f"{YEAR}-06-06",
                    },
                ],
                "other_providers": (
                    "Nummeroplysningen og 118.dk modtog oplysningerne; ingen behandlede dem "
                    "på vores vegne."
                ),
                "cross_border": "Ingen brugere i andre lande kendt; ingen anden myndighed underrettet.",
                "unknown_because": {
                    "subscriber_notice": (
                        "kunderne ringes op, når det er bekræftet, at oplysningerne ikke "
                        "længere findes i de kendte nummerdatabaser"
                    ),
                },
            },
        ),
        Step(
            "05-27 16:00",
            "justify",
            lambda _: {
                "by": "Jens Poulsen",
                "text": "Kunderne underrettes først, når det er bekræftet, at oplysningerne ikke "
                "længere fremgår af de nummerdatabaser, vi kender til; Erhvervsstyrelsen har i "
                "dialogen lagt vægt på denne rækkefølge.",
            },
        ),
        Step("05-28 09:00", "portal_receipt", lambda _: {"by": "Jens Poulsen"}),
    ),
    variants=(Variant(RegimeCode.DK, "da", "Europe/Copenhagen", YOUSEE_OPERATOR),),
    until="05-28 12:00",
)


# --- Tre (seed 004) -------------------------------------------------------------------------

TRE_OPERATOR = {
    "BREACHCLOCK_OPERATOR": "Hi3G Access AB (Tre)",
    "BREACHCLOCK_OPERATOR_ORG_NUMBER": None,
    "BREACHCLOCK_CONTACT_POINT": "dpo@tre.example, +46 8 000 00 00",
    "BREACHCLOCK_POLICY_OWNER": "Anna Lind",
    "BREACHCLOCK_POLICY_OWNER_ROLE": "Säkerhetschef",
}
"""The people and the contact point are the scenario's (Tre's page, seed 004, gives
only its business customers' contact). No organisation number where the seeds give none."""

TRE_SMS = (
    "Ditt nummer fanns i en samtalslista hos ett företag vars växel hos oss utsattes för "
    "dataintrång 2-7 juli. Du behöver inte göra något."
)
"""The SMS callers got, as tests/tre.py words it."""

TRE = Case(
    name="tre",
    reference="TRE-2030-PBX",
    title=lambda _: "Intrång i växeltjänsten för företag",
    facts=lambda _: {
        "occurred": {
            "at": "07-02 00:00",
            "how": "växelns inloggningsloggar: första övertagna kontot den 2 juli",
        },
        "breach_types": ["disclosure"],
        "circumstances": (
            "Obehöriga tog över användarkonton i växeltjänsten för företag, kom över loggar "
            "med inkommande och utgående samtal och vidarekopplade kontonas nummer för "
            "bluffsamtal till utlandet."
        ),
        "services": ["växeltjänst för företag"],
        "suspected_malicious": True,  # accounts taken over for fraud, reported to the police
        "data_kinds": ["samtalsloggar: telefonnummer som ringt de drabbade företagen"],
        "measures_taken": [
            {
                "what": "åtkomsten till berörda användarkonton stängd och lösenorden för "
                "samtliga växelkunder återställda",
                "on": f"{YEAR}-07-07",
                "lasting": "temporary",
            },
            {"what": "händelsen polisanmäld", "on": f"{YEAR}-07-07"},
        ],
    },
    steps=(
        Step(
            "07-07 17:00",
            "discover",
            lambda _: {
                "by": "Växeldrift, jour",
                "how": "larm om ovanliga vidarekopplingar till utlandet",
            },
        ),
        Step("07-07 18:00", "security_report", lambda _: {"by": "Anna Lind"}),
        Step(
            "07-09 10:00",
            "record_facts",
            lambda _: {
                "affected_scale": "alla som ringde de drabbade företagen 2–7 juli",
                "systems": ["växeltjänsten för företag"],
                "location_and_media": "växelplattformen; samtalsloggar i användarkontona",
                "root_cause": "intentional",
                "root_cause_detail": "dataintrång i användarkonton i växeltjänsten",
                "subscriber_effect": (
                    "Den som ringde ett drabbat företag kan ha fått sitt telefonnummer och "
                    "vilket nummer hen ringde sett av obehöriga."
                ),
                "potential_consequences": (
                    "Bedömt som liten: intrånget gällde bluffsamtal, inte personuppgifter, och "
                    "loggarna visar inte vem ett nummer tillhör."
                ),
                "measures_planned": [
                    {
                        "what": "ändrad lösenordspolicy och starkare inloggning i växeltjänsten",
                        "on": f"{YEAR}-08-31",
                        "lasting": "permanent",
                    }
                ],
                "other_providers": "Inga andra tjänsteleverantörer inblandade.",
                "cross_border": (
                    "Samtal vidarekopplades till utlandet; inga användare i andra "
                    "medlemsstater kända."
                ),
                "subscriber_notice": {
                    "notified": True,
                    "means": "sms till alla nummer i samtalsloggarna",
                    "ordered_by": "Post- och telestyrelsen (PTS)",
                    "copy_text": TRE_SMS,
                },
            },
        ),
        Step("07-09 11:00", "approve", lambda _: {"by": "Anna Lind"}),
    ),
    variants=(
        Variant(
            RegimeCode.PTS,
            "sv",
            "Europe/Stockholm",
            {**TRE_OPERATOR, "BREACHCLOCK_NIS2_LANGUAGE": "sv"},
        ),
    ),
    until="07-10 19:00",
)

CASES: tuple[Case, ...] = (COMVIQ, YOUSEE, TRE)
"""In the order they happen: one server's clock runs through them all."""
