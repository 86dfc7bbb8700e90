"""The filing as a PDF: the same ``Document`` as the e-mail's text, laid out on A4.

A cover (reference, filing number, kind, regulator, whether it is late or carries a
justification), then every field in the form's order, the timeline as a table, the
copy of the notice, and a signature block. Pure: ``render_pdf(draft)`` gives bytes,
the same bytes for the same draft (the creation date is the draft's sending time).

The font is Bitstream Vera, which ships inside reportlab (read once, on first use),
and covers Swedish, Danish and the rest of Latin-1. Whatever a person typed that it
cannot show (emoji, CJK, right-to-left scripts, control characters) is printed as a
◊, one per character, so nothing is silently lost and nothing breaks the file.
Long words are split at the margin; a long text runs across pages, and a long cell
of a table continues in the rows below it.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import reportlab
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from breachclock.domain.incident.report import Alert, Document, Entry, ReportDraft, document
from breachclock.domain.incident.report import Table as FormTable

FONT = "BreachclockVera"
BOLD = "BreachclockVera-Bold"
MISSING_GLYPH = "\u25ca"
"""◊, in the font: what stands in for a character the font has no glyph for."""
INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")
"""Hints with no glyph of their own (soft hyphen, zero-width spaces and joiners): dropped."""
PARAGRAPH_LINES = 30
CELL_CHARS = 700
CELL_LINES = 12
"""A table cell holds at most this much; the rest continues in the rows below (a row
cannot break across pages, so a 20,000-character step would not fit on one)."""

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#555555")
RULE = colors.HexColor("#b0b0b0")
ALERT = colors.HexColor("#a40019")
SHADE = colors.HexColor("#f1f1f1")
UNKNOWN = colors.HexColor("#8a4b00")
"""A fact not known yet, and why: set apart from what is known."""

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 20 * mm
WIDTH = PAGE_WIDTH - 2 * MARGIN


@cache
def _glyphs() -> frozenset[int]:
    """Register the fonts (once) and answer the code points they can draw."""
    folder = Path(reportlab.__file__).parent / "fonts"
    regular = TTFont(FONT, str(folder / "Vera.ttf"))
    pdfmetrics.registerFont(regular)
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "VeraBd.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
    face: Any = regular.face
    return frozenset(face.charToGlyph)


ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\n": "<br/>", "\t": "\u00a0" * 4})
"""What markup writes for the characters it does not print as they are."""


def _drawable(char: str, glyphs: frozenset[int]) -> bool:
    return ord(char) in glyphs and not unicodedata.category(char).startswith("C")


def _printed(char: str, glyphs: frozenset[int]) -> bool:
    """Whether markup prints ``char`` (as itself or as its escape)."""
    return char in "\n\t" or _drawable(char, glyphs)


def markup(text: str) -> str:
    """Text as reportlab paragraph markup: escaped, line breaks kept, every character the
    font cannot draw replaced by a visible ◊ (plain: a colour tag per run costs 7× the time).

    Almost every text has nothing to drop or stand in for: each distinct character is
    looked at once, and the text is translated in one call. Character by character in
    Python, this was several per cent of a filing's layout, which an approval waits for."""
    glyphs = _glyphs()
    text = unicodedata.normalize("NFC", text)
    if all(_printed(char, glyphs) for char in set(text)):
        return text.translate(ESCAPES)
    return _markup_each(text, glyphs)


def _markup_each(text: str, glyphs: frozenset[int]) -> str:
    """``markup`` of a text with characters to drop or stand in for, one by one."""
    out: list[str] = []
    missing = 0

    def flush() -> None:
        nonlocal missing
        if missing:
            out.append(MISSING_GLYPH * missing)
            missing = 0

    for char in text:
        if char in INVISIBLE:
            continue
        if _printed(char, glyphs):
            flush()
            out.append(char.translate(ESCAPES))
        else:
            missing += 1
    flush()
    return "".join(out)


def plain(text: str) -> str:
    """Text for the file's metadata: printable characters only."""
    return "".join(c for c in text if not unicodedata.category(c).startswith("C"))[:500]


def chunks(text: str) -> list[str]:
    """``text`` cut into pieces a table cell can hold, at whitespace where there is some."""
    pieces: list[str] = []
    rest = text
    while len(rest) > CELL_CHARS or rest.count("\n") >= CELL_LINES:
        cut = min(len(rest), CELL_CHARS)
        lines = rest[:cut].split("\n")
        if len(lines) > CELL_LINES:
            cut = sum(len(line) + 1 for line in lines[:CELL_LINES])
        space = max(rest.rfind(" ", 0, cut), rest.rfind("\n", 0, cut))
        if space > cut // 2:
            cut = space + 1
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


class _Styles:
    def __init__(self) -> None:
        _glyphs()
        base = ParagraphStyle(
            "body",
            fontName=FONT,
            fontSize=9.5,
            leading=12.5,
            textColor=INK,
            alignment=TA_LEFT,
            splitLongWords=True,
        )
        self.body = base
        self.bullet = ParagraphStyle("bullet", base, leftIndent=11, bulletIndent=2)
        self.unknown = ParagraphStyle("unknown", base, textColor=UNKNOWN)
        self.small = ParagraphStyle("small", base, fontSize=8.5, leading=11)
        self.label = ParagraphStyle(
            "label",
            base,
            fontName=BOLD,
            fontSize=8.5,
            leading=11,
            textColor=MUTED,
            spaceBefore=5,
            keepWithNext=True,
        )
        self.cell_head = ParagraphStyle("cellhead", self.small, fontName=BOLD)
        self.title = ParagraphStyle("title", base, fontName=BOLD, fontSize=20, leading=25)
        self.subtitle = ParagraphStyle("subtitle", base, fontSize=12.5, leading=16)
        self.heading = ParagraphStyle(
            "heading",
            base,
            fontName=BOLD,
            fontSize=12,
            leading=15,
            spaceBefore=12,
            spaceAfter=2,
            keepWithNext=True,
        )
        self.alert_head = ParagraphStyle(
            "alerthead", self.heading, textColor=ALERT, spaceBefore=0, keepWithNext=True
        )
        self.quote = ParagraphStyle(
            "quote", self.small, leftIndent=8, rightIndent=8, spaceAfter=5, textColor=INK
        )
        self.cover_alert = ParagraphStyle(
            "coveralert",
            base,
            fontName=BOLD,
            textColor=ALERT,
            borderColor=ALERT,
            borderWidth=1,
            borderPadding=6,
            spaceBefore=14,
        )


def render_pdf(draft: ReportDraft, laid_out: Document | None = None) -> bytes:
    """The filing as a PDF (A4), in the regulator's language (``laid_out``: the draft
    already laid out by ``report.document``)."""
    doc = laid_out or document(draft)
    styles = _Styles()
    out = io.BytesIO()
    sent = draft.drafted_at.astimezone(UTC)
    stamp = f"D:{sent:%Y%m%d%H%M%S}+00'00'"

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no types
        """Each page's footer says which page of how many; the creation date is fixed."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.setDateFormatter(lambda *_: stamp)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, page in enumerate(self._pages, start=1):
                self.__dict__.update(page)
                self.setFont(FONT, 7.5)
                self.setFillColor(MUTED)
                self.drawString(MARGIN, 12 * mm, plain(doc.footer))
                label = doc.page_label.format(page=number, pages=total)
                self.drawRightString(PAGE_WIDTH - MARGIN, 12 * mm, label)
                super().showPage()
            super().save()

    template = _a4(
        out,
        title=plain(doc.subject),
        author=plain(draft.operator_name),
        subject=plain(doc.title),
        lang=doc.language,
    )
    template.build(list(_story(doc, styles)), canvasmaker=NumberedCanvas)
    return out.getvalue()


def _a4(out: io.BytesIO, **meta: Any) -> SimpleDocTemplate:
    """An A4 document with the house margins, its metadata fixed (the same bytes each time)."""
    return SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        creator="breachclock",
        invariant=True,
        **meta,
    )


def _story(doc: Document, s: _Styles) -> Iterator[Flowable]:
    yield from _cover(doc, s)
    yield PageBreak()
    for alert in doc.alerts:
        yield from _alert(alert, s)
    if doc.missing:
        yield Paragraph(markup(doc.missing.label), s.heading)
        yield from _bullets(doc.missing.bullets, s)
    for section in doc.sections:
        yield Paragraph(markup(f"{section.number}. {section.heading}"), s.heading)
        for item in section.items:
            yield from _item(item, s)
    if doc.earlier:
        yield Paragraph(markup(doc.earlier.label), s.heading)
        yield from _bullets(doc.earlier.bullets, s)
    yield Spacer(1, 10 * mm)
    yield _signature(doc, s)


def _cover(doc: Document, s: _Styles) -> Iterator[Flowable]:
    yield Spacer(1, 18 * mm)
    yield Paragraph(markup(doc.title), s.title)
    yield Spacer(1, 3 * mm)
    yield Paragraph(markup(doc.addressee), s.subtitle)
    yield Spacer(1, 10 * mm)
    rows = [row for entry in doc.cover for row in _split_row((entry.label, entry.value), s, bold=0)]
    table = Table(rows, colWidths=[WIDTH * 0.34, WIDTH * 0.66], splitByRow=True, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    yield table
    for alert in doc.alerts:
        yield Paragraph(markup(alert.heading), s.cover_alert)


def _text(text: str, style: ParagraphStyle, **kwargs: Any) -> Iterator[Flowable]:
    """A person's text as paragraphs of at most ``PARAGRAPH_LINES`` lines each: one
    paragraph of 3,000 lines takes seconds to break across pages, 100 of 30 do not."""
    lines = text.split("\n")
    for start in range(0, len(lines), PARAGRAPH_LINES):
        block = "\n".join(lines[start : start + PARAGRAPH_LINES])
        yield Paragraph(markup(block), style, **(kwargs if start == 0 else {}))


def _alert(alert: Alert, s: _Styles) -> Iterator[Flowable]:
    yield Paragraph(markup(alert.heading), s.alert_head)
    yield from _text(alert.text, s.body)
    if alert.note:
        yield Paragraph(markup(alert.note), s.small)
    yield Spacer(1, 4 * mm)


def _item(item: Entry | FormTable, s: _Styles) -> Iterator[Flowable]:
    yield Paragraph(markup(item.label), s.label)
    if isinstance(item, FormTable):
        yield _table(item, s)
        return
    if item.verbatim:
        # Paragraph by paragraph between two rules: a long copy runs across pages cleanly.
        yield HRFlowable(width="100%", thickness=0.5, color=RULE, spaceBefore=4, spaceAfter=4)
        for block in re.split(r"\n\s*\n", item.value.strip("\n")):
            yield from _text(block, s.quote)
        yield HRFlowable(width="100%", thickness=0.5, color=RULE, spaceBefore=2, spaceAfter=6)
        return
    if item.value:
        yield from _text(item.value, s.unknown if item.unknown else s.body)
    yield from _bullets(item.bullets, s)


def _bullets(bullets: Sequence[str], s: _Styles) -> Iterator[Flowable]:
    for text in bullets:
        yield from _text(text, s.bullet, bulletText="•")


def _table(table: FormTable, s: _Styles, shares: Sequence[float] = ()) -> Flowable:
    if not table.rows:
        return Paragraph(markup(table.empty), s.body)
    if shares:
        widths = [WIDTH * share for share in shares]
    elif table.counts:
        widths = [WIDTH * 0.8, WIDTH * 0.2]
    else:
        widths = [WIDTH * 0.18, WIDTH * 0.42, WIDTH * 0.18, WIDTH * 0.22]
    head = [Paragraph(markup(c), s.cell_head) for c in table.columns]
    rows: list[list[Any]] = [head]
    ends = []
    for row in table.rows:
        rows += _split_row(row, s)
        ends.append(len(rows) - 1)
    grid = Table(rows, colWidths=widths, repeatRows=1, splitByRow=True, hAlign="LEFT")
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, INK),
        *(("LINEBELOW", (0, end), (-1, end), 0.25, RULE) for end in ends),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if table.counts:
        style.append(("ALIGN", (1, 0), (1, -1), "RIGHT"))
    grid.setStyle(TableStyle(style))
    return grid


def _split_row(cells: Sequence[str], s: _Styles, bold: int | None = None) -> list[list[Any]]:
    """One row of text as table rows: a long cell continues in the rows below."""
    pieces = [chunks(cell) for cell in cells]
    height = max(len(p) for p in pieces)
    rows = []
    for line in range(height):
        rows.append(
            [
                Paragraph(
                    markup(p[line]) if line < len(p) else "",
                    s.cell_head if column == bold else s.small,
                )
                for column, p in enumerate(pieces)
            ]
        )
    return rows


def _signature(doc: Document, s: _Styles) -> Flowable:
    signature = doc.signature
    lines = Table(
        [
            [Paragraph(markup(label), s.small), Paragraph(markup(value), s.body)]
            for label, value in signature.lines
        ],
        colWidths=[WIDTH * 0.3, WIDTH * 0.55],
        rowHeights=[11 * mm] * len(signature.lines),
        hAlign="LEFT",
    )
    lines.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("LINEBELOW", (1, 0), (1, -1), 0.6, INK),
            ]
        )
    )
    return KeepTogether(
        [
            Paragraph(markup(signature.heading), s.heading),
            Paragraph(markup(signature.intro), s.body),
            lines,
        ]
    )


@dataclass(frozen=True)
class Letter:
    """One person's letter: where it goes, and the notice's subject and text."""

    address: str
    """The postal address block, its lines separated by newlines (the name first)."""
    subject: str
    text: str


@dataclass(frozen=True)
class BatchList:
    """The print batch's own page: what it is, and each letter's person in a row."""

    title: str
    made: str
    columns: tuple[str, str, str]
    rows: Sequence[tuple[str, str, str]]


def render_letters(
    batch: BatchList, letters: Sequence[Letter], language: str, made_at: datetime
) -> bytes:
    """A print batch as one PDF (A4): its list first, then each letter on pages of its
    own, the address block where a window envelope shows it. Built with the filing's
    fonts and styles; the same bytes for the same batch (dated ``made_at``)."""
    styles = _Styles()
    out = io.BytesIO()
    stamp = f"D:{made_at.astimezone(UTC):%Y%m%d%H%M%S}+00'00'"

    class DatedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no types
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.setDateFormatter(lambda *_: stamp)

    template = _a4(out, title=plain(batch.title), lang=language)
    template.build(list(_letters_story(batch, letters, styles)), canvasmaker=DatedCanvas)
    return out.getvalue()


def _letters_story(batch: BatchList, letters: Sequence[Letter], s: _Styles) -> Iterator[Flowable]:
    yield Paragraph(markup(batch.title), s.heading)
    yield Paragraph(markup(batch.made), s.small)
    yield Spacer(1, 4 * mm)
    yield _table(FormTable(batch.title, batch.columns, tuple(batch.rows), ""), s, (0.2, 0.3, 0.5))
    for letter in letters:
        yield PageBreak()
        yield Spacer(1, 25 * mm)  # a C5/DL window envelope's window sits about 45 mm down
        yield from _text(letter.address, s.subtitle)
        yield Spacer(1, 20 * mm)
        yield Paragraph(markup(letter.subject), s.heading)
        yield from _text(letter.text, s.body)
