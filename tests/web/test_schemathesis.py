"""Schemathesis against the live API (uvicorn on a free port, over the test's worker and
dev server) with every check on: no server error, no answer its OpenAPI document does
not declare, no valid request refused, no invalid one accepted, 405 with its Allow.
Bounded: a few examples per operation, so it runs within a minute."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from breachclock.web.auth import Role
from breachclock.web.server import quiet_server
from tests.conftest import SmtpSink
from tests.web.support import web

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]

CONFIG = """\
[checks.positive_data_acceptance]
# Valid input for an incident nobody opened (404) or one whose state refuses it (409)
# is the engine's answer, not a schema violation; so is 422 for the rules across fields
# and values that JSON Schema cannot say and the engine holds, each with its field's
# pointer: "none identified" beside a consequence, a decision not to notify without its
# justification, a PTS incident outside the service, an instant before 1970.
expected-statuses = ["2XX", "404", "409", "422"]

# The run's own token is listed by GET /api/tokens, and Schemathesis feeds ids it has
# seen back into DELETE /api/tokens/{{token_id}}: it revoked itself, and every later
# request was a (correct) 401. It revokes a token made for that instead.
[[operations]]
include-path = "/api/tokens/{{token_id}}"
parameters = {{ token_id = "{victim}" }}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_schemathesis_finds_no_server_error_and_no_undeclared_answer(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp, upload=64 * 1024) as w:
        token = await w.token(Role.MANAGER)
        victim = await w.auth.store.add_token(
            "to-revoke", "victim", Role.AUDITOR, datetime.now(UTC)
        )
        port = free_port()
        server = quiet_server(w.app, "127.0.0.1", port)
        serving = asyncio.create_task(server.serve())
        try:
            for _ in range(200):  # up to 10 s
                if server.started:
                    break
                await asyncio.sleep(0.05)
            config = tmp_path / "schemathesis.toml"
            config.write_text(CONFIG.format(victim=victim))
            run = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "schemathesis"),
                "--config-file",
                str(config),
                "run",
                f"http://127.0.0.1:{port}/api/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {token}",
                "--max-examples",
                "5",
                "--phases",
                "examples,coverage,fuzzing",
                "--seed",
                "18",
                "--request-timeout",
                "20",
                "--generation-database",
                "none",
                "--continue-on-failure",
                cwd=tmp_path,  # its replay cache stays out of the checkout
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env={
                    **os.environ,
                    "NO_COLOR": "1",
                    "SCHEMATHESIS_TELEMETRY": "false",
                    "SCHEMATHESIS_HOOKS": "tests.web.schemathesis_hooks",
                    "PYTHONPATH": str(ROOT),
                },
            )
            output, _ = await asyncio.wait_for(run.communicate(), 300)
        finally:
            server.should_exit = True
            await serving
        text = output.decode(errors="replace")
        assert "Test cases:" in text, text[-4000:]
        found = set(re.findall(r"❌ (ST\d{3}) ", text))
        assert not found, text[-12000:]
