"""The register as it leaves the engine (LEK 8:9, ``register``): CSV for a spreadsheet
and labelled JSON for a program.

Both keep the stable codes (column names, ``disclosure``, ``technical_fault``) so that
a program reading them does not break when a word is reworded, and add the words for
them in the reader's language: JSON as ``columns`` (each column's label) and a row's
``labels`` (its coded values'), CSV as a ``<column>.label`` column beside each coded
one. A CSV cell never starts with what a spreadsheet runs as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.model import Measure
from breachclock.domain.incident.register import RegisterRow
from breachclock.domain.instants import iso_local

COLUMNS: tuple[str, ...] = tuple(RegisterRow.model_fields)
CODED: dict[str, str] = {
    "state": "incident_state",
    "regime": "regime",
    "breach_types": "filing.breach",
    "root_cause": "filing.cause",
}
"""Columns holding codes, and the catalogue prefix of their words."""
LABELLED = (*CODED, "never_filed")
"""Columns with a ``.label`` beside them in CSV."""
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def columns(voice: Voice) -> dict[str, str]:
    """Each column's code and its label in ``voice``'s language."""
    return {name: voice(f"register.col.{name}") for name in COLUMNS}


def labels(row: RegisterRow, voice: Voice) -> dict[str, str | list[str]]:
    """The words for ``row``'s coded values (a list's, each) in ``voice``'s language."""
    found: dict[str, str | list[str]] = {}
    for name, prefix in CODED.items():
        value = getattr(row, name)
        if isinstance(value, list):
            found[name] = [voice.value(prefix, v) for v in value]
        elif value is not None:
            found[name] = voice.value(prefix, value)
    found["never_filed"] = [report_words(code, voice) for code in row.never_filed]
    return found


def report_words(code: str, voice: Voice) -> str:
    """A report never filed (``pts:supplementary_report``): its regulator and stage."""
    regime, _, stage = code.partition(":")
    return f"{voice.value('regime', regime)}: {voice.value('stage', stage)}"


def csv_text(rows: Iterable[RegisterRow], voice: Voice) -> str:
    """The register as CSV: a header of codes, each coded column followed by its words,
    instants in the reader's zone with their offset, lists one item a line."""
    header = [
        c for name in COLUMNS for c in ((name, f"{name}.label") if name in LABELLED else (name,))
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, header)
    writer.writeheader()
    for row in rows:
        words = labels(row, voice)
        cells: dict[str, Any] = {}
        for name in COLUMNS:
            cells[name] = _text(getattr(row, name), voice)
            if name in LABELLED:
                cells[f"{name}.label"] = _text(words.get(name), voice)
        writer.writerow({k: safe_cell(v) for k, v in cells.items()})
    return out.getvalue()


def _text(value: Any, voice: Voice) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_local(value, voice.tz) or ""
    if isinstance(value, Measure):
        return measure_text(value, voice)
    if isinstance(value, list):
        return "\n".join(_text(v, voice) for v in value)
    return str(value)


def measure_text(m: Measure, voice: Voice) -> str:
    """A measure as one line: its date, what, and whether temporary or permanent."""
    on = f"{m.on.isoformat()}: " if m.on else ""
    lasting = f" ({voice.value('filing.lasting', m.lasting.value)})" if m.lasting else ""
    return f"{on}{m.what}{lasting}"


def safe_cell(value: str) -> str:
    """A cell no spreadsheet runs as a formula (OWASP's advice on CSV injection: a
    leading apostrophe where the cell starts as a formula would)."""
    if value[:1] in FORMULA_STARTS:
        return "'" + value
    return value
