"""Owning a page and getting data taken down, from the web: the page e-mail's link
opens the acknowledgement in the console (a GET shows it, only a POST acts, once),
the API acknowledges, snoozes and keeps the takedowns, all with the CLI's checks."""

from __future__ import annotations

import re
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import Discover
from breachclock.web.auth import Role
from tests.conftest import SmtpSink, unique
from tests.web.support import web
from tests.web.test_api import refused
from tests.workflows.test_ownership import body
from workflows.incident import IncidentWorkflow


async def test_a_pages_link_acknowledges_once_in_the_console_and_the_api_owns_the_rest(
    dev_server: WorkflowEnvironment, tmp_path: object, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:  # type: ignore[arg-type]
        ref = unique("OWN")
        handle = await w.h.open(ref)
        # Aware 20 h ago: the 6 h page is due at once.
        aware = await w.h.now() - timedelta(hours=20)
        await handle.execute_update(
            IncidentWorkflow.discover, Discover(at=aware, by="On-call", how="an alarm")
        )
        await w.h.wait_for(lambda: any(ref in str(m["Subject"]) for m in smtp.messages), 30)
        page = next(m for m in smtp.messages if ref in str(m["Subject"]))
        link = re.search(r"/ack/(\S+)", body(page))
        assert link is not None
        token = link.group(1)

        async with w.client() as browser:
            csrf = await w.sign_in(browser, "kim", Role.ONCALL)
            browser.cookies.set("bc_lang", "en")  # the person's choice of language
            shown = await browser.get(f"/ack/{token}")
            assert shown.status_code == 200 and ref in shown.text and "initial report" in shown.text
            assert (await handle.query(IncidentWorkflow.status)).tracks[0].acknowledged == {}, (
                "opening the link (a mail scanner can) acknowledges nothing"
            )
            tampered = await browser.get(f"/ack/{token[:-3]}AAA")
            assert tampered.status_code == 410 and "not valid" in tampered.text
            done = await browser.post(f"/ack/{token}", headers={"X-CSRF-Token": csrf})
            assert "acknowledged by kim" in done.text
            twice = await browser.post(f"/ack/{token}", headers={"X-CSRF-Token": csrf})
            assert "acknowledged by kim" in twice.text, "a second click is the same answer"
        async with w.client() as other:
            csrf = await w.sign_in(other, "lee", Role.ONCALL)
            other.cookies.set("bc_lang", "en")
            again = await other.post(f"/ack/{token}", headers={"X-CSRF-Token": csrf})
            assert "used already" in again.text, "the link acknowledges once"
        timeline = (await handle.query(IncidentWorkflow.status)).timeline
        assert sum("page acknowledged" in e.what for e in timeline) == 1

        async with await w.bearer(Role.ONCALL, "night") as oncall:
            owned = await oncall.post(f"/api/incidents/{ref}/acknowledgements", json={})
            assert (
                owned.status_code == 200
                and "already acknowledged by kim" in owned.json()["message"]
            )
            refused(
                await oncall.post(f"/api/incidents/{ref}/snooze", json={"minutes": 45}),
                422,
                "30, 60 or 120",
            )
            snoozed = await oncall.post(f"/api/incidents/{ref}/snooze", json={"minutes": 60})
            assert snoozed.status_code == 200 and "snoozed until" in snoozed.json()["message"]
            refused(
                await oncall.post(
                    f"/api/incidents/{ref}/takedowns",
                    json={"recipient": "eniro", "scope": "secret numbers", "count": 3},
                ),
                403,
            )

        async with await w.bearer(Role.MANAGER, "im") as manager:
            known = (await manager.get("/api/takedown-recipients")).json()
            recipient = sorted(known["se"])[0]
            ask = {"recipient": recipient, "scope": "entries marked secret in the feed", "count": 3}
            asked = await manager.post(f"/api/incidents/{ref}/takedowns", json=ask)
            assert asked.status_code == 200, asked.text
            refused(
                await manager.post(
                    f"/api/incidents/{ref}/takedowns", json={**ask, "recipient": "nobody"}
                ),
                409,
                "no recipient nobody",
            )
            refused(
                await manager.post(
                    f"/api/incidents/{ref}/takedowns/{recipient}", json={"status": "confirmed"}
                ),
                422,
                "how",
            )
            confirmed = await manager.post(
                f"/api/incidents/{ref}/takedowns/{recipient}",
                json={"status": "confirmed", "how_verified": "searched for 3 of them: gone"},
            )
            assert confirmed.status_code == 200, confirmed.text
            (task,) = (await manager.get(f"/api/incidents/{ref}/takedowns")).json()
            assert task["recipient"] == recipient and task["status"] == "confirmed"
