"""What a process loads when it starts: every CLI call is a process of its own, and every
engine start spawns the worker process that lays out filings, so what they import for
nothing is paid again and again (the slow tier runs hundreds of CLI calls).

One fresh interpreter, as each of them starts: ``worker.py`` run again as the spawned
worker process runs it (``__mp_main__``), then the CLI, then the engine.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli_support import ROOT

PROBE = """
import json, runpy, sys

def ours():
    return sorted(m for m in sys.modules if m.split(".")[0] in ("breachclock", "workflows", "activities"))

runpy.run_path("worker.py", run_name="__mp_main__")
spawned = ours()
import breachclock.app.main
cli = sorted(sys.modules)
import breachclock.app.engine
engine = sorted(sys.modules)
print(json.dumps({"spawned": spawned, "cli": cli, "engine": engine}))
"""

NOT_FOR_A_CLI_CALL = (
    "aiohttp",  # the SMS gateway's and the dialer's HTTP client
    "reportlab",  # the filing's PDF
    "temporalio.testing",  # the dev server's starter
    "temporalio.worker",
    "temporalio.contrib.opentelemetry",  # tracing is off unless configured
    "opentelemetry.sdk",
    "activities.walk",  # the notification channels
)
NOT_FOR_THE_ENGINE = ("aiohttp", "reportlab")
"""The engine's own process: no gateway or dialer configured, and the PDF is laid out
in its worker process."""


def test_a_cli_call_and_the_engine_load_only_what_they_use() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert probe.returncode == 0, probe.stderr
    loaded = json.loads(probe.stdout)
    assert loaded["spawned"] == []  # the worker process imports what it is asked to, no more
    assert [m for m in NOT_FOR_A_CLI_CALL if m in loaded["cli"]] == []
    assert [m for m in NOT_FOR_THE_ENGINE if m in loaded["engine"]] == []
    assert "breachclock.cli.common" in loaded["cli"]
    assert "temporalio.worker" in loaded["engine"]  # the probe did import them
