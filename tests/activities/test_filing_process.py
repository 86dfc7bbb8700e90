"""Filings are laid out in the engine's worker process, not on the loop that fires the
timers: the documents are the ones made in the engine's own process, and a worker
process that dies neither loses a filing nor sends it twice."""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.filing import LaidOut, MailActivities
from activities.mailer import Mailer
from breachclock.app.engine import relay_for
from breachclock.domain.incident.documents import Documents, render_documents
from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.report import ReportDraft
from breachclock.runtime import offload
from breachclock.runtime.store import open_store
from tests.conftest import SmtpSink, harness, settings_for
from tests.filing_cases import COMVIQ, YOUSEE
from workflows.incident import IncidentWorkflow


@pytest.mark.parametrize("draft", [COMVIQ, YOUSEE], ids=["pts", "dk"])
async def test_documents_from_the_worker_process_are_those_made_here(draft: ReportDraft) -> None:
    here = render_documents(draft)
    async with offload.process_held():
        there = await offload.in_process(render_documents, draft)
    assert there == here  # text, JSON and the PDF's bytes
    assert there.pdf.startswith(b"%PDF")


async def test_a_killed_worker_process_neither_loses_nor_repeats_a_filing(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.discovered()
        (worker,) = multiprocessing.active_children()  # the engine's, started with it
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(5)
        await skipping.sleep(timedelta(hours=24))
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        (fresh,) = multiprocessing.active_children()  # the retry started another
    assert fresh.pid != worker.pid
    assert len(state.filings) == 1
    key = f"{state.reference}:{state.filings[0].number}"
    assert smtp.keys().count(key) == 1, smtp.keys()


async def test_a_filing_sends_the_documents_laid_out_ahead_for_its_very_draft(
    tmp_path: Path, smtp: SmtpSink
) -> None:
    """Issue 23: documents laid out ahead go as they are (no layout at the deadline), but
    only with the draft they were made from: one differing in any field (here the
    instant it states) finds none and is laid out again."""
    settings = settings_for(tmp_path, smtp)
    mail = MailActivities(Mailer(relay_for(settings), open_store(settings)))
    ahead = Documents("laid out ahead", "{}", b"%PDF-ahead")
    mail.laid_out.keep(COMVIQ, ahead)
    later = COMVIQ.model_copy(update={"drafted_at": COMVIQ.drafted_at + timedelta(minutes=1)})
    assert mail.laid_out.take(later) is None
    await mail.file_report(COMVIQ)
    (sent,) = smtp.messages
    text, _, pdf = sent.get_payload()
    assert text.get_payload(decode=True).decode().strip() == "laid out ahead"
    assert pdf.get_payload(decode=True) == b"%PDF-ahead"
    assert len(mail.laid_out) == 0, "handed over once"


def test_documents_laid_out_ahead_are_bounded_by_bytes() -> None:
    kept = LaidOut(limit=30)
    drafts = [COMVIQ.model_copy(update={"number": n}) for n in range(3)]
    for draft in drafts:
        kept.keep(draft, Documents("x" * 10, "{}", b""))
    assert len(kept) == 2
    assert kept.take(drafts[0]) is None, "the oldest went first"
    assert kept.take(drafts[2]) is not None
