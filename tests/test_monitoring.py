"""What the on-call alerts on: the engine's gauges on a real dev server, scraped and
checked by Prometheus's own ``promtool``; the alert rules checked and unit-tested by
it; the Grafana dashboard's queries parsed by it and naming only exported metrics."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from breachclock.app.gauges import health_gauges
from breachclock.domain.incident.model import Discover
from breachclock.runtime import metrics
from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import free_port
from breachclock.runtime.telemetry import metrics_runtime
from tests.conftest import SmtpSink, harness, unique
from tests.runtime.test_telemetry import samples, scrape
from workflows.incident import IncidentWorkflow

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
RULES = DEPLOY / "prometheus" / "rules.yml"
DASHBOARD = DEPLOY / "grafana" / "breachclock-dashboard.json"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and not os.environ.get("CI"),
    reason="promtool is not installed (Debian prometheus; .ci/run installs it)",
)


def promtool(*args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def exported() -> set[str]:
    """Every breachclock series name the engine can export."""
    names = {
        m.name + "_total"
        for m in (
            metrics.FILINGS,
            metrics.ESCALATIONS,
            metrics.NOTIFICATION_ATTEMPTS,
            metrics.PEOPLE_DONE,
        )
    }
    histogram = f"{metrics.FIRST_FILING.name}_{metrics.FIRST_FILING.unit}"
    names |= {f"{histogram}_{part}" for part in ("bucket", "sum", "count")}
    names |= {
        m.name for m in vars(metrics).values() if isinstance(m, metrics.Metric) and m.unit == ""
    }
    return names


@needs_promtool
def test_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    assert "SUCCESS: 6 rules found" in promtool("check", "rules", str(RULES))
    promtool("test", "rules", "rules.test.yml", cwd=RULES.parent)


@needs_promtool
def test_the_dashboard_queries_parse_and_name_only_exported_metrics(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(queries) >= 10
    # promtool parses PromQL in rule files: each query as a recording rule.
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [{"record": f"dashboard:q{n}", "expr": q} for n, q in enumerate(queries)],
            }
        ]
    }
    checked = tmp_path / "dashboard-queries.yml"
    checked.write_text(yaml.safe_dump(rules))
    promtool("check", "rules", str(checked))
    named = set(re.findall(r"\bbreachclock_\w+", " ".join(queries) + RULES.read_text()))
    assert named, "the dashboard shows breachclock's metrics"
    assert named - exported() == set(), "a query names a metric the engine does not export"


@needs_promtool
async def test_gauges_show_open_incidents_and_a_deadline_nobody_owns(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    port = free_port()
    runtime = metrics_runtime(Settings(BREACHCLOCK_METRICS_ADDRESS=f"127.0.0.1:{port}"))
    assert runtime is not None
    client = await metered(dev_server.client, runtime)
    async with harness(dev_server, tmp_path, smtp) as h:
        reference = unique("GAUGE")
        handle = await h.open(reference)
        # Aware 23 h ago: the PTS initial report is due within the hour, nobody approved it.
        aware = datetime.now(UTC) - timedelta(hours=23, minutes=10)
        await handle.execute_update(
            IncidentWorkflow.discover, Discover(at=aware, by="On-call", how="a customer asked")
        )
        settings = h.settings.model_copy(update={"metrics_address": f"127.0.0.1:{port}"})
        async with health_gauges(settings, client, every=timedelta(milliseconds=300)):
            text = await until_swept(port)
    promtool("check", "metrics", stdin=text)
    assert reference not in text and "reference=" not in text

    def gauge(name: str, **labels: str) -> float:
        (value,) = [v for found, v in samples(text, name) if labels.items() <= found.items()]
        return value

    assert gauge("breachclock_engine_up") == 1 and gauge("breachclock_temporal_up") == 1
    assert gauge("breachclock_open_incidents", state="discovered", regime="pts") >= 1
    unowned = gauge(
        "breachclock_next_unowned_deadline_seconds", regime="pts", stage="initial_report"
    )
    assert 0 < unowned < 3600, "the alert rule's condition holds"
    assert gauge("breachclock_next_deadline_seconds", regime="pts", stage="initial_report") <= (
        unowned
    )
    assert gauge("breachclock_next_deadline_seconds", regime="nis2", stage="final_report") == (
        float("inf")
    ), "no such deadline: +Inf, never below a threshold"
    assert abs(gauge("breachclock_health_sweep_timestamp_seconds") - time_now()) < 60


async def metered(client: Client, runtime: Runtime) -> Client:
    """A client of the same server on a runtime that serves ``/metrics``."""
    config: dict[str, Any] = dict(client.config())
    return await Client.connect(
        client.service_client.config.target_host,
        namespace=client.namespace,
        data_converter=config["data_converter"],
        runtime=runtime,
    )


async def until_swept(port: int, within: float = 60) -> str:
    """The endpoint's text once a sweep reached it. A sweep lists every open incident on
    the shared dev server: late in a full run that is thousands, and it took over 10 s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        text = await asyncio.to_thread(scrape, port)
        if samples(text, "breachclock_health_sweep_timestamp_seconds"):
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"no sweep reached the endpoint within {within:.0f} s")


def time_now() -> float:
    return datetime.now(UTC).timestamp()
