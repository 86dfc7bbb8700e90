"""The SMS text: its alphabet, its parts, its words, and what approval refuses."""

from __future__ import annotations

from breachclock.domain.notify.sms import (
    MAX_PARTS,
    Coding,
    SmsNotice,
    check,
    coding_of,
    render,
    size,
)
from tests.problems import said
from tests.tre import NOTICE, SMS, TRE


def test_nordic_letters_are_gsm_and_emoji_or_other_scripts_are_not() -> None:
    assert coding_of("Hej Åsa, æøå ÄÖ é ü") is Coding.GSM
    assert coding_of("Hej 👋") is Coding.UCS2
    assert coding_of("Łukasz") is Coding.UCS2  # a name outside the alphabet
    assert coding_of("Ş") is Coding.UCS2


def test_one_message_holds_160_septets_or_70_units_and_parts_153_or_67() -> None:
    assert size("a" * 160) == size("a" * 160).__class__(Coding.GSM, 160, 1)
    assert size("a" * 161).parts == 2
    assert size("a" * 306).parts == 2
    assert size("a" * 307).parts == 3
    assert size("å" * 70).parts == 1 and size("ł" * 70).coding is Coding.UCS2
    assert size("ł" * 71).parts == 2
    assert size("ł" * 134).parts == 2 and size("ł" * 135).parts == 3


def test_extension_characters_and_emoji_take_two_units_and_never_straddle_parts() -> None:
    assert size("€" * 80).units == 160 and size("€" * 80).parts == 1
    assert size("€" * 81).parts == 2
    # 152 septets, then an escape pair that would straddle: it opens a new part
    # (306 units, which would fill two parts exactly, take three).
    assert size("a" * 152 + "€" + "a" * 8).parts == 2
    assert size("a" * 152 + "€" + "a" * 152).parts == 3
    assert size("👋" * 35).units == 70 and size("👋" * 35).parts == 1
    assert size("ł" * 66 + "👋" + "ł" * 66).parts == 3  # 134 units, a pair kept whole


def test_tre_s_sms_fits_two_gsm_parts_in_every_language_and_says_who_and_how_to_reach() -> None:
    for language in ("sv", "da", "en"):
        text = render(SMS, NOTICE, TRE, language)
        measured = size(text)
        assert measured.coding is Coding.GSM, language
        assert measured.parts <= MAX_PARTS
        assert text.startswith(("Från Tre:", "Fra Tre:", "From Tre:"))
        assert "+46 735 300 407" in text and NOTICE.reference in text
        assert "http" not in text
    assert check(SMS, NOTICE, TRE, ["sv", "da", "en"]) == []


def test_approval_refuses_a_text_longer_than_two_parts_with_its_count() -> None:
    long = SMS.model_copy(
        update={"summary": {**SMS.summary, "sv": "Vi har haft ett intrång. " * 12}}
    )
    found = check(long, NOTICE, TRE, ["sv", "en"])
    assert [p.code for p in found] == ["sms.too_long"]
    _code, field, params = said(found[0]) or ("", None, {})
    assert field == "sms.summary.sv" and params["language"] == "sv"
    assert params["parts"] == size(render(long, NOTICE, TRE, "sv")).parts > MAX_PARTS
    assert params["coding"] == "gsm" and params["limit"] == 306


def test_an_emoji_makes_it_ucs2_and_so_longer_in_parts() -> None:
    with_emoji = SMS.model_copy(
        update={"summary": {**SMS.summary, "en": SMS.summary["en"] + " 🙂"}}
    )
    assert size(render(with_emoji, NOTICE, TRE, "en")).coding is Coding.UCS2
    assert [p.code for p in check(with_emoji, NOTICE, TRE, ["en"])] == ["sms.too_long"]


def test_a_link_only_when_the_operator_turns_it_on_and_a_missing_language_is_refused() -> None:
    linked = SMS.model_copy(update={"summary": {"sv": "Läs mer på https://tre.se/info"}})
    assert [(p.code, p.field) for p in check(linked, NOTICE, TRE, ["sv", "da"])] == [
        ("sms.summary_missing", "sms.summary.da"),
        ("sms.link_not_allowed", "sms.summary.sv"),
    ]
    turned_on = SmsNotice(sender="Tre", summary={"sv": "Intrång 2-7 juli."}, link="tre.se/info")
    assert render(turned_on, NOTICE, TRE, "sv").endswith("Läs mer: tre.se/info")
