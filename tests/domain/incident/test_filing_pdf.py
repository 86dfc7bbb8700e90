"""The PDF of a filing: read back with pypdf, as a regulator's software would.

Every section heading, the cover, the late reason, the "unknown because" texts, the
notice copy, the signature block and the page count; the same bytes twice; and
whatever Unicode a person may type (emoji, CJK, RTL, control characters, a
20,000-character word) rendering as a valid file, with a visible stand-in for what
the font cannot draw.
"""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import UTC

import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from breachclock.domain.incident.model import EntryKind, TimelineEntry
from breachclock.domain.incident.pdf import (
    MISSING_GLYPH,
    _glyphs,
    _markup_each,
    markup,
    render_pdf,
)
from breachclock.domain.incident.report import ReportDraft, document
from tests.filing_cases import CASES, COMVIQ, NO_NOTICE, YOUSEE, variant


def read(pdf: bytes) -> pypdf.PdfReader:
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    return pypdf.PdfReader(io.BytesIO(pdf), strict=True)


def flat(text: str) -> str:
    """Extracted text with line breaks and runs of spaces made one space (lines wrap)."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def pages_text(pdf: bytes) -> list[str]:
    return [flat(page.extract_text()) for page in read(pdf).pages]


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_section_and_field_of_the_form_is_in_the_pdf(case: str) -> None:
    draft = CASES[case]
    doc = document(draft)
    pages = pages_text(render_pdf(draft))
    text = " ".join(pages)
    for section in doc.sections:
        assert flat(f"{section.number}. {section.heading}") in text
        for item in section.items:
            assert flat(item.label) in text
    for label, value in doc.signature.lines:
        assert label in text and flat(value) in text
    assert flat(doc.signature.heading) in text


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_cover_names_reference_number_kind_regulator_and_status(case: str) -> None:
    draft = CASES[case]
    doc = document(draft)
    cover = pages_text(render_pdf(draft))[0]
    assert flat(doc.title) in cover
    for entry in doc.cover:
        assert flat(entry.label) in cover and flat(entry.value) in cover
    for alert in doc.alerts:
        assert flat(alert.heading) in cover
    assert doc.sections[0].heading not in cover, "the form starts on the next page"


def test_the_cover_says_under_which_law_when_late_and_why_and_who_answers() -> None:
    """What a case officer looks at first, on page 1: the law, the stage, when sent, late
    or not and why in words, the accountable person (Swedish and Danish)."""
    reason = "e-postservern tog inte emot rapporten förrän efter tidsfristen " * 3
    swedish = pages_text(render_pdf(variant(COMVIQ, late_reason=reason)))[0]
    assert "Regelverk lagen (2022:482) om elektronisk kommunikation" in swedish
    assert flat(f"Skäl till förseningen {reason}") in swedish
    assert "Avser kompletterande rapport" in swedish and "Skickad 2026-02-27 kl. 08:50" in swedish
    assert "Ansvarig för rapporten Karin Berg, Incidentansvarig" in swedish
    danish = pages_text(render_pdf(YOUSEE))[0]
    assert "Regelgrundlag Kommissionens forordning (EU) nr. 611/2013" in danish
    assert flat(f"Årsag til forsinkelsen {YOUSEE.late_reason}") in danish
    assert "Ansvarlig for anmeldelsen Mette Holm" in danish
    on_time = pages_text(render_pdf(COMVIQ))[0]
    assert "Skäl till förseningen" not in on_time and "lämnad i tid" in on_time
    long = pages_text(render_pdf(variant(COMVIQ, late_reason="ord " * 2_000)))
    assert "hela texten följer på nästa sida" in long[0] and "Sida 1 av" in long[0]


def test_pages_are_counted_on_every_page() -> None:
    pages = pages_text(render_pdf(COMVIQ))
    assert len(pages) == 4
    for number, text in enumerate(pages, start=1):
        assert f"Sida {number} av 4" in text
        assert "COMVIQ-2026-007 · rapport nr 2" in text
    danish = pages_text(render_pdf(YOUSEE))  # its tally names letters, not reached, pending
    assert len(danish) == 5 and "Side 5 af 5" in danish[-1]


def test_the_late_reason_the_unknown_facts_and_the_notice_copy_are_in_the_pdf() -> None:
    text = " ".join(pages_text(render_pdf(YOUSEE)))
    assert "ANMELDELSEN INDSENDES FOR SENT" in text
    assert flat(f"Årsag til forsinkelsen: {YOUSEE.late_reason}") in text
    assert (
        "ukendt, fordi det undersøges, om Nummeroplysningen har videregivet oplysningerne" in text
    )
    notice = YOUSEE.facts.subscriber_notice
    assert notice is not None and notice.copy_text
    for line in notice.copy_text.splitlines():
        assert flat(line) in text
    swedish = " ".join(pages_text(render_pdf(COMVIQ)))
    assert (
        "okänt, eftersom leverantören granskar fortfarande migreringsprogrammets regel" in swedish
    )
    assert flat(COMVIQ.justification or "") in swedish
    assert "Välgrundad motivering till att uppgifter saknas" in swedish


def test_the_timeline_is_a_table_of_the_incidents_steps() -> None:
    text = " ".join(pages_text(render_pdf(COMVIQ)))
    assert "Tidpunkt Händelse Av Fastställt genom" in text
    assert "2025-11-25 kl. 02:00 CET migreringen av kunder med kontantkort kördes" in text
    assert "filing no. 1" not in text


def test_a_no_notice_pdf_names_the_ground() -> None:
    text = " ".join(pages_text(render_pdf(variant(COMVIQ, facts=NO_NOTICE))))
    assert "Grund för undantag från underrättelse" in text
    assert "oläsbara för obehöriga" in text
    assert "Numren var krypterade med AES-256" in text


def test_the_same_draft_gives_the_same_bytes_dated_when_it_was_sent() -> None:
    first, again = render_pdf(COMVIQ), render_pdf(COMVIQ)
    assert first == again
    info = read(first).metadata
    assert info is not None
    sent = COMVIQ.drafted_at.astimezone(UTC)
    assert info["/CreationDate"] == f"D:{sent:%Y%m%d%H%M%S}+00'00'"
    assert info.title and "COMVIQ-2026-007" in info.title


# --- any text a person may type -------------------------------------------------------------

ODD = (
    "emoji 😀👩‍👩‍👧 flag 🇸🇪 CJK 漢字かな 한국어 RTL עברית العربية \u202eevil\u202c "
    "ctrl \x00\x01\x07\x08\x1b\x7f\x85 zw\u200b\ufeff comb e\u0301 å <b>&amp;</b> "
    "ĸ ő Ω ẞ \U0010ffff end"
)


def with_text(draft: ReportDraft, text: str, long: str) -> ReportDraft:
    """Every place a person's text reaches, filled with ``text`` (``long`` where long fits)."""
    at = draft.drafted_at
    steps = [
        TimelineEntry(
            at=at,
            what=long,
            by=text[:200],
            how_established=long,
            recorded_at=at,
            kind=EntryKind.INCIDENT,
        )
    ]
    return variant(
        draft,
        title=text[:300],
        justification=long,
        late_reason=long,
        contact_point=text[:300],
        facts={
            "circumstances": long,
            "services": [text[:200]] * 3,
            "contributing_causes": [long],
            "measures_taken": [{"what": long}],
            "unknown_because": {"root_cause": long},
            "root_cause": None,
            "subscriber_notice": {"notified": True, "copy_text": long, "means": text},
        },
        timeline=steps,
    )


def test_filings_are_laid_out_with_reportlabs_c_helpers() -> None:
    """Without them reportlab falls back to Python for every number and string width it
    writes: the same bytes, more CPU per filing (``pyproject.toml``: ``reportlab[accel]``)."""
    from reportlab.lib import rl_accel

    assert {"fp_str", "instanceStringWidthTTF", "escapePDF"} <= set(rl_accel._c_funcs)


def test_odd_unicode_renders_with_a_visible_stand_in() -> None:
    pdf = render_pdf(with_text(COMVIQ, ODD, ODD * 3))
    text = " ".join(pages_text(pdf))
    assert MISSING_GLYPH in text, "what the font cannot draw shows as ◊, not as nothing"
    assert "<b>&amp;</b>" in text, "markup a person types is printed, not obeyed"
    assert "evil" in text and "end" in text
    assert "\x00" not in text


def test_markup_replaces_what_the_font_lacks_and_drops_invisible_hints() -> None:
    assert markup("a\u200bb") == "ab"
    assert markup("<x> & y\nz") == "&lt;x&gt; &amp; y<br/>z"
    assert markup("😀\x00å") == MISSING_GLYPH * 2 + "å"
    assert markup("e\u0301") == "é", "composed first, so a decomposed letter is kept"
    assert markup("a\tb") == "a" + "\u00a0" * 4 + "b"


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec=None, exclude_categories=["Cs"]), max_size=60))
def test_markup_of_a_plain_text_in_one_pass_is_its_markup_char_by_char(text: str) -> None:
    """The one-pass way (most texts) and the way for texts with something to drop or
    stand in for agree on every text."""
    composed = unicodedata.normalize("NFC", text)
    assert markup(text) == _markup_each(composed, _glyphs())


def test_huge_texts_run_across_pages_and_long_cells_continue_below() -> None:
    word = "ordutanslut" * 1820  # one 20,020-character word
    lines = "\n".join(f"rad {n}" for n in range(2000))
    draft = with_text(COMVIQ, "x" * 300, word[:20_000])
    draft = variant(
        draft,
        facts={"circumstances": lines, "unknown_because": {"root_cause": (ODD * 200)[:20_000]}},
    )
    reader = read(render_pdf(draft))
    assert len(reader.pages) > 20
    last = flat(reader.pages[-1].extract_text())
    assert re.search(rf"Sida {len(reader.pages)} av {len(reader.pages)}", last)
    assert "Namnteckning" in last, "the signature block closes the filing"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(st.characters(codec=None, exclude_categories=["Cs"]), min_size=1, max_size=300),
    repeat=st.integers(min_value=1, max_value=40),
)
def test_any_text_gives_a_valid_pdf(text: str, repeat: int) -> None:
    draft = with_text(YOUSEE, text, (text * repeat)[:20_000])
    reader = read(render_pdf(draft))
    assert len(reader.pages) >= 3
    assert "YOUSEE-2018-118" in flat(reader.pages[0].extract_text())


def test_a_lone_surrogate_in_a_draft_does_not_break_the_file() -> None:
    """Drafts are validated, but one built by hand (a test, the console) might not be."""
    draft = COMVIQ.model_copy(update={"title": "a\ud800b", "late_reason": "\udfff"})
    text = " ".join(pages_text(render_pdf(draft)))
    assert f"a{MISSING_GLYPH}b" in text
