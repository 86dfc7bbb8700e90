"""Letters through the HTTP API, on a real worker and the dev server: a print batch (the
same Idempotency-Key answers with the same batch), its PDF, recorded as posted once, a
refusal beside the field, and the incident's report counting the letter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import IncidentState
from breachclock.web.auth import Role
from tests.cli.test_notification import NOTICE
from tests.conftest import SmtpSink
from tests.notify_support import HARMFUL
from tests.web.support import Web, element, web
from tests.web.test_api import opened, refused
from workflows.incident import IncidentWorkflow

LIST = """id,name,phone,affected_items,postal_address
S1,Anna Svensson,+46701234567,secret number,"Storgatan 1, 111 22 Stockholm"
S2,Bo Berg,+46701234568,secret number,
"""


async def test_a_batch_is_made_printed_and_posted_once_and_the_incident_counts_it(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    outcomes = {"invalid_number": 1.0}
    async with (
        web(
            dev_server,
            tmp_path,
            smtp,
            BREACHCLOCK_SIMULATOR_OUTCOMES=outcomes,
            BREACHCLOCK_CALLING_HOURS="00:00-23:59",  # the calls fail at any hour the test runs
        ) as w,
        await w.bearer(Role.MANAGER) as api,
        await w.bearer(Role.AUDITOR) as reader,
    ):
        ref = await opened(api)
        now = datetime.now(UTC).isoformat()
        await api.post(f"/api/incidents/{ref}/discovery", json={"at": now, "how": "audit"})
        await api.post(f"/api/incidents/{ref}/assessment", json=HARMFUL)
        loaded = await api.put(
            f"/api/incidents/{ref}/subscribers",
            params={"name": "affected.csv"},
            content=LIST.encode(),
            headers={"content-type": "text/csv"},
        )
        assert loaded.status_code == 200, loaded.text
        assert (await api.put(f"/api/incidents/{ref}/notice", json=NOTICE)).status_code == 200
        decided = await api.post(f"/api/incidents/{ref}/decision", json={"notify": True})
        assert decided.status_code == 200, decided.text
        for _ in range(300):  # the campaign lists both for a letter within seconds
            if len((await api.get(f"/api/incidents/{ref}/unreachable")).json()) == 2:
                break
            await asyncio.sleep(0.1)

        refused(await reader.post(f"/api/incidents/{ref}/letters/batches"), 403)
        key = {"Idempotency-Key": "batch-1"}
        made, again = [
            await api.post(f"/api/incidents/{ref}/letters/batches", headers=key) for _ in (1, 2)
        ]
        assert made.status_code == 200, made.text
        assert made.json() == again.json(), "a retried request names the batch it made"
        batch = made.json()["batch"]
        assert batch["people"] == 1 and made.json()["no_address"] == 1

        pdf = await api.get(f"/api/incidents/{ref}/letters/batches/{batch['id']}/letters.pdf")
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
        assert pdf.headers["cache-control"] == "no-store"

        posted_url = f"/api/incidents/{ref}/letters/batches/{batch['id']}/posted"
        ahead = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        refused(await api.post(posted_url, json={"posted_at": ahead}), 422, "later than now")
        at = {"posted_at": datetime.now(UTC).isoformat()}
        first, second = [await api.post(posted_url, json=at) for _ in (1, 2)]
        assert (first.json()["new"], second.json()["new"]) == (1, 0)
        view = (await reader.get(f"/api/incidents/{ref}/letters")).json()
        assert (view["posted"], view["no_address"], view["waiting"]) == (1, ["S2"], 0)
        refused(
            await api.post(f"/api/incidents/{ref}/letters/returned", json={"subscriber": "S2"}),
            409,
            "not recorded as posted",
        )

        await console_shows_and_refuses(w, ref)

        handle = w.h.client.get_workflow_handle(f"incident-{ref}")
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        letters = state.notification.letters
        assert letters is not None and (letters.posted, letters.no_address) == (1, 1)
        fact = state.facts.subscriber_notice
        assert fact is not None and fact.outcomes["letters.posted"] == 1


async def console_shows_and_refuses(w: Web, ref: str) -> None:
    """The People tab in Swedish: nobody left to print, the batch posted, a posting in the
    future refused beside its field, the note on who has no postal address."""
    async with w.client() as client:
        csrf = await w.sign_in(client, "mia", Role.MANAGER)
        client.cookies.set("bc_lang", "sv")
        sv = {"X-CSRF-Token": csrf, "HX-Request": "true"}
        made = await client.post(f"/incidents/{ref}/letters/batch", headers=sv)
        assert "Ingen att skriva ut" in made.text and "saknar postadress" in made.text
        tab = (await client.get(f"/incidents/{ref}?tab=people", headers=sv)).text
        assert "postad " in tab and "Hämta utskriftsfilen (PDF)" in tab
        assert "Registrera ett returnerat brev" in tab
        assert "1 på listan saknar postadress" in tab
        batch = tab.split("/letters.pdf")[0].rsplit("/letters/", 1)[1]
        ahead = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        answer = await client.post(
            f"/incidents/{ref}/letters/{batch}/posted", data={"posted_at": ahead}, headers=sv
        )
        assert element(answer.text, "err-b1-posted-at") is not None, answer.text
        assert "kan inte ha postats senare än nu" in answer.text
        pdf = await client.get(f"/incidents/{ref}/letters/{batch}/letters.pdf", headers=sv)
        assert pdf.content[:5] == b"%PDF-"
