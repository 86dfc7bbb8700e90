"""A client whose codec key is not the engine's (the CLI run with a key of its own):
nothing it sends can burn an incident. ``open`` finds out and takes it back, so the
reference can be opened again; an update the engine cannot read is refused with the
reason, adds nothing to history, and the incident runs on."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from breachclock.runtime.temporal import workflow_id
from tests.cli.test_cli import Cli
from tests.cli_support import address
from tests.conftest import SmtpSink, harness, unique


async def accepted_updates(handle: WorkflowHandle[Any, Any]) -> int:
    return len(
        [
            e
            async for e in handle.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ]
    )


async def test_a_client_with_another_key_refuses_and_burns_nothing(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(dev_server, tmp_path, smtp) as h:
        engine_env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address(dev_server),
            "BREACHCLOCK_TASK_QUEUE": h.settings.task_queue,
            "BREACHCLOCK_DATA_DIR": str(h.settings.data_dir),
        }
        stranger_key = json.dumps({"elsewhere": base64.b64encode(os.urandom(32)).decode()})
        right, wrong = Cli(engine_env), Cli({**engine_env, "BREACHCLOCK_CODEC_KEYS": stranger_key})
        ref = unique("KEYS")

        refused = await wrong("open", ref, "--title", "Call logs exposed")
        assert refused.returncode == 1, refused.stdout
        assert "codec key is not the engine's" in refused.stderr
        assert f"{ref} can be opened again" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1

        opened = await right("open", ref, "--title", "Call logs exposed")
        assert opened.returncode == 0, opened.stderr
        handle = h.client.get_workflow_handle(workflow_id(ref))

        unread = await wrong(
            "event", ref, "--at", "2026-11-20 14:00 Europe/Stockholm", "--what", "export stopped"
        )
        assert unread.returncode == 1
        # The engine's reason is sealed with its key: this client is told what is wrong.
        assert "codec key is not the engine's" in unread.stderr
        assert len(unread.stderr.strip().splitlines()) == 1
        # The incident's own start-up (policy, read model) may still be adding events, so
        # count what an update would add: an accepted update is the only trace it leaves.
        assert await accepted_updates(handle) == 0, "the unreadable update left history"

        # Not wedged: the incident takes the next update from a client with the right key.
        done = await right(
            "event", ref, "--at", "2026-11-20 14:00 Europe/Stockholm", "--what", "export stopped"
        )
        assert done.returncode == 0, done.stderr
        assert await accepted_updates(handle) == 1
        timeline = await right.json("timeline", ref)
        assert [e["what"] for e in timeline].count("export stopped") == 1
