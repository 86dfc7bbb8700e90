"""Recording a portal receipt on every surface, against the dev server and a real
worker: the API (with its coded refusals), the console's form (with the receipt's PDF)
and the command line; the receipt then shows in the console's filings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import IncidentState
from breachclock.domain.instants import zone
from breachclock.domain.regimes import RegimeCode, dk
from breachclock.web.auth import Role
from tests.cli.test_cli import Cli
from tests.conftest import SmtpSink, unique
from tests.web.support import web
from workflows.incident import IncidentWorkflow


def local(at: datetime, operator_zone: str) -> str:
    """``at`` as the console's datetime-local field sends it (the operator's zone, to the
    minute: the next one, not to fall before the preparation)."""
    return (at + timedelta(minutes=1)).astimezone(zone(operator_zone)).strftime("%Y-%m-%dT%H:%M")


async def prepared(api: httpx.AsyncClient, ref: str) -> None:
    approved = await api.post(f"/api/incidents/{ref}/approvals", json={})
    assert approved.status_code == 200, approved.text
    assert approved.json()["said"]["code"] == "answer.approve.prepared_for_portal"
    assert dk.PORTAL in approved.json()["message"]


async def test_a_receipt_is_recorded_through_the_api_the_console_and_the_cli(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
        ref, other = unique("DK"), unique("DK")
        await w.h.discovered(ref, regime=RegimeCode.DK)
        await prepared(api, ref)
        now = datetime.now(UTC)
        again = await api.post(f"/api/incidents/{ref}/approvals", json={"filing": "initial_report"})
        assert again.json()["said"]["code"] == "answer.approve.prepared_for_portal", again.text
        to_file = await api.get(f"/api/incidents/{ref}/report", params={"format": "text"})
        assert "Anmeldelse nr.: 1" in to_file.text and "Klargjort til portalen" in to_file.text

        ahead = {"receipt": "ERST-9", "at": (now + timedelta(hours=2)).isoformat()}
        future = await api.post(f"/api/incidents/{ref}/filings/1/receipt", json=ahead)
        assert future.status_code == 409 and "future" in future.json()["detail"]
        unknown = await api.post(
            f"/api/incidents/{ref}/filings/5/receipt",
            json={"receipt": "ERST-9", "at": now.isoformat()},
        )
        assert unknown.status_code == 409 and "no. 5" in unknown.json()["detail"]

        client = w.client()
        client.cookies.set("bc_lang", "da")
        csrf = await w.sign_in(client, "dorthe", Role.MANAGER)
        zone_name = w.h.settings.operator_zone
        page = await client.get(f"/incidents/{ref}?tab=report")
        assert dk.PORTAL in page.text and 'id="receipt-dk"' in page.text
        not_pdf = await client.post(
            f"/incidents/{ref}/receipt",
            data={"filing": "1", "track": "dk", "receipt": "ERST-9", "at": local(now, zone_name)},
            files={"pdf": ("kvittering.pdf", b"not a receipt", "application/pdf")},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert "filen er ikke en kvittering" in not_pdf.text, not_pdf.text
        form = await client.post(
            f"/incidents/{ref}/receipt",
            data={
                "filing": "1",
                "track": "dk",
                "receipt": "ERST-9",
                "at": local(now, w.h.settings.operator_zone),
            },
            files={"pdf": ("kvittering.pdf", b"%PDF-1.4 receipt", "application/pdf")},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert form.status_code == 200 and "ERST-9" in form.text, form.text
        assert list((w.h.settings.data_dir / "receipts").glob(f"{ref}-1-*.pdf"))
        conflict = await api.post(
            f"/api/incidents/{ref}/filings/1/receipt",
            json={"receipt": "ERST-10", "at": now.isoformat()},
        )
        assert conflict.status_code == 409 and "ERST-9" in conflict.json()["detail"]
        filings = await client.get(f"/incidents/{ref}?tab=report")
        assert "portalens kvittering ERST-9" in filings.text

        handle = await w.h.discovered(other, regime=RegimeCode.DK)
        await prepared(api, other)
        cli = Cli.of(dev_server, w.h.settings)
        done = await cli(
            "receipt",
            other,
            "1",
            "--receipt",
            "ERST-11",
            "--at",
            datetime.now(UTC).isoformat(),
            "--by",
            "Dorthe",
        )
        assert done.returncode == 0 and "ERST-11" in done.stdout, done.stderr
        state: IncidentState = await handle.query(IncidentWorkflow.status)

    assert state.filings[0].receipt is not None and state.filings[0].receipt.number == "ERST-11"
    assert all(m["To"].endswith("operator.example") for m in smtp.messages)
