"""Alertmanager delivering the same groups many times at once (it retries, and an HA
pair of Alertmanagers each delivers): one incident and one page per group, counted at
the SMTP server, and never a server error."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from breachclock.service import intake
from breachclock.web.auth import Role
from tests.conftest import SmtpSink, unique
from tests.web.support import web


def delivery(group: str) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="SubscriberExport"}}/{group}',
        "status": "firing",
        "receiver": "breachclock",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "SubscriberExport", "breachclock": "incident"},
                "startsAt": datetime.now(UTC).isoformat(),
            }
        ],
    }


async def test_concurrent_deliveries_page_each_group_once(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    groups = [unique("group") for _ in range(6)]
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
        answers = await asyncio.gather(
            *(
                api.post("/api/intake/alertmanager", json=delivery(g))
                for _ in range(10)
                for g in groups
            )
        )
        assert Counter(a.status_code for a in answers) == {200: len(answers)}
        references = {intake.reference_of(delivery(g)["groupKey"]) for g in groups}
        by_reference = Counter(a.json()["reference"] for a in answers)
        assert by_reference == dict.fromkeys(references, 10)
        assert Counter(
            a.json()["reference"] for a in answers if a.json()["opened"]
        ) == dict.fromkeys(references, 1)
        assert Counter(
            a.json()["reference"] for a in answers if a.json()["paged"]
        ) == dict.fromkeys(references, 1)
        pages = Counter(k.removesuffix(":page:intake") for k in smtp.keys())
        assert pages == dict.fromkeys(references, 1)


async def test_a_delivery_that_waits_too_long_is_told_when_to_retry(
    dev_server: WorkflowEnvironment,
    tmp_path: Path,
    smtp: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While one delivery's page hangs at a slow relay, a second of the same group waits
    its bound, then gets 409 with Retry-After and the coded ``busy`` problem."""
    monkeypatch.setattr(intake, "PAGE_WAIT", 0.5)
    smtp.slow, smtp.slow_for = 3.0, 1
    hook = delivery(unique("group"))
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
        first = asyncio.create_task(api.post("/api/intake/alertmanager", json=hook))
        for _ in range(500):  # until the first page is at the relay
            if smtp.slow_for == 0:
                break
            await asyncio.sleep(0.02)
        second = await api.post(
            "/api/intake/alertmanager", json=hook, headers={"Accept-Language": "sv"}
        )
        assert second.status_code == 409, second.text
        assert second.headers["Retry-After"] == "5"
        assert [e["code"] for e in second.json()["errors"]] == ["busy"]
        assert "försök igen om 5 sekunder" in second.json()["detail"]
        assert (await first).json()["paged"] is True
        again = await api.post("/api/intake/alertmanager", json=hook)
        assert again.status_code == 200 and again.json()["paged"] is False
        assert len(smtp.messages) == 1
