"""Traces (OpenTelemetry) and metrics (Prometheus) for the engine and the CLI.

Traces: ``BREACHCLOCK_OTEL_EXPORTER`` = ``none`` (default) | ``console`` (spans on
stderr, so the CLI's output stays clean) | ``otlp`` (OTLP over HTTP, to the standard
``OTEL_EXPORTER_OTLP_ENDPOINT``/``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``). The SDK's
``TracingInterceptor`` sits on the client, so the CLI's starts and updates, the
workflow (run, updates) and the activities share one trace per incident; a worker
built on that client takes the interceptor from it.

Metrics: ``BREACHCLOCK_METRICS_ADDRESS`` (host:port) makes the engine's Temporal
runtime serve ``/metrics`` for Prometheus: the SDK's own metrics and breachclock's
(``breachclock.runtime.metrics``), named as Prometheus asks: counters end in ``_total``,
durations are seconds with ``_seconds`` in their names (the SDK's too).
Only the engine binds it; the CLI's short-lived clients do not.

The OpenTelemetry SDK and the SDK's ``TracingInterceptor`` (which pulls in
``temporalio.worker``) are imported where a tracer is made, not at import: with the
default exporter ``none`` a CLI call never needs them, and every CLI call is a
process of its own that would pay for them (~0.1 s of CPU).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from opentelemetry.trace import NoOpTracer, Tracer
from temporalio.client import Client, Interceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from breachclock.runtime.config import Settings
from breachclock.runtime.metrics import FIRST_FILING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

SERVICE = "breachclock"
TRACER_NAME = "breachclock"


def tracer_provider(settings: Settings) -> TracerProvider:
    """A provider exporting where the configuration says; with ``none``, nowhere."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: SERVICE}))
    if settings.otel_exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    elif settings.otel_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


_process: list[TracerProvider] = []
"""The process's provider, made on first use: the HTTP server's, the CLI's and the
Temporal client's spans go through one, so one flush at exit sends them all."""


def process_tracer(settings: Settings) -> Tracer:
    """The process's tracer as configured; with ``none``, one that records nothing."""
    if settings.otel_exporter == "none":
        return NoOpTracer()
    if not _process:
        _process.append(tracer_provider(settings))
    return _process[0].get_tracer(TRACER_NAME)


def flush() -> None:
    """Send what the process's provider holds (a CLI command ends right after)."""
    for provider in _process:
        provider.force_flush()


def interceptors(source: Settings | Tracer) -> list[Interceptor]:
    """The client interceptors: tracing with the given tracer, or as configured.

    With ``BREACHCLOCK_OTEL_EXPORTER=none`` there are none, so nothing is traced.
    """
    if isinstance(source, Settings):
        if source.otel_exporter == "none":
            return []
        source = process_tracer(source)
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(source)]


def client_tracer(client: Client) -> Tracer:
    """The tracer of the client's ``TracingInterceptor``, for spans of the worker's own
    (an SMTP send inside an activity): the same provider, so they join the activity's
    trace. No interceptor, no tracing: a tracer that records nothing."""
    from temporalio.contrib.opentelemetry import TracingInterceptor

    found = (i for i in client.config()["interceptors"] if isinstance(i, TracingInterceptor))
    return next((i.tracer for i in found), NoOpTracer())


HOUR = 3600.0
FIRST_FILING_BUCKETS = [
    h * HOUR for h in (0.25, 0.5, 1, 2, 4, 6, 12, 18, 22, 24, 36, 48, 72, 120, 168)
]
"""Seconds from awareness to the first filing: around the 24 h and 72 h deadlines (the
SDK's default buckets stop at 10 000 s)."""


def metrics_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime serving Prometheus metrics, if an address is configured.

    The SDK binds the address when the runtime is made: make one per process.
    """
    if not settings.metrics_address:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=settings.metrics_address,
                counters_total_suffix=True,
                unit_suffix=True,
                durations_as_seconds=True,
                histogram_bucket_overrides={FIRST_FILING.name: FIRST_FILING_BUCKETS},
            )
        )
    )
