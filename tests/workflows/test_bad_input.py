"""Bad input is refused before it enters history, with a message a person understands.

The updates are sent as raw JSON, as any Temporal client (``temporal workflow
update``) would, so the workflow's own validation is what is tested here. They
run on the dev server: the time-skipping server records a workflow task even for
a rejected update, the real server does not.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.limits import INPUT_LIMIT, json_size
from breachclock.domain.incident.model import Facts
from breachclock.service.engine import refusal_message
from tests.conftest import WORKFLOW_TASK, SmtpSink, approve_pending, harness, settled, unique
from tests.facts import ALL_BUT_ROOT_CAUSE, COMPLETE
from workflows.incident import IncidentWorkflow

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
    ("approve before discovery", "approve", {"by": "M"}, "before the discovery"),
    ("short justification", "justify", {"by": "M", "text": "because"}, "at least 20 characters"),
    ("close with nothing reported and no reason", "close", {"by": "M"}, "needs a reason"),
    (
        "facts of megabytes",
        "record_facts",
        {"changes": {"contributing_causes": ["x" * 20_000] * 90}},
        "past their limit of 256 KiB",
    ),
    (
        "a list of a hundred and one items",
        "record_facts",
        {"changes": {"services": [f"service {n}" for n in range(101)]}},
        "at most 100 items",
    ),
    (
        "an event of 20,000 emoji",
        "add_event",
        {"at": "2026-01-10T09:00:00+01:00", "what": "😀" * 20_000},
        "at most 2000 characters",
    ),
]


async def assert_refused_without_trace(
    handle: WorkflowHandle[Any, Any], update: str, payload: dict[str, Any], expected: str
) -> None:
    before = await settled(handle)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(update, payload)
    added = [e for e in (await handle.fetch_history()).events if e.event_id > before]
    assert expected in refusal_message(caught.value)
    assert all(e.event_type in WORKFLOW_TASK for e in added), "a refused update leaves no trace"


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
    ("approve naming no filing", "approve", {"by": "M"}, "name the filing you approve"),
    (
        "approve naming another filing than the pending one",
        "approve",
        {"by": "M", "filing": "supplementary_report"},
        "the pending filing is the initial report",
    ),
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


async def test_an_incident_filled_to_its_limit_still_answers_and_files(
    dev_server: WorkflowEnvironment, tmp_path: Any, smtp: SmtpSink
) -> None:
    """Events of the largest size, ten at once, until the record is full: the next ones
    are refused with the limit named, the record never passes it (updates validated in
    one task each saw the state before the others: they are measured again in their
    handlers), and the incident still answers ``status``, accepts corrections and files
    (every payload it makes stays inside Temporal's 2 MB)."""
    async with harness(dev_server, tmp_path, smtp) as h:
        handle = await h.discovered(unique("FULL"))
        at = (await h.now()).isoformat()

        async def add(n: int) -> str | None:
            try:
                await handle.execute_update(
                    "add_event", {"at": at, "what": f"{n:05d} " + "å" * 1_990, "by": "On-call"}
                )
            except WorkflowUpdateFailedError as err:
                return refusal_message(err)
            return None

        refusals: list[str] = []
        for first in range(0, 2_000, 10):
            refusals = [r for r in await asyncio.gather(*map(add, range(first, first + 10))) if r]
            if refusals:
                break
        assert refusals and all("past its limit of 1,221 KiB" in r for r in refusals), refusals
        state = await handle.query(IncidentWorkflow.status)
        assert 1_100_000 < json_size(state) <= INPUT_LIMIT
        await handle.execute_update("record_facts", {"changes": {"affected_count": 3300}})
        result = await approve_pending(handle, "Manager")
    assert result.filed is not None and len(smtp.to("incidentrapport@pts.se")) == 1
