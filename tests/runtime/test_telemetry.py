"""Traces and metrics, read back from where they are exported.

Traces: an in-memory exporter behind the client's ``TracingInterceptor`` (the worker
takes it from the client) and a local OTLP/HTTP receiver for the ``otlp`` exporter.
Metrics: the Prometheus endpoint of a Temporal runtime, scraped over loopback.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.contrib.opentelemetry import TracingInterceptor

from breachclock.app.gauges import health_gauges
from breachclock.domain.incident.model import FilingKind, IncidentState
from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import free_port
from breachclock.runtime.telemetry import interceptors, metrics_runtime, tracer_provider
from breachclock.runtime.temporal import start_time_skipping
from tests.conftest import SmtpSink, approve_pending, harness
from tests.notify_support import decide, finish, people, ready
from workflows.incident import IncidentWorkflow

PROMTOOL = shutil.which("promtool") or "promtool"
"""Prometheus's own checker (Debian ``prometheus``; ``.ci/run`` installs it)."""

# ------------------------------------------------------------------ configuration


def test_no_exporter_means_no_interceptor_and_no_metrics_endpoint() -> None:
    settings = Settings()
    assert settings.otel_exporter == "none" and settings.metrics_address is None
    assert interceptors(settings) == []
    assert metrics_runtime(settings) is None


def test_configured_exporter_gives_a_tracing_interceptor_named_breachclock() -> None:
    settings = Settings(BREACHCLOCK_OTEL_EXPORTER="console")
    (interceptor,) = interceptors(settings)
    assert isinstance(interceptor, TracingInterceptor)
    provider = tracer_provider(settings)
    assert provider.resource.attributes["service.name"] == "breachclock"
    provider.shutdown()


def test_unknown_exporter_is_refused() -> None:
    with pytest.raises(ValueError, match="BREACHCLOCK_OTEL_EXPORTER"):
        Settings(BREACHCLOCK_OTEL_EXPORTER="jaeger")


@pytest.fixture
def otlp_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    yield endpoint


async def test_otlp_exporter_posts_spans_to_the_standard_endpoint(otlp_endpoint: str) -> None:
    received: list[tuple[str, bytes]] = []

    async def collect(request: web.Request) -> web.Response:
        received.append((request.path, await request.read()))
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", collect)
    runner = web.AppRunner(app)
    await runner.setup()
    port = int(otlp_endpoint.rsplit(":", 1)[1])
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        provider = tracer_provider(Settings(BREACHCLOCK_OTEL_EXPORTER="otlp"))
        with provider.get_tracer("test").start_as_current_span("filing-check"):
            pass
        # The exporter posts synchronously (requests): not on the loop serving it.
        assert await asyncio.to_thread(provider.force_flush)
        await asyncio.to_thread(provider.shutdown)
    finally:
        await runner.cleanup()

    ((path, body),) = received
    assert path == "/v1/traces"
    export = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = export.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "breachclock"
    assert [s.name for s in resource_spans.scope_spans[0].spans] == ["filing-check"]


# ------------------------------------------------------------------ traces


async def test_an_incident_is_traced_from_the_client_through_workflow_and_activities(
    tmp_path: Any, smtp: SmtpSink
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    env = await start_time_skipping(
        interceptors=interceptors(provider.get_tracer("breachclock-test"))
    )
    try:
        async with harness(env, tmp_path, smtp) as h:
            handle = await h.discovered("INC-TRACE")
            result = await approve_pending(handle, "Manager")
            assert result.filed is not None and result.filed.kind is FilingKind.INITIAL
    finally:
        await env.shutdown()

    spans: list[ReadableSpan] = list(exporter.get_finished_spans())
    names = [s.name for s in spans]
    for name in (
        "StartWorkflow:Incident",
        "RunWorkflow:Incident",
        "StartWorkflowUpdate:discover",
        "ValidateUpdate:discover",
        "HandleUpdate:discover",
        "StartWorkflowUpdate:approve",
        "HandleUpdate:approve",
        "StartActivity:file_report",
        "RunActivity:file_report",
        "SmtpSend",
    ):
        assert name in names, f"no {name} span in {sorted(set(names))}"

    def one(name: str) -> ReadableSpan:
        (span,) = [s for s in spans if s.name == name]
        return span

    def trace_of(span: ReadableSpan) -> int:
        assert span.context is not None
        return int(span.context.trace_id)

    def id_of(span: ReadableSpan) -> int:
        assert span.context is not None
        return int(span.context.span_id)

    start, run = one("StartWorkflow:Incident"), one("RunWorkflow:Incident")
    activity = one("RunActivity:file_report")
    assert trace_of(run) == trace_of(start), "the workflow continues the client's trace"
    assert trace_of(activity) == trace_of(run), "the filing belongs to the incident's trace"
    assert activity.attributes is not None
    assert activity.attributes["temporalWorkflowID"] == "incident-INC-TRACE"
    # The SDK handles updates in the workflow's trace (under its StartWorkflow span),
    # not in the trace of the client call that sent them.
    for name in ("HandleUpdate:discover", "HandleUpdate:approve"):
        handled = one(name)
        assert trace_of(handled) == trace_of(start)
        assert handled.parent is not None and handled.parent.span_id == id_of(start)
    assert activity.parent is not None
    assert activity.parent.span_id == id_of(one("StartActivity:file_report"))
    send = one("SmtpSend")
    assert send.parent is not None and send.parent.span_id == id_of(activity)
    assert trace_of(send) == trace_of(start), "one trace from the start to the relay"
    assert send.attributes is not None
    assert send.attributes["breachclock.key"] == "INC-TRACE:1"
    assert send.attributes["server.address"] == "127.0.0.1"
    assert "RunActivity:send_page" not in names, "nothing was paged: filed at once"


# ------------------------------------------------------------------ metrics


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text: str = response.read().decode()
    return text


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of one metric series name: (labels, value)."""
    found = []
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
            found.append((labels, float(match.group(2))))
    return found


async def test_business_and_sdk_metrics_on_the_prometheus_endpoint(
    tmp_path: Any, smtp: SmtpSink
) -> None:
    port = free_port()
    # The engine's runtime (one per process: it binds the port).
    runtime = metrics_runtime(Settings(BREACHCLOCK_METRICS_ADDRESS=f"127.0.0.1:{port}"))
    assert runtime is not None
    env = await start_time_skipping(runtime=runtime)
    try:
        async with (
            harness(
                env,
                tmp_path,
                smtp,
                BREACHCLOCK_SIMULATOR_OUTCOMES={"no_answer": 1.0},
                BREACHCLOCK_METRICS_ADDRESS=f"127.0.0.1:{port}",
            ) as h,
            health_gauges(h.settings, env.client, every=timedelta(milliseconds=200)),
        ):
            before = await asyncio.to_thread(scrape, port)
            handle = await h.discovered("INC-METRICS")
            await env.sleep(timedelta(hours=23, minutes=54))
            state: IncidentState = await handle.query(IncidentWorkflow.status)
            (filing,) = state.filings
            assert state.discovery is not None
            waited = (filing.sent_at - state.discovery.at).total_seconds()
            await ready(h.settings, handle, "INC-METRICS", people(3))
            await decide(handle)
            state = await finish(env, handle)
            text = await asyncio.to_thread(scrape, port)
    finally:
        await env.shutdown()

    for exposition in (before, text):
        checked = await asyncio.to_thread(
            subprocess.run,
            [PROMTOOL, "check", "metrics"],
            input=exposition,
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "reference=" not in text and "INC-METRICS" not in text, "no per-incident label"

    def filed(exposition: str) -> dict[tuple[str, str, str], float]:
        return {
            (labels["regime"], labels["kind"], labels["late"]): value
            for labels, value in samples(exposition, "breachclock_filings_total")
        }

    assert filed(before)[("pts", "initial", "false")] == 0, "the series exists before it counts"
    after = filed(text)
    assert after[("pts", "initial", "false")] == 1, "the zero and the count are one series"
    assert sum(after.values()) == 1 and len(after) == len(filed(before))
    (labels, _), *_ = samples(text, "breachclock_filings_total")
    assert labels["workflow_type"] == "Incident", "the workflow meter adds its own labels"

    (count,) = [s for s in samples(text, "breachclock_discovery_to_initial_filing_seconds_count")]
    (total,) = samples(text, "breachclock_discovery_to_initial_filing_seconds_sum")
    assert count[0]["kind"] == "initial" and count[1] == 1
    assert total[1] == pytest.approx(waited), "the value is sent_at - discovery.at, in seconds"
    assert 23 * 3600 < total[1] < 24 * 3600
    buckets = {
        labels["le"]: value
        for labels, value in samples(text, "breachclock_discovery_to_initial_filing_seconds_bucket")
    }
    assert buckets["79200"] == 0 and buckets["86400"] == 1, "buckets around the 24 h deadline"

    pages = {
        labels["level"]: value
        for labels, value in samples(text, "breachclock_escalations_total")
        if labels["regime"] == "pts"
    }
    assert pages == {"lead": 3, "reminder": 0, "overdue": 0}, "6h, 2h and 30m before"

    # The SDK's own metrics, with the default "temporal_" prefix, in seconds.
    ran = {
        labels["activity_type"]: value
        for labels, value in samples(text, "temporal_activity_execution_latency_seconds_count")
    }
    assert ran["file_report"] == 1 and ran["advance"] >= 6
    # Pages go from the task their timer wakes, as local activities.
    ran_here = {
        labels["activity_type"]: value
        for labels, value in samples(
            text, "temporal_local_activity_execution_latency_seconds_count"
        )
    }
    assert ran_here["send_page"] == 3 and "file_report" not in ran_here

    attempts = {
        (labels["channel"], labels["outcome"]): value
        for labels, value in samples(text, "breachclock_notification_attempts_total")
    }
    assert len(attempts) == len(samples(before, "breachclock_notification_attempts_total"))
    assert {k: v for k, v in attempts.items() if v} == {
        ("call", "no_answer"): 15,
        ("email", "sent"): 3,
    }
    people_done = {
        labels["status"]: value
        for labels, value in samples(text, "breachclock_people_notified_total")
    }
    assert people_done == {"called": 0, "emailed": 3, "texted": 0, "unreachable": 0}, (
        "one series each"
    )
    assert samples(text, "temporal_workflow_task_execution_latency_seconds_count")
