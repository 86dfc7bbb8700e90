"""A list of several pages, handed to the incident two at a time (``load_list``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import IncidentState
from tests.conftest import SmtpSink, harness
from tests.notify_support import load, notice, people
from workflows.incident import IncidentWorkflow
from workflows.messages import MAX_LOAD_PAGE


async def test_every_page_is_taken_once_and_a_second_load_adds_nobody(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    crowd = people(2 * MAX_LOAD_PAGE + 500)
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.open("INC-PAGES-1")
        first = await load(h.settings, handle, crowd)
        again = await load(h.settings, handle, crowd)
        state: IncidentState = await handle.query(IncidentWorkflow.status)
    assert (first.added, first.repeated, first.people) == (len(crowd), 0, len(crowd))
    assert (again.added, again.repeated, again.people) == (0, len(crowd), len(crowd))
    assert len(state.notification.loaded_pages) == 3
    assert state.notification.people == len(crowd)


async def test_a_page_the_incident_refuses_stops_the_load_and_keeps_the_pages_before_it(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The notice has no Danish text, and the third page holds Danish speakers: the
    refusal reaches the caller as the incident's own (not wrapped), and the two pages
    before it are on the list."""
    crowd = people(2 * MAX_LOAD_PAGE) + people(10, start=90_000, language="da")
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.open("INC-PAGES-2")
        await handle.execute_update(IncidentWorkflow.set_notice, notice("INC-PAGES-2"))
        with pytest.raises(WorkflowUpdateFailedError):
            await load(h.settings, handle, crowd)
        state: IncidentState = await handle.query(IncidentWorkflow.status)
    assert state.notification.people == 2 * MAX_LOAD_PAGE
    assert len(state.notification.loaded_pages) == 2
