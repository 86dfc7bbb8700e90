"""A filing's three documents, made in one call: the e-mail's text, the JSON attachment
and the PDF, from one layout of the draft.

One call, one module-level function and plain values in and out, so that the engine can
make all three in its worker process (``runtime.offload.in_process``): laying out the PDF
holds the GIL for tens of milliseconds per filing, which on the engine's own process
delayed the timers that fire pages and other filings.

The PDF's module (and ReportLab) is imported on the first render, not with this one:
the engine's own process imports this module but renders nowhere else than in that
worker process, which imports ``incident.pdf`` when it starts.
"""

from __future__ import annotations

from typing import NamedTuple

from breachclock.domain.incident.report import ReportDraft, document, render_json, render_text


class Documents(NamedTuple):
    text: str
    json: str
    pdf: bytes


def render_documents(draft: ReportDraft) -> Documents:
    """The same documents for the same draft, wherever they are made."""
    from breachclock.domain.incident.pdf import render_pdf

    doc = document(draft)
    return Documents(render_text(draft, doc), render_json(draft, doc), render_pdf(draft, doc))
