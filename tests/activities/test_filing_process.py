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

from breachclock.domain.incident.documents import render_documents
from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.report import ReportDraft
from breachclock.runtime import offload
from tests.conftest import SmtpSink, harness
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
