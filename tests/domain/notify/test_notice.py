"""The notice to each subscriber: language, their own items, reference, escaping, their clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from breachclock.app.demo import affected, comviq_notice
from breachclock.domain.catalogue import Voice
from breachclock.domain.notify.notice import (
    IncidentNotice,
    NoticeError,
    Operator,
    check_languages,
    missing_labels,
    render_notice,
    spoken_notice,
)
from breachclock.domain.notify.subscribers import Subscriber
from tests.problems import said

OPERATOR = Operator(name="Telco AB", phone="+46 771 00 00 00", email="dataskydd@telco.example")


def incident(**changes: Any) -> IncidentNotice:
    base: dict[str, Any] = {
        "reference": "INC-2025-042",
        "access_from": "2025-06-01T10:00Z",
        "access_until": "2025-06-03T08:30Z",
        "what_happened": {
            "sv": "Ett fel i en migrering gjorde hemliga nummer synliga i nummerupplysningen.",
            "en": "A migration error made secret numbers visible in directory enquiries.",
            "da": "En fejl ved en migrering gjorde hemmelige numre synlige i nummeroplysningen.",
        },
        "consequences": {
            "sv": "Den som söker på ditt namn kan ha sett ditt nummer.",
            "en": "Anyone searching for your name may have seen your number.",
            "da": "Den, der søgte på dit navn, kan have set dit nummer.",
        },
        "measures_taken": [
            {
                "what": {
                    "sv": "Vi har tagit bort uppgifterna.",
                    "en": "We have removed the data.",
                    "da": "Vi har fjernet oplysningerne.",
                },
                "on": "2025-06-03",
            }
        ],
        "measures_planned": [
            {
                "what": {
                    "sv": "Vi kontrollerar alla flaggor.",
                    "en": "We are checking every flag.",
                    "da": "Vi kontrollerer alle markeringer.",
                },
                "on": "2025-06-30",
            }
        ],
    }
    return IncidentNotice.model_validate({**base, **changes})


def person(**changes: Any) -> Subscriber:
    base: dict[str, Any] = {
        "id": "c1",
        "name": "Anna",
        "phone": "0701234567",
        "affected_items": ["hemligt nummer", "gatuadress"],
    }
    return Subscriber.model_validate({**base, **changes})


@pytest.mark.parametrize(
    ("language", "subject_words", "body_words"),
    [
        ("sv", "integritetsincident", "Vad har hänt?"),
        ("en", "privacy incident", "What happened?"),
        ("da", "brud på persondatasikkerheden", "Hvad er der sket?"),
    ],
)
def test_language_chosen_by_subscriber(language: str, subject_words: str, body_words: str) -> None:
    notice = render_notice(incident(), person(language=language), OPERATOR)
    assert notice.language == language
    assert subject_words in notice.subject
    assert body_words.upper() in notice.text
    assert body_words in notice.html
    assert f'<html lang="{language}">' in notice.html


SPOKEN = {
    "sv": [
        "Jag ringer om en integritetsincident hos Telco AB",
        "Ett fel i en migrering gjorde hemliga nummer synliga i nummerupplysningen.",
        "Det pågick från den 1 juni 2025 klockan 12.00 till den 3 juni 2025 klockan 10.30.",
        "Det gäller de här uppgifterna om dig: hemligt nummer och gatuadress.",
        "Vad det betyder för dig: Den som söker på ditt namn kan ha sett ditt nummer.",
        "Det här har vi gjort: Vi har tagit bort uppgifterna. Det var klart den 3 juni 2025.",
        "Det här kommer vi att göra: Vi kontrollerar alla flaggor.",
        "Det finns tyvärr inget du själv kan göra",
        "kan du ringa oss på +46 771 00 00 00 eller mejla oss på dataskydd@telco.example.",
        "Ärendenumret är INC-2025-042. Jag läser det tecken för tecken: I N C, 2 0 2 5, 0 4 2.",
    ],
    "en": [
        "I am calling about a privacy incident at Telco AB that involves your data.",
        "It went on from 1 June 2025 at 12:00 until 3 June 2025 at 10:30.",
        "It involves this data about you: hemligt nummer and gatuadress.",
        "What we will do: We are checking every flag. That will be done by 30 June 2025.",
        "you can call us on +46 771 00 00 00 or e-mail us at dataskydd@telco.example.",
        "The reference number is INC-2025-042. I will read it character by character: I N C,",
    ],
    "da": [
        "Jeg ringer om et brud på persondatasikkerheden hos Telco AB",
        "Det stod på fra den 1. juni 2025 klokken 12.00 til den 3. juni 2025 klokken 10.30.",
        "Det drejer sig om disse oplysninger om dig: hemligt nummer og gatuadress.",
        "Sagsnummeret er INC-2025-042. Jeg læser det tegn for tegn: I N C, 2 0 2 5, 0 4 2.",
    ],
}


@pytest.mark.parametrize("language", ["sv", "en", "da"])
def test_a_call_has_a_script_for_speaking(language: str) -> None:
    someone = person(language=language)
    spoken_language, script = spoken_notice(incident(), someone, OPERATOR)
    written = render_notice(incident(), someone, OPERATOR)
    assert spoken_language == written.language == language
    assert script != written.text
    for words in SPOKEN[language]:
        assert words in script, words
    for written_only in (
        "E-post:",
        "E-mail:",
        "Telefon:",
        "Med vänliga hälsningar",
        "Kind regards",
    ):
        assert written_only not in script
    assert not [line for line in script.splitlines() if line.isupper()], "no headings"
    assert script.rstrip().endswith("?"), "it ends by asking, not with a signature"
    assert "\n\n\n" not in script


def test_the_script_follows_the_regime_the_person_and_what_is_known() -> None:
    language, script = spoken_notice(incident(regime="dk"), person(), OPERATOR)
    assert language == "da" and "Sagsnummeret" in script
    user = spoken_notice(incident(), person(role="user", subscriber_id="company-1"), OPERATOR)[1]
    assert "som användare av ett abonnemang hos oss" in user
    short = incident(
        access_until=None,
        time_estimated=True,
        measures_planned=[],
        recommendations={"en": "Ask us for a new number."},
    )
    script = spoken_notice(short, person(language="en", time_zone="America/New_York"), OPERATOR)[1]
    assert "It began on 1 June 2025 at 06:00. The time is an estimate." in script
    assert "What we will do" not in script
    assert "What you can do: Ask us for a new number." in script
    web_only = Operator(name="Telco AB", web="telco.example/incident")
    assert (
        "read more at telco.example/incident."
        in spoken_notice(incident(), person(language="en"), web_only)[1]
    )


def test_default_language_follows_the_regime() -> None:
    assert render_notice(incident(), person(), OPERATOR).language == "sv"
    assert render_notice(incident(regime="dk"), person(), OPERATOR).language == "da"


def test_own_items_reference_and_contact_appear() -> None:
    notice = render_notice(incident(), person(language="sv"), OPERATOR)
    for body in (notice.text, notice.html):
        assert "hemligt nummer" in body
        assert "gatuadress" in body
        assert "INC-2025-042" in body
        assert "+46 771 00 00 00" in body
        assert "dataskydd@telco.example" in body
    assert "INC-2025-042" in notice.subject
    other = render_notice(incident(), person(id="c2", affected_items=["faktura"]), OPERATOR)
    assert "faktura" in other.text and "hemligt nummer" not in other.text


def test_item_labels_translate_crm_names() -> None:
    notice = render_notice(
        incident(item_labels={"SECRET_NUMBER": {"en": "your secret number"}}),
        person(language="en", affected_items=["secret_number", "address"]),
        OPERATOR,
    )
    assert "- your secret number" in notice.text
    assert "- address" in notice.text


def test_html_escapes_operator_text() -> None:
    evil = {"sv": "Något hände <script>alert('x')</script> & mer."}
    notice = render_notice(
        incident(what_happened=evil), person(affected_items=["<b>nummer</b>"]), OPERATOR
    )
    assert "<script>" not in notice.html
    assert "&lt;script&gt;" in notice.html
    assert "&lt;b&gt;nummer&lt;/b&gt;" in notice.html
    assert "<script>alert" in notice.text  # plain text is not HTML


def test_time_shown_in_the_subscribers_own_zone() -> None:
    stockholm = render_notice(incident(), person(language="sv"), OPERATOR)
    assert "från 1 juni 2025 kl. 12:00 (CEST) till 3 juni 2025 kl. 10:30 (CEST)" in stockholm.text
    new_york = render_notice(
        incident(), person(language="en", time_zone="America/New_York"), OPERATOR
    )
    assert "from 1 June 2025 at 06:00 (EDT) until 3 June 2025 at 04:30 (EDT)" in new_york.text
    copenhagen = render_notice(
        incident(access_until=None, time_estimated=True),
        person(language="da", time_zone="Asia/Kolkata"),
        OPERATOR,
    )
    assert "fra 1. juni 2025 kl. 15.30 (IST). Tidspunktet er anslået." in copenhagen.text


def test_winter_time_shown_as_cet() -> None:
    notice = render_notice(
        incident(access_from="2024-11-25T09:00Z", access_until=None), person(), OPERATOR
    )
    assert "25 november 2024 kl. 10:00 (CET)" in notice.text


def test_no_recommendations_says_plainly_nothing_can_be_done() -> None:
    text = {
        "sv": "Det finns tyvärr inget du själv kan göra",
        "en": "there is nothing you can do yourself",
        "da": "Der er desværre ikke noget, du selv kan gøre",
    }
    for language, words in text.items():
        assert words in render_notice(incident(), person(language=language), OPERATOR).text
    advised = render_notice(
        incident(recommendations={"sv": "Kontakta oss om du vill byta nummer."}), person(), OPERATOR
    )
    assert "Kontakta oss om du vill byta nummer." in advised.text
    assert "inget du själv kan göra" not in advised.text


def test_measures_with_dates() -> None:
    notice = render_notice(incident(), person(language="da"), OPERATOR)
    assert "Vi har fjernet oplysningerne. (gennemført 3. juni 2025)" in notice.text
    assert "Vi kontrollerer alle markeringer. (senest 30. juni 2025)" in notice.text


def test_user_of_a_company_subscription_is_addressed_as_user() -> None:
    notice = render_notice(
        incident(), person(role="user", subscriber_id="company-1", language="en"), OPERATOR
    )
    assert "you use a subscription" in notice.text


def test_missing_language_refused_and_checked_beforehand() -> None:
    only_swedish = incident(
        what_happened={"sv": "Något hände."},
        consequences={"sv": "Det betyder något."},
        measures_taken=[{"what": {"sv": "Vi åtgärdade det."}}],
        measures_planned=[],
    )
    with pytest.raises(NoticeError, match="no Danish text for: what_happened"):
        render_notice(only_swedish, person(language="da"), OPERATOR)
    problems = check_languages(only_swedish, [person(), person(id="c2", language="en")])
    assert [said(p) for p in problems] == [
        (
            "notice.missing_passages",
            "consequences",
            {"language": "en", "passages": ["consequences", "measures_taken", "what_happened"]},
        )
    ]
    assert problems[0].words(Voice("sv")) == (
        "ingen text på engelska för: konsekvenserna, vidtagna åtgärder och vad som har hänt"
    )
    assert check_languages(incident(), [person(language="da")]) == []


def test_operator_needs_a_contact_and_period_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="at least one contact"):  # the English, for logs
        Operator(name="Telco AB")
    with pytest.raises(ValidationError, match="before its start"):
        incident(access_until="2025-05-01T00:00Z")
    with pytest.raises(ValidationError):
        incident(access_from="2025-06-01 10:00")  # no zone: no single instant


def test_every_item_is_shown_by_its_label_in_the_persons_language() -> None:
    labels = {
        "hemligt nummer": {"sv": "hemligt nummer", "en": "secret number", "da": "hemmeligt nummer"},
        " Gatuadress ": {"sv": "gatuadress", "en": "street address", "da": "gadeadresse"},
    }
    for language, shown in (("en", "secret number"), ("da", "hemmeligt nummer")):
        notice = render_notice(incident(item_labels=labels), person(language=language), OPERATOR)
        assert f"- {shown}" in notice.text and "hemligt" not in notice.text
    tolerant = render_notice(incident(), person(language="en"), OPERATOR)
    assert "- hemligt nummer" in tolerant.text, "no label: the CRM's name, not a failure"


def test_missing_labels_lists_each_language_and_item_without_one() -> None:
    notice = incident(
        item_labels={
            "secret_number": {"sv": "hemligt nummer", "en": "secret number"},
            "Address": {"sv": "adress"},
        }
    )
    items = ["SECRET_NUMBER", "address", "invoice", "address "]
    assert [said(p) for p in missing_labels(notice, items, ["en", None, "en"])] == [
        (
            "notice.missing_labels",
            "item_labels",
            {"language": "en", "items": ["address", "invoice"], "more": 0},
        ),
        (
            "notice.missing_labels",
            "item_labels",
            {"language": "sv", "items": ["invoice"], "more": 0},
        ),
    ]
    assert missing_labels(notice, ["secret_number"], ["sv", "en"]) == []
    assert missing_labels(notice, [], ["da"]) == []
    (danish,) = missing_labels(incident(regime="dk"), ["x"], [None])
    assert said(danish) == (
        "notice.missing_labels",
        "item_labels",
        {"language": "da", "items": ["x"], "more": 0},
    )
    (many,) = missing_labels(notice, [f"item {n:02d}" for n in range(25)], ["sv"])
    assert many.params["items"][-1] == "item 19" and many.params["more"] == 5


def test_the_demo_notice_speaks_english_to_english_customers() -> None:
    customers = affected(10)
    english = next(c for c in customers if c.language == "en")
    notice = comviq_notice("INC-2025-042", datetime(2024, 11, 25, tzinfo=UTC))
    text = render_notice(notice, english, OPERATOR).text
    assert "- secret number" in text and "hemligt" not in text
    languages = [c.language for c in customers]
    items = [i for c in customers for i in c.affected_items]
    assert missing_labels(notice, items, languages) == []
