"""Bad input is refused before it enters history, with a message a person understands.

The updates are sent as raw JSON, as any Temporal client (``temporal workflow
update``) would, so the workflow's own validation is what is tested here. They
run on the dev server: the time-skipping server records a workflow task even for
a rejected update, the real server does not.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from breachclock.cli import refusal_message
from breachclock.incident.model import Facts
from breachclock.workflows.incident import IncidentWorkflow
from tests.conftest import SmtpSink, harness, unique
from tests.facts import ALL_BUT_ROOT_CAUSE, COMPLETE

AWARE = {"at": "2026-01-10T09:00:00+01:00", "by": "On-call", "how": "customer call"}

BAD: list[tuple[str, str, dict[str, Any], str]] = [
    ("naive time", "discover", {**AWARE, "at": "2026-01-10T09:00:00"}, "no offset or zone"),
    (
        "spring-forward gap",
        "discover",
        {**AWARE, "at": "2025-03-30 02:30 Europe/Stockholm"},
        "does not exist",
    ),
    (
        "fall-back overlap",
        "discover",
        {**AWARE, "at": "2025-10-26 02:30 Europe/Stockholm"},
        "ambiguous",
    ),
    (
        "unknown zone",
        "discover",
        {**AWARE, "at": "2026-01-10 09:00 Europe/Atlantis"},
        "unknown time zone",
    ),
    (
        "discovery in the future",
        "discover",
        {**AWARE, "at": "2099-01-01T00:00:00Z"},
        "in the future",
    ),
    ("unknown field", "discover", {**AWARE, "severity": "high"}, "Extra inputs are not permitted"),
    (
        "discovery before occurrence",
        "discover",
        {**AWARE, "at": "2020-01-01T00:00:00Z"},
        "cannot be before the incident occurred",
    ),
    (
        "negative count",
        "record_facts",
        {"changes": {"affected_count": -3}},
        "greater than or equal to 0",
    ),
    (
        "unknown fact",
        "record_facts",
        {"changes": {"affected_cnt": 3}},
        "Extra inputs are not permitted",
    ),
    ("no facts", "record_facts", {"changes": {}}, "no facts given"),
    (
        "event without offset",
        "add_event",
        {"at": "2026-01-10 08:00", "what": "x"},
        "no offset or zone",
    ),
    ("approve before discovery", "approve", {"by": "M"}, "before discovery"),
    ("short justification", "justify", {"by": "M", "text": "because"}, "at least 20 characters"),
    ("close with nothing reported and no reason", "close", {"by": "M"}, "needs a reason"),
]


async def assert_refused_without_trace(
    handle: WorkflowHandle[Any, Any], update: str, payload: dict[str, Any], expected: str
) -> None:
    await handle.query(IncidentWorkflow.status)  # the workflow's first task is done
    before = len((await handle.fetch_history()).events)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(update, payload)
    after = len((await handle.fetch_history()).events)
    assert expected in refusal_message(caught.value)
    assert after == before, "a refused update adds nothing to history"


@pytest.mark.parametrize(
    ("update", "payload", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
async def test_bad_input_is_refused_and_leaves_no_trace(
    dev_server: WorkflowEnvironment,
    tmp_path: Any,
    smtp: SmtpSink,
    update: str,
    payload: dict[str, Any],
    expected: str,
) -> None:
    occurred = {"occurred": ALL_BUT_ROOT_CAUSE["occurred"]}
    async with harness(dev_server, tmp_path, smtp) as h:
        handle = await h.open(unique(), facts=Facts.model_validate(occurred))
        await assert_refused_without_trace(handle, update, payload, expected)
        state = await handle.query(IncidentWorkflow.status)
    assert state.discovery is None and state.facts_version == 0


SECOND: list[tuple[str, str, dict[str, Any], str]] = [
    ("second discovery", "discover", AWARE, "already discovered"),
    (
        "justification with nothing missing",
        "justify",
        {"by": "M", "text": "x" * 30},
        "no facts are missing",
    ),
    (
        "occurred after discovery",
        "record_facts",
        {"changes": {"occurred": {"at": "RECENT", "how": "logs"}}},
        "after it was discovered",
    ),
    (
        "imy for a service incident",
        "record_facts",
        {"changes": {"in_communications_service": False}},
        "IMY",
    ),
    ("nis2 twice", "open_security_report", {"by": "C"}, "already open"),
]


@pytest.mark.parametrize(
    ("update", "payload", "expected"), [b[1:] for b in SECOND], ids=[b[0] for b in SECOND]
)
async def test_bad_input_on_a_discovered_incident(
    dev_server: WorkflowEnvironment,
    tmp_path: Any,
    smtp: SmtpSink,
    update: str,
    payload: dict[str, Any],
    expected: str,
) -> None:
    async with harness(dev_server, tmp_path, smtp) as h:
        handle = await h.open(unique())
        now = await h.now()
        await handle.execute_update(
            "discover", {**AWARE, "at": (now - timedelta(hours=1)).isoformat()}
        )
        await handle.execute_update("record_facts", {"changes": COMPLETE})
        payload = json.loads(
            json.dumps(payload).replace("RECENT", (now - timedelta(minutes=30)).isoformat())
        )
        await handle.execute_update("open_security_report", {"by": "CISO"})
        await assert_refused_without_trace(handle, update, payload, expected)
