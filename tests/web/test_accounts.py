"""Accounts and API tokens through the API (create, role, disable, revoke), the narrow
intake role, and who acted: always the signed-in principal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from breachclock.web.auth import Role
from tests.conftest import SmtpSink, unique
from tests.web.support import PASSWORD, web
from tests.web.test_api import now_text, opened, refused


async def test_a_manager_keeps_accounts_and_tokens_and_a_disabled_one_stops_at_once(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as boss:
        made = await boss.post("/api/accounts", json={"name": "sara", "role": "oncall"})
        assert made.status_code == 201, made.text
        password = made.json()["password"]
        assert password and len(password) >= 12
        refused(
            await boss.post("/api/accounts", json={"name": "sara", "role": "agent"}), 409, "sara"
        )
        refused(await boss.post("/api/accounts", json={"name": "x", "role": "king"}), 422, "role")
        listed = {a["name"]: a for a in (await boss.get("/api/accounts")).json()}
        assert listed["sara"]["role"] == "oncall" and listed["sara"]["password"] is True

        async with w.client() as browser:
            signed = await browser.post("/login", data={"name": "sara", "password": password})
            assert signed.status_code == 303
            csrf = browser.cookies["bc_session"] and (
                await w.auth.store.session(browser.cookies["bc_session"], datetime.now(UTC))
            )
            assert csrf is not None
            ref = await opened(boss)
            event = await browser.post(
                f"/api/incidents/{ref}/events",
                json={"at": now_text(), "what": "paged at night"},
                headers={"X-CSRF-Token": csrf.csrf},
            )
            assert event.status_code == 200, event.text
            timeline = (await boss.get(f"/api/incidents/{ref}/timeline")).json()
            assert any(e["what"] == "paged at night" and e["by"] == "sara" for e in timeline)

            role = await boss.put("/api/accounts/sara/role", json={"role": "auditor"})
            assert role.status_code == 204
            refused(
                await browser.post(
                    f"/api/incidents/{ref}/events",
                    json={"at": now_text(), "what": "x"},
                    headers={"X-CSRF-Token": csrf.csrf},
                ),
                403,
                "auditor",
            )
            refused(await boss.put("/api/accounts/nobody/role", json={"role": "agent"}), 404)

            token = await boss.post("/api/tokens", json={"label": "siem", "role": "auditor"})
            assert token.status_code == 201, token.text
            secret, token_id = token.json()["secret"], token.json()["id"]
            bot = w.client(headers={"Authorization": f"Bearer {secret}"})
            async with bot:
                assert (await bot.get(f"/api/incidents/{ref}")).status_code == 200
                (listed_token,) = [
                    t for t in (await boss.get("/api/tokens")).json() if t["id"] == token_id
                ]
                assert listed_token["last_used_at"] and listed_token["expires_at"]
                assert "secret" not in listed_token
                revoked = await boss.delete(f"/api/tokens/{token_id}")
                assert revoked.status_code == 204
                refused(await bot.get(f"/api/incidents/{ref}"), 401)
                refused(await boss.delete(f"/api/tokens/{token_id}"), 404)

            sara_token = await w.auth.store.add_token(
                "sara-secret", "sara-bot", Role.AUDITOR, datetime.now(UTC), owner="sara"
            )
            assert sara_token
            async with w.client(headers={"Authorization": "Bearer sara-secret"}) as sara_bot:
                assert (await sara_bot.get(f"/api/incidents/{ref}")).status_code == 200
                assert (await browser.get(f"/api/incidents/{ref}")).status_code == 200
                disabled = await boss.post("/api/accounts/sara/disable")
                assert disabled.status_code == 204
                refused(await browser.get(f"/api/incidents/{ref}"), 401)
                refused(await sara_bot.get(f"/api/incidents/{ref}"), 401)
            again = await browser.post("/login", data={"name": "sara", "password": password})
            assert again.status_code == 401

        async with w.client() as admin_browser:
            await w.sign_in(admin_browser, "ingrid", Role.MANAGER)
            csrf_ingrid = await w.auth.store.session(
                admin_browser.cookies["bc_session"], datetime.now(UTC)
            )
            assert csrf_ingrid is not None
            refused(
                await admin_browser.post(
                    "/api/accounts/ingrid/disable", headers={"X-CSRF-Token": csrf_ingrid.csrf}
                ),
                409,
            )
        actions = [
            row[0]
            for row in await w.auth.store.db.query(
                "SELECT action FROM audit WHERE reference IS NULL ORDER BY seq"
            )
        ]
        assert "account created sara (oncall)" in actions
        assert "role of sara set to auditor" in actions and "account disabled sara" in actions
        assert f"token revoked {token_id}" in actions


async def test_an_expired_token_is_refused_and_the_intake_role_does_only_the_intake(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        past = datetime.now(UTC) - timedelta(minutes=1)
        await w.auth.store.add_token("old", "old", Role.MANAGER, past, expires=past)
        async with w.client(headers={"Authorization": "Bearer old"}) as old:
            refused(await old.get("/api/incidents"), 401)
        async with await w.bearer(Role.MANAGER) as boss:
            ref = await opened(boss)
        hook = {
            "groupKey": unique("group"),
            "alerts": [{"labels": {"alertname": "Export", "breachclock": "incident"}}],
        }
        async with await w.bearer(Role.INTAKE, "alertmanager") as intake:
            taken = await intake.post("/api/intake/alertmanager", json=hook)
            assert taken.status_code == 200 and taken.json()["opened"], taken.text
            refused(await intake.get("/api/incidents"), 403, "intake")
            refused(await intake.get(f"/api/incidents/{ref}"), 403)
            refused(
                await intake.post("/api/incidents", json={"reference": "X-1", "title": "t"}), 403
            )
            refused(
                await intake.post(
                    f"/api/incidents/{ref}/discovery", json={"at": now_text(), "how": "x"}
                ),
                403,
            )
            refused(await intake.post("/api/calls/next"), 403)
            refused(await intake.get("/api/accounts"), 403)
        async with await w.bearer(Role.ONCALL) as oncall:
            refused(await oncall.post("/api/intake/alertmanager", json=hook), 403)
            refused(
                await oncall.post("/api/tokens", json={"label": "mine", "role": "manager"}), 403
            )
        assert PASSWORD
