"""Accounts and API tokens through the API (create, role, disable, revoke), the narrow
intake role, and who acted: always the signed-in principal."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from breachclock.web.auth import Role
from tests.conftest import SmtpSink, unique
from tests.web.support import PASSWORD, element, web
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
            (row[0], row[1])
            for row in await w.auth.store.db.query(
                "SELECT action, reference FROM audit WHERE reference LIKE '%:%' ORDER BY seq"
            )
        ]
        assert ("account.created.oncall", "account:sara") in actions
        assert ("account.role.auditor", "account:sara") in actions
        assert ("account.disabled", "account:sara") in actions
        assert ("token.revoked", f"token:{token_id}") in actions
        assert not [a for a in actions if secret in a[0] or password in a[0]], "no secret"


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


async def test_a_manager_keeps_accounts_and_tokens_in_the_console(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The page names every account with its role and state, makes one (its password
    shown once), changes a role, disables and enables again, makes a token (its secret
    shown once) and revokes it; every change is audited without its secret, refusals
    stand beside their field in the reader's language, and only managers reach it."""
    async with web(dev_server, tmp_path, smtp) as w, w.client() as maria:
        maria.cookies.set("bc_lang", "sv")
        csrf = await w.sign_in(maria, "maria", Role.MANAGER)
        form = {"X-CSRF-Token": csrf, "HX-Request": "true"}
        page = await maria.get("/accounts")
        assert page.status_code == 200 and 'href="/accounts" aria-current="page"' in page.text
        assert ">maria <span" in page.text and "incidentansvarig" in page.text

        short = await maria.post(
            "/accounts", data={"name": "sara", "role": "oncall", "password": "kort"}, headers=form
        )
        assert "12" in (element(short.text, "err-new-password") or ""), short.text
        made = await maria.post("/accounts", data={"name": "sara", "role": "oncall"}, headers=form)
        assert "Kontot sara är skapat" in made.text, made.text
        password = element(made.text, "secret-new")
        assert password and 'data-copy="secret-new"' in made.text
        assert 'id="accounts-part" hx-swap-oob="true"' in made.text, "the list, renewed"
        async with w.client() as sara:
            signed = await sara.post("/login", data={"name": "sara", "password": password})
            assert signed.status_code == 303
            assert (await sara.get("/accounts")).status_code == 403, "managers only"

        rows = re.findall(
            r'hx-post="/accounts/([^/"]+)/role"[^>]*>\s*<input type="hidden" '
            r'name="row" value="(\d+)"',
            page.text + made.text,
        )
        row = dict(rows)
        mine = await maria.post(
            "/accounts/maria/role", data={"role": "agent", "row": row["maria"]}, headers=form
        )
        beside = element(mine.text, f"err-a{row['maria']}-role")
        assert beside and "din egen roll" in beside, mine.text
        english = await maria.post(
            "/accounts/maria/role",
            data={"role": "agent", "row": row["maria"]},
            headers={**form, "Cookie": f"bc_lang=en; bc_session={maria.cookies['bc_session']}"},
        )
        assert "your own role" in (element(english.text, f"err-a{row['maria']}-role") or "")
        forged = await maria.post("/accounts/sara/role", data={"role": "agent"})
        assert forged.status_code == 403 and "Ladda om sidan" in forged.text, "no CSRF token"

        role = await maria.post("/accounts/sara/role", data={"role": "auditor"}, headers=form)
        assert "sara har nu rollen granskare" in role.text, role.text
        off = await maria.post("/accounts/sara/disable", headers=form)
        assert "Kontot sara är avstängt" in off.text and "Avstängt" in off.text
        async with w.client() as sara:
            again = await sara.post("/login", data={"name": "sara", "password": password})
            assert again.status_code == 401
            await maria.post("/accounts/sara/enable", headers=form)
            again = await sara.post("/login", data={"name": "sara", "password": password})
            assert again.status_code == 303

        odd = "ola/nord ?#"  # any name: the page's links must still reach it
        await maria.post("/accounts", data={"name": odd, "role": "agent"}, headers=form)
        (path,) = re.findall(
            r'hx-post="(/accounts/ola[^"]*/disable)"', (await maria.get("/accounts")).text
        )
        gone = await maria.post(path, headers=form)
        assert f"Kontot {odd} är avstängt" in gone.text.replace("&#34;", '"'), gone.text

        nobody = await maria.post(
            "/tokens", data={"label": "siem", "owner": "nobody", "role": "auditor"}, headers=form
        )
        assert "nobody" in (element(nobody.text, "err-token-owner") or ""), nobody.text
        token = await maria.post(
            "/tokens",
            data={"label": "siem", "owner": "sara", "role": "auditor", "days": "30"},
            headers=form,
        )
        secret = element(token.text, "secret-token")
        assert secret and "API-nyckeln siem är skapad" in token.text, token.text
        (token_id,) = re.findall(r'hx-post="/tokens/([0-9a-f]+)/revoke"', token.text)
        async with w.client(headers={"Authorization": f"Bearer {secret}"}) as siem:
            assert (await siem.get("/api/incidents")).status_code == 200
            listed = (await maria.get("/accounts")).text
            assert "sara" in listed and token_id in listed
            revoked = await maria.post(f"/tokens/{token_id}/revoke", headers=form)
            assert "API-nyckeln siem är återkallad" in revoked.text, revoked.text
            refused(await siem.get("/api/incidents"), 401)

        async with await w.bearer(Role.MANAGER) as boss:
            assert (await boss.post("/api/accounts/admin/disable")).status_code == 204
            last = await boss.put("/api/accounts/maria/role", json={"role": "auditor"})
            refused(last, 409, "maria")
            assert [e["pointer"] for e in last.json()["errors"]] == ["/role"]
            refused(await boss.post("/api/accounts/maria/disable"), 409, "maria")
        assert (await maria.get("/accounts")).status_code == 200, "maria is still a manager"

        changes = await w.auth.store.audit_about(("account", "token"))
        done = [(c.actor, c.action, c.reference) for c in reversed(changes)]
        assert done[:8] == [
            ("maria", "account.created.oncall", "account:sara"),
            ("maria", "account.role.auditor", "account:sara"),
            ("maria", "account.disabled", "account:sara"),
            ("maria", "account.enabled", "account:sara"),
            ("maria", "account.created.agent", f"account:{odd}"),
            ("maria", "account.disabled", f"account:{odd}"),
            ("maria", "token.created.auditor", f"token:{token_id}"),
            ("maria", "token.revoked", f"token:{token_id}"),
        ]
        rows_text = str(await w.auth.store.db.query("SELECT * FROM audit"))
        assert password not in rows_text and secret not in rows_text
