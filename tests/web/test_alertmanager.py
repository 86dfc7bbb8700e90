"""Alertmanager's webhook, delivered by the real Alertmanager (Debian's
``prometheus-alertmanager``) to the API: the README's labels, a resolved alert, a
re-fire after the incident was closed, and what the incident keeps of the alert."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web as aioweb
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.ids import workflow_id
from breachclock.runtime.outbox import free_port
from breachclock.web.auth import Role
from tests.conftest import SmtpSink, unique
from tests.serving import serving
from tests.web.support import Web, web
from workflows.incident import IncidentWorkflow

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
needs_alertmanager = pytest.mark.skipif(
    ALERTMANAGER is None and not os.environ.get("CI"),
    reason="Alertmanager is not installed (Debian prometheus-alertmanager; .ci/run installs it)",
)
WAIT = 30.0


class Relay:
    """Alertmanager's webhook receiver: hands each delivery to the API as Alertmanager
    sent it, answers Alertmanager with the API's status, and keeps both for the test."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api
        self.port = free_port()
        self.deliveries: asyncio.Queue[tuple[dict[str, Any], httpx.Response]] = asyncio.Queue()

    async def handle(self, request: aioweb.Request) -> aioweb.Response:
        body = await request.json()
        answer = await self.api.post("/api/intake/alertmanager", json=body)
        await self.deliveries.put((body, answer))
        return aioweb.Response(status=answer.status_code, text=answer.text)

    async def next(self, status: str) -> tuple[dict[str, Any], httpx.Response]:
        """The next delivery whose group has ``status`` (firing, resolved)."""
        while True:
            body, answer = await asyncio.wait_for(self.deliveries.get(), WAIT)
            if body["status"] == status:
                return body, answer


@asynccontextmanager
async def relay(api: httpx.AsyncClient) -> AsyncIterator[Relay]:
    found = Relay(api)
    app = aioweb.Application()
    app.router.add_post("/hook", found.handle)
    async with serving(app, found.port):
        yield found


@contextmanager
def alertmanager(tmp_path: Path, hook_port: int) -> Iterator[str]:
    """A real Alertmanager routing every alert to the relay, flushing each second."""
    assert ALERTMANAGER is not None
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        json.dumps(
            {
                "route": {
                    "receiver": "breachclock",
                    "group_by": ["alertname"],
                    "group_wait": "0s",
                    "group_interval": "1s",
                    "repeat_interval": "1h",
                },
                "receivers": [
                    {
                        "name": "breachclock",
                        "webhook_configs": [
                            {"url": f"http://127.0.0.1:{hook_port}/hook", "send_resolved": True}
                        ],
                    }
                ],
            }
        )
    )
    port = free_port()
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


async def post_alert(base: str, labels: dict[str, str], **times: datetime) -> None:
    alert: dict[str, Any] = {
        "labels": labels,
        "annotations": {"summary": "Subscriber export readable from the internet"},
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up",
        **{k: v.isoformat() for k, v in times.items()},
    }
    async with httpx.AsyncClient() as client:
        for _ in range(100):  # until Alertmanager listens
            try:
                response = await client.post(f"{base}/api/v2/alerts", json=[alert])
                response.raise_for_status()
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise AssertionError("Alertmanager did not start")


async def timeline_codes(w: Web, reference: str) -> list[str | None]:
    handle = w.h.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id(reference))
    state = await handle.query(IncidentWorkflow.status)
    return [e.code for e in state.timeline]


@needs_alertmanager
async def test_alertmanager_opens_notes_resolution_and_reopens_after_close(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    labels = {"alertname": unique("Export"), "breachclock": "incident", "breachclock_regime": "imy"}
    started = datetime.now(UTC).replace(microsecond=0)
    async with (
        web(dev_server, tmp_path, smtp) as w,
        await w.bearer(Role.MANAGER) as api,
        relay(api) as hook,
    ):
        with alertmanager(tmp_path, hook.port) as base:
            await post_alert(base, labels, startsAt=started)
            sent, first = await hook.next("firing")
            assert first.status_code == 200, first.text
            assert first.json()["opened"] and first.json()["paged"]
            ref = first.json()["reference"]
            status = (await api.get(f"/api/incidents/{ref}")).json()
            assert status["regime"] == "imy" and status["state"] == "opened"
            alert = status["alert"]
            assert alert["labels"] == labels
            assert alert["fingerprint"] == sent["alerts"][0]["fingerprint"]
            assert alert["generator_url"].startswith("http://prometheus.example:9090/graph")
            assert datetime.fromisoformat(alert["starts_at"]) == started
            assert "timeline.alert_fired" in await timeline_codes(w, ref)

            await post_alert(base, labels, startsAt=started, endsAt=datetime.now(UTC))
            _, resolved = await hook.next("resolved")
            assert resolved.status_code == 200, resolved.text
            assert resolved.json()["reference"] == ref and resolved.json()["resolved"] == 1
            assert "timeline.alert_resolved" in await timeline_codes(w, ref)
            assert (await api.get(f"/api/incidents/{ref}")).json()["state"] == "opened"

            closed = await api.post(f"/api/incidents/{ref}/close", json={"reason": "not a breach"})
            assert closed.status_code == 200, closed.text
            again = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
            await post_alert(base, labels, startsAt=again)
            _, refired = await hook.next("firing")
            assert refired.status_code == 200, refired.text
            answer = refired.json()
            assert answer["reference"] not in (None, ref)
            assert answer["opened"] and answer["paged"] and answer["follows"] == ref
            second = (await api.get(f"/api/incidents/{answer['reference']}")).json()
            assert second["state"] == "opened" and second["alert"]["follows"] == ref
            assert (await api.get(f"/api/incidents/{ref}")).json()["state"] == "closed"
        pages = [m for m in w.h.smtp.messages if str(m["Subject"]).startswith("[breachclock]")]
        body = pages[0].get_payload(decode=True).decode()
        assert f"/incidents/{ref}" in body and "på incidentens sida i konsolen" in body
        assert "discover" not in body and "--" not in body, "a page names no terminal command"
        assert sorted(str(m["Subject"]).split()[1].rstrip(":") for m in pages) == sorted(
            [ref, answer["reference"]]
        )


@pytest.mark.parametrize("value", ["imy", "IMY", "pts", "dk"])
async def test_every_regime_label_the_readme_shows_is_accepted(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink, value: str
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
        response = await api.post("/api/intake/alertmanager", json=hook_with(value))
        assert response.status_code == 200, response.text
        ref = response.json()["reference"]
        status = (await api.get(f"/api/incidents/{ref}")).json()
        assert status["regime"] == value.lower()


async def test_an_unknown_regime_is_a_422_naming_the_accepted_values(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
        response = await api.post("/api/intake/alertmanager", json=hook_with("gdpr"))
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["code"] == "intake.unknown_regime"
        assert error["pointer"].endswith("/alerts/0/labels/breachclock_regime")
        for accepted in ("pts", "imy", "dk"):
            assert accepted in error["detail"]


def hook_with(regime: str) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": unique("group"),
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "Export",
                    "breachclock": "incident",
                    "breachclock_regime": regime,
                },
                "startsAt": datetime.now(UTC).isoformat(),
                "fingerprint": "f1",
            }
        ],
    }
