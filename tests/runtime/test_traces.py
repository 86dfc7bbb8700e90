"""One trace from the HTTP request or the CLI command through the workflow and the
activity to the SMTP conversation, received by a real OTLP/HTTP endpoint (an aiohttp
server decoding the protobuf the exporter posts), with no personal data in any span."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web as aioweb
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from breachclock.runtime import telemetry
from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import free_port
from breachclock.runtime.telemetry import interceptors, process_tracer
from breachclock.runtime.temporal import start_time_skipping
from breachclock.web.auth import Role
from tests.conftest import SmtpSink, harness, unique
from tests.serving import own_dev_server, serving
from tests.web.support import web

PERSON = "Anna Andersson"
PHONE = "+46701234567"
TITLE = f"Samtalslistor för {PERSON} ({PHONE}) publicerade"


class Receiver:
    """An OTLP/HTTP traces endpoint: every span it was sent."""

    def __init__(self) -> None:
        self.port = free_port()
        self.spans: list[Span] = []

    async def traces(self, request: aioweb.Request) -> aioweb.Response:
        export = ExportTraceServiceRequest.FromString(await request.read())
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(scope.spans)
        return aioweb.Response(body=b"", content_type="application/x-protobuf")

    def one(self, name: str) -> Span:
        (found,) = [s for s in self.spans if s.name == name]
        return found

    def values(self) -> list[str]:
        """Every attribute value and name of every span, as text."""
        found = []
        for span in self.spans:
            found.append(span.name)
            for event in span.events:
                found += [str(a.value) for a in event.attributes]
            found += [str(a.value) for a in span.attributes]
        return found


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = aioweb.Application()
    app.router.add_post("/v1/traces", found.traces)
    async with serving(app, found.port):
        yield found


@pytest.fixture
def fresh_provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's provider made anew in this test (for its receiver's endpoint)."""
    monkeypatch.setattr(telemetry, "_process", [])
    yield
    telemetry.flush()


def assert_no_personal_data(found: Receiver) -> None:
    text = " ".join(found.values())
    for personal in (PERSON, PHONE, "Anna", "@"):
        assert personal not in text, f"{personal!r} in a span"


async def test_an_http_request_is_one_trace_down_to_the_smtp_conversation(
    tmp_path: Path, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch, fresh_provider: None
) -> None:
    async with receiver() as otlp:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{otlp.port}")
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
        tracer = process_tracer(Settings(BREACHCLOCK_OTEL_EXPORTER="otlp"))
        env = await start_time_skipping(interceptors=interceptors(tracer))
        try:
            async with web(env, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
                reference = unique("TRACE")
                opened = await api.post(
                    "/api/incidents", json={"reference": reference, "title": TITLE}
                )
                assert opened.status_code == 201, opened.text
                discovered = await api.post(
                    f"/api/incidents/{reference}/discovery",
                    json={"at": datetime.now(UTC).isoformat(), "how": PHONE},
                )
                assert discovered.status_code == 200, discovered.text
                approved = await api.post(f"/api/incidents/{reference}/approvals", json={})
                assert approved.status_code == 200, approved.text
                assert approved.json()["filed"] is not None
        finally:
            await env.shutdown()
        await asyncio.to_thread(telemetry.flush)

    request = otlp.one("POST /api/incidents")
    assert request.kind == Span.SPAN_KIND_SERVER and not request.parent_span_id
    start = otlp.one("StartWorkflow:Incident")
    assert start.parent_span_id == request.span_id, "the client call is the request's child"
    for name in ("RunWorkflow:Incident", "RunActivity:file_report", "SmtpSend"):
        assert otlp.one(name).trace_id == request.trace_id, f"{name} in the request's trace"
    approval = otlp.one("POST /api/incidents/{reference}/approvals")
    assert otlp.one("StartWorkflowUpdate:approve").parent_span_id == approval.span_id
    codes = {
        a.key: a.value.int_value for a in approval.attributes if a.key.startswith("http.response")
    }
    assert codes == {"http.response.status_code": 200}
    assert_no_personal_data(otlp)


async def test_a_cli_command_is_the_root_of_its_trace(tmp_path: Path, smtp: SmtpSink) -> None:
    """``breachclock open`` in its own process, against a dev server with a worker."""
    async with (
        own_dev_server(tmp_path / "engine") as (ports, env),
        harness(env, tmp_path, smtp) as h,
        receiver() as otlp,
    ):
        reference = unique("CLI")
        cli: dict[str, Any] = {
            **os.environ,
            "BREACHCLOCK_DATA_DIR": str(ports.data_dir),
            "BREACHCLOCK_TEMPORAL_PORT": str(ports.temporal_port),
            "BREACHCLOCK_TASK_QUEUE": h.settings.task_queue,
            "BREACHCLOCK_OTEL_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp.port}",
        }
        cli.pop("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None)
        done = await asyncio.to_thread(
            subprocess.run,
            [
                str(Path(sys.executable).parent / "breachclock"),
                "open",
                reference,
                "--title",
                TITLE,
            ],
            env=cli,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        command = otlp.one("breachclock open")
        assert not command.parent_span_id, "the command is the trace's root"
        start = otlp.one("StartWorkflow:Incident")
        assert start.parent_span_id == command.span_id
        assert_no_personal_data(otlp)
