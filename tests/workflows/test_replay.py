"""Replay saved histories of every path through today's workflow code.

A change that would break running incidents (non-determinism) fails here. The
histories are recorded from the clock, campaign and exactly-once tests with
``BREACHCLOCK_RECORD_HISTORIES=1 pytest tests/workflows/test_workflow_clocks.py tests/workflows/test_campaign.py
tests/workflows/test_exactly_once.py tests/workflows/test_late_reason.py tests/workflows/test_local_sends.py``, every run of a chain that continued as new on its own
(``…-run0``, ``…-run1``); record
new ones when a path is added, never to make this test pass after a change
(guard the change with ``workflow.patched`` instead). Histories a change made obsolete
for new runs stay, renamed for what they show (``projected_after_policy_…``: the read
model's patch decided after the policy activity, as the first engine did).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from breachclock.app.engine import WORKFLOWS, sandbox
from breachclock.runtime.codec import EncryptionCodec, encrypted_converter

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


def test_every_path_has_a_saved_history() -> None:
    names = {p.name for p in HISTORIES}
    for path in (
        "initial_report",
        "approve",
        "supplementary_final",
        "extension",
        "escalate",
        "imy",
        "nis2",
        "smtp_down",
        "unanswered_calls_then_one_email",
        "campaign",
        "regulator_can_order_notice",
        "not_notifying",
        "added_during_a_campaign",
        "reason_given_after_the_late_filing",
        "calls_sms_email",
        "filed_at_the_three_day_mark",
        "bounded_wait_for_containment",
        "owncount_",  # runs that continue as new by their own count (``workflows.history``)
        "localpages_",  # pages sent from the task their timer wakes (``workflows.base.LOCAL_PAGES``)
        "localfiling_",  # approved filings sent from the approval's task (``LOCAL_APPROVED_FILINGS``)
    ):
        assert any(path in n for n in names), f"no saved history for the {path} path"


def test_saved_histories_continue_as_new_in_both_workflows_and_on_every_clock() -> None:
    """Runs that ended by continuing as new, and runs that began from one, are replayed:
    for the incident (on its clock paths, and while its campaign ran) and the campaign."""
    ended: dict[str, set[str]] = {"Incident": set(), "NotificationCampaign": set()}
    for path in HISTORIES:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        started = history.events[0].workflow_execution_started_event_attributes
        if (
            history.events[-1].event_type
            == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        ):
            ended[started.workflow_type.name].add(path.stem)
    assert len(ended["NotificationCampaign"]) >= 5
    for path in ("initial_report", "extension", "smtp_down", "escalate", "nis2", "hears_its_end"):
        assert any(path in name for name in ended["Incident"]), f"no continued {path} history"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    # The engine's own converter: its codec lets unencrypted payloads through.
    converter = encrypted_converter(EncryptionCodec({"replay": os.urandom(32)}, "replay"))
    replayer = Replayer(workflows=WORKFLOWS, data_converter=converter, workflow_runner=sandbox())
    history = WorkflowHistory.from_json(path.stem, await asyncio.to_thread(path.read_text))
    await replayer.replay_workflow(history)
