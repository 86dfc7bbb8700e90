"""The HTTP API on a real worker and the dev server: every route, its refusals as
problem details, idempotent retries, who may do what, CSRF, uploads and the intake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from breachclock.web.auth import Role
from breachclock.web.limits import JSON_LIMIT
from tests.cli.test_notification import CSV, NOTICE
from tests.conftest import SmtpSink, unique
from tests.notify_support import HARMFUL, decide, people, ready
from tests.web.support import AGENTS, BASE, web
from workflows.incident import IncidentWorkflow


def now_text(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def refused(response: httpx.Response, status: int, *words: str) -> str:
    """A problem detail (RFC 9457) with ``status`` whose one line has ``words``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["type"] == "about:blank"
    detail = str(problem["detail"])
    assert "\n" not in detail
    for word in words:
        assert word in detail, detail
    return detail


async def opened(api: httpx.AsyncClient, title: str = "Secret numbers published") -> str:
    ref = unique("WEB")
    response = await api.post("/api/incidents", json={"reference": ref, "title": title})
    assert response.status_code == 201, response.text
    return ref


async def test_every_incident_route_answers_and_refuses_as_the_cli_does(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
        ref = await opened(api)
        refused(
            await api.post("/api/incidents", json={"reference": ref, "title": "x"}),
            409,
            "already exists",
        )
        refused(
            await api.post("/api/incidents", json={"reference": "a b", "title": "x"}),
            422,
            "reference",
        )
        refused(
            await api.post("/api/incidents/NOPE-1/events", json={"at": now_text(), "what": "x"}),
            404,
            "NOPE-1",
        )
        not_json = await api.post(
            f"/api/incidents/{ref}/discovery",
            content=b"[1",
            headers={"content-type": "application/json"},
        )
        refused(not_json, 400, "JSON")

        early = await api.post(
            f"/api/incidents/{ref}/discovery", json={"at": "2026-11-23 09:00", "how": "x"}
        )
        refused(early, 422, "at:")
        found = await api.post(
            f"/api/incidents/{ref}/discovery", json={"at": now_text(), "how": "a customer asked"}
        )
        assert found.status_code == 200, found.text
        assert {d["name"] for d in found.json()["deadlines"]} >= {"initial_report"}

        bad = await api.post(
            f"/api/incidents/{ref}/facts", json={"changes": {"affected_count": -3}}
        )
        refused(bad, 422, "affected_count")
        gone = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
        past = await api.post(
            f"/api/incidents/{ref}/facts", json={"changes": {"expected": {"systems": gone}}}
        )
        refused(past, 409, "expected.systems:", gone, "already past")
        assert [(e["code"], e["pointer"]) for e in past.json()["errors"]] == [
            ("facts.expected_past", "/expected/systems")
        ]
        english = "A migration program set 'publish' on customers who asked for secret numbers."
        facts = await api.post(
            f"/api/incidents/{ref}/facts",
            json={"changes": {"affected_count": 3300, "circumstances": english}},
        )
        assert facts.status_code == 200 and "affected_count" not in facts.json()["missing"]

        event = await api.post(
            f"/api/incidents/{ref}/events",
            json={"at": now_text(-timedelta(hours=1)), "what": "export job stopped"},
        )
        assert event.status_code == 200, event.text

        status = (await api.get(f"/api/incidents/{ref}")).json()
        assert status["state"] and status["reference"] == ref
        assert status["notification"]["people"] == 0
        timeline = (await api.get(f"/api/incidents/{ref}/timeline")).json()
        assert any(e["what"] == "export job stopped" for e in timeline)
        text = await api.get(f"/api/incidents/{ref}/report")
        assert text.status_code == 200 and ref in text.text
        assert (await api.get(f"/api/incidents/{ref}/report", params={"format": "json"})).json()
        pdf = await api.get(f"/api/incidents/{ref}/report", params={"format": "pdf"})
        assert pdf.content.startswith(b"%PDF")

        foreign = await api.post(f"/api/incidents/{ref}/approvals", json={})
        refused(foreign, 422, "facts.circumstances: the text under", "English", "Swedish")
        (warning,) = foreign.json()["errors"]
        assert warning["code"] == "approve.other_language"
        assert warning["pointer"] == "/facts/circumstances"
        approved = await api.post(
            f"/api/incidents/{ref}/approvals", json={"other_language_ok": True}
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["filed"]["number"] == 1
        assert approved.json()["filed"]["language_override"] == ["circumstances"]
        await w.h.wait_for(lambda: any(ref in str(m["Subject"]) for m in w.h.smtp.messages))
        overridden = [
            e
            for e in (await api.get(f"/api/incidents/{ref}/timeline")).json()
            if "despite text in another language" in e["what"]
        ]
        assert [e["by"] for e in overridden] == ["manager-bot"], "who, when, which facts"

        short = await api.post(f"/api/incidents/{ref}/justification", json={"text": "too short"})
        refused(short, 422, "text")
        justified = await api.post(
            f"/api/incidents/{ref}/justification",
            json={"text": "The supplier's analysis of the migration program is not done yet."},
        )
        assert justified.status_code == 200, justified.text
        security = await api.post(f"/api/incidents/{ref}/security-report", json={})
        assert security.status_code == 200 and "NIS2" in security.json()["message"]
        again = await api.post(f"/api/incidents/{ref}/security-report", json={})
        assert again.json() == security.json(), "the same request is the same update"

        refused(
            await api.post(f"/api/incidents/{ref}/decision", json={"notify": True}),
            409,
            "assessment",
        )
        assessed = await api.post(f"/api/incidents/{ref}/assessment", json=HARMFUL)
        assert assessed.status_code == 200 and assessed.json()
        loaded = await api.put(
            f"/api/incidents/{ref}/subscribers",
            params={"name": "affected.csv", "skip_invalid": "true"},
            content=CSV.encode(),
            headers={"content-type": "text/csv"},
        )
        assert loaded.status_code == 200, loaded.text
        assert loaded.json()["summary"]["people"] == 2 and loaded.json()["rejected"] == 3
        refused(
            await api.put(
                f"/api/incidents/{ref}/subscribers",
                params={"name": "affected.csv"},
                content=CSV.encode(),
            ),
            409,
            "bad row",
        )
        notice = await api.put(f"/api/incidents/{ref}/notice", json=NOTICE)
        assert notice.status_code == 200, notice.text
        ordered = await api.post(f"/api/incidents/{ref}/order", json={"by": "PTS"})
        assert ordered.status_code == 200 and "ordered by PTS" in ordered.json()["message"]

        people_list = (await api.get(f"/api/incidents/{ref}/unreachable")).json()
        assert people_list == []
        refused(await api.get(f"/api/incidents/{ref}/people/NOBODY"), 404, "NOBODY")

        refused(await api.post(f"/api/incidents/{ref}/close", json={}), 409, "reports still due")
        ref = await opened(api, "Another one, closed at once")
        await api.post(f"/api/incidents/{ref}/discovery", json={"at": now_text(), "how": "audit"})
        refused(
            await api.post(f"/api/incidents/{ref}/close", json={"reason": "done"}),
            409,
            "PTS initial report",
        )
        closed = await api.post(
            f"/api/incidents/{ref}/close",
            json={"reason": "handed over to the group's CERT", "abandon_reports": True},
        )
        assert closed.status_code == 200, closed.text

        register = (
            await api.get(
                "/api/incidents", params={"filter": "closed"}, headers={"accept-language": "sv"}
            )
        ).json()
        row = next(r for r in register["rows"] if r["reference"] == ref)
        assert row["state"] == "closed" and row["labels"]["state"] == "stängd"
        assert register["columns"]["measures_taken"] == "Vidtagna åtgärder", "LEK 8:9"
        assert row["aware_at"] and row["reported"] is False, "registered though never reported"
        paged = (await api.get("/api/incidents", params={"limit": 1, "offset": 0})).json()
        assert len(paged["rows"]) == 1 and paged["limit"] == 1
        refused(await api.get("/api/incidents", params={"limit": 0}), 422, "limit")
        csv_text = (await api.get("/api/register.csv")).text
        assert csv_text.startswith("reference,title,state") and ref in csv_text

        audit = (await api.get(f"/api/incidents/{ref}/audit")).json()
        actions = [a["action"] for a in audit]
        assert "open" in actions and "read" in actions and "change" in actions
        assert {a["address"] for a in audit} == {"10.1.2.3"} and audit[0]["actor"] == "manager-bot"


async def test_a_retried_write_with_its_idempotency_key_acts_once(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The same key and body is the first answer; the same key with another body is
    refused (422), not silently answered as the first."""
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
        ref = await opened(api)
        key = {"Idempotency-Key": "retry-7f3a"}
        event = {"at": now_text(), "what": "router rebooted"}
        first = await api.post(f"/api/incidents/{ref}/events", json=event, headers=key)
        assert first.status_code == 200, first.text
        again = await api.post(
            f"/api/incidents/{ref}/events",
            content=json.dumps(event, indent=2).encode(),
            headers={**key, "content-type": "application/json"},
        )
        assert again.status_code == 200 and again.json() == first.json()
        reworded = {**event, "what": "router rebooted (retry, reworded)"}
        other_body = await api.post(f"/api/incidents/{ref}/events", json=reworded, headers=key)
        refused(other_body, 422, "Idempotency-Key")
        assert other_body.json()["errors"][0]["code"] == "request.key_reused"
        other = await api.post(
            f"/api/incidents/{ref}/events",
            json={"at": now_text(), "what": "another"},
            headers={"Idempotency-Key": "k2"},
        )
        assert other.status_code == 200
        handle = w.h.client.get_workflow_handle_for(IncidentWorkflow.run, f"incident-{ref}")
        state = await handle.query(IncidentWorkflow.status)
        whats = [e.what for e in state.timeline]
        assert whats.count("router rebooted") == 1 and "another" in whats
        assert "router rebooted (retry, reworded)" not in whats


async def test_each_role_does_its_part_and_nothing_else(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        async with await w.bearer(Role.MANAGER) as manager:
            ref = await opened(manager)
        event = {"at": now_text(), "what": "logs show export"}
        async with w.client() as anonymous:
            refused(await anonymous.get(f"/api/incidents/{ref}"), 401, "Sign in")
            wrong = anonymous.headers.copy()
            wrong["Authorization"] = "Bearer not-a-token"
            refused(await anonymous.get(f"/api/incidents/{ref}", headers=wrong), 401)
        async with await w.bearer(Role.AGENT) as agent:
            refused(await agent.get(f"/api/incidents/{ref}"), 403, "agent")
            refused(await agent.get(f"/api/incidents/{ref}/timeline"), 403)
            refused(await agent.get("/api/incidents"), 403)
        async with await w.bearer(Role.AUDITOR) as auditor:
            assert (await auditor.get(f"/api/incidents/{ref}")).status_code == 200
            refused(await auditor.post(f"/api/incidents/{ref}/events", json=event), 403, "auditor")
            refused(await auditor.post(f"/api/incidents/{ref}/close", json={}), 403)
        async with await w.bearer(Role.ONCALL) as oncall:
            assert (
                await oncall.post(f"/api/incidents/{ref}/events", json=event)
            ).status_code == 200
            found = await oncall.post(
                f"/api/incidents/{ref}/discovery", json={"at": now_text(), "how": "paged"}
            )
            assert found.status_code == 200
            refused(
                await oncall.post(f"/api/incidents/{ref}/facts", json={"changes": {}}),
                403,
                "oncall",
            )
            refused(await oncall.post(f"/api/incidents/{ref}/approvals", json={}), 403)
            refused(await oncall.post("/api/calls/next"), 403)


async def test_a_browser_write_needs_its_sessions_csrf_token(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        async with w.client() as browser:
            csrf = await w.sign_in(browser, "maria", Role.MANAGER)
            body = {"reference": unique("CSRF"), "title": "A title"}
            refused(await browser.post("/api/incidents", json=body), 403, "security token")
            refused(
                await browser.post("/api/incidents", json=body, headers={"X-CSRF-Token": "guess"}),
                403,
            )
            form = await browser.post("/incidents", data={**body, "regime": "pts"})
            assert form.status_code == 403
            done = await browser.post("/incidents", data={**body, "regime": "pts", "csrf": csrf})
            assert (
                done.status_code == 200
                and done.headers["HX-Redirect"] == f"/incidents/{body['reference']}"
            )
            again = await browser.post("/api/incidents", json=body, headers={"X-CSRF-Token": csrf})
            refused(again, 409, "already exists")
            out = await browser.post("/logout", data={"csrf": csrf})
            assert out.status_code == 303
            assert (await browser.get(f"/api/incidents/{body['reference']}")).status_code == 401
        async with w.client() as stranger:
            wrong = await stranger.post("/login", data={"name": "maria", "password": "guess"})
            assert wrong.status_code == 401 and "bc_session" not in wrong.cookies
            nobody = await stranger.post("/login", data={"name": "nobody", "password": "guess"})
            assert nobody.status_code == 401


async def test_an_upload_past_the_limit_is_refused_and_leaves_nothing(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with (
        web(dev_server, tmp_path, smtp, upload=1024) as w,
        await w.bearer(Role.MANAGER) as api,
    ):
        ref = await opened(api)
        big = CSV.encode() * 20

        async def chunks() -> Any:
            for start in range(0, len(big), 100):
                yield big[start : start + 100]

        refused(
            await api.put(f"/api/incidents/{ref}/subscribers", content=chunks()), 413, "1,024 bytes"
        )
        binary = await api.put(
            f"/api/incidents/{ref}/subscribers", params={"name": "x.csv"}, content=b"\xff\xfe\x00"
        )
        refused(binary, 409)
        status = (await api.get(f"/api/incidents/{ref}")).json()
        assert status["notification"]["people"] == 0


async def test_hostile_input_is_a_4xx_with_the_field_never_a_500(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
        ref = await opened(api)
        events = f"/api/incidents/{ref}/events"
        missing = await api.post(events, json={"at": now_text()})
        refused(missing, 422, "what")
        assert missing.json()["errors"][0]["pointer"] == "/what"
        typed = await api.post(events, json={"at": now_text(), "what": ["not", "text"]})
        assert refused(typed, 422) and typed.json()["errors"][0]["pointer"] == "/what"
        smuggled = await api.post(events, json={"at": now_text(), "what": "x", "by": "Mallory"})
        assert refused(smuggled, 422) and smuggled.json()["errors"][0]["pointer"] == "/by"
        deep = b"[" * 100_000 + b"]" * 100_000
        nested = await api.post(events, content=deep, headers={"content-type": "application/json"})
        assert nested.status_code in (400, 413, 422), nested.text
        big = {"at": now_text(), "what": "x" * (JSON_LIMIT + 10)}
        refused(await api.post(events, json=big), 413, f"{JSON_LIMIT:,}")
        refused(await api.get("/api/incidents", params={"regime": "bogus"}), 422, "regime")
        refused(await api.get("/api/incidents", params={"filter": "bogus"}), 422, "filter")
        for name in ("..", "../../etc/passwd", "a\x00b.csv", "/", "é" * 120 + ".csv", "x" * 300):
            hostile = await api.put(
                f"/api/incidents/{ref}/subscribers",
                params={"name": name},
                content=CSV.encode(),
                headers={"content-type": "text/csv"},
            )
            assert 400 <= hostile.status_code < 500, (name, hostile.text)
        timeline = (await api.get(f"/api/incidents/{ref}/timeline")).json()
        assert all(e.get("by") != "Mallory" for e in timeline)


async def test_a_repeated_alert_group_opens_one_incident_and_pages_once(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    group = unique("group")
    hook: dict[str, Any] = {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="SubscriberExport"}}/{group}',
        "status": "firing",
        "receiver": "breachclock",
        "externalURL": "http://alertmanager.example:9093",
        "commonAnnotations": {"summary": "Subscriber export readable from the internet"},
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "SubscriberExport", "breachclock": "incident"},
                "annotations": {},
                "startsAt": now_text(),
                "fingerprint": "abc",
            }
        ],
    }
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
        first = await api.post("/api/intake/alertmanager", json=hook)
        assert first.status_code == 200, first.text
        assert first.json()["opened"] and first.json()["paged"]
        ref = first.json()["reference"]
        second = (await api.post("/api/intake/alertmanager", json=hook)).json()
        assert second == {**first.json(), "opened": False, "paged": False}
        status = (await api.get(f"/api/incidents/{ref}")).json()
        assert status["state"] == "opened" and status["discovered_at"] is None
        assert status["title"] == "Subscriber export readable from the internet"
        pages = [m for m in w.h.smtp.messages if ref in str(m["Subject"])]
        assert len(pages) == 1 and "oncall@operator.example" in str(pages[0]["To"])
        body = str(pages[0].get_payload(decode=True), "utf-8")
        assert f"/incidents/{ref}" in body, "the page links where awareness is recorded"
        unlabelled = {
            **hook,
            "groupKey": "other",
            "alerts": [{**hook["alerts"][0], "labels": {"alertname": "Disk"}}],
        }
        assert (await api.post("/api/intake/alertmanager", json=unlabelled)).json()[
            "reference"
        ] is None
        refused(await api.post("/api/intake/alertmanager", json={"alerts": []}), 422, "groupKey")


async def test_single_sign_on_only_from_the_configured_proxy(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The proxy's header signs in only the account mapped to that identity, once per
    sign-in (one session, kept as a cookie); a header given twice is refused."""
    sso: dict[str, Any] = {
        "BREACHCLOCK_SSO_HEADER": "X-Forwarded-User",
        "BREACHCLOCK_SSO_PROXIES": ["10.1.2.0/24"],
    }
    async with web(dev_server, tmp_path, smtp, **sso) as w:
        await w.account("erik", Role.AUDITOR, sso="erik")
        await w.account("maria", Role.MANAGER)

        async def sessions(name: str) -> int:
            rows = await w.auth.store.db.query("SELECT COUNT(*) FROM sessions WHERE name = ?", name)
            return int(rows[0][0])

        async with w.client(headers={"X-Forwarded-User": "erik"}) as via_proxy:
            page = await via_proxy.get("/")
            assert page.status_code == 200 and 'erik <span class="badge">granskare' in page.text
            assert "bc_session" in via_proxy.cookies
            for _ in range(3):
                assert (await via_proxy.get("/")).status_code == 200
                assert (await via_proxy.get("/api/incidents")).status_code == 200
            assert await sessions("erik") == 1
            refused(await via_proxy.post("/api/incidents", json={}), 403)
        async with w.client(headers={"X-Forwarded-User": "erik"}) as api_client:
            for _ in range(3):
                assert (await api_client.get("/api/incidents")).status_code == 200
            assert await sessions("erik") == 1, "an API call through the proxy is no sign-in"
        outside = httpx.ASGITransport(app=w.app, client=("192.0.2.9", 4444))
        async with httpx.AsyncClient(
            transport=outside, base_url=BASE, headers={"X-Forwarded-User": "erik"}
        ) as direct:
            refused(await direct.get("/api/incidents"), 401)
        async with w.client(headers={"X-Forwarded-User": "mallory"}) as unknown:
            refused(await unknown.get("/api/incidents"), 401)
        async with w.client(headers={"X-Forwarded-User": "maria"}) as takeover:
            refused(await takeover.get("/api/incidents"), 401)
            assert (await takeover.get("/")).status_code == 303
            assert await sessions("maria") == 0
        async with w.client() as twice:
            doubled = [("X-Forwarded-User", "mallory"), ("X-Forwarded-User", "erik")]
            refused(await twice.get("/api/incidents", headers=doubled), 400, "X-Forwarded-User")


async def test_an_agent_sees_the_call_they_hold_and_nothing_else(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp, **AGENTS) as w:
        ref = unique("CALL")
        handle = await w.h.discovered(ref)
        await ready(w.h.settings, handle, ref, people(2))
        await decide(handle)
        async with (
            await w.bearer(Role.AGENT, "agent-1") as agent,
            await w.bearer(Role.AGENT, "agent-2") as other,
        ):
            for _ in range(100):
                call = (await agent.post("/api/calls/next")).json()
                if call:
                    break
                await w.h.wait_for(lambda: True, 0.2)
            assert call and set(call) == {
                "key",
                "name",
                "phone",
                "greeting",
                "held_until",
                "identify_by",
            }
            assert "bankid" in call["identify_by"]
            assert call["phone"].startswith("+4670") and ref not in json.dumps(call["greeting"])
            proof = {"identified_by": "bankid"}
            refused(
                await other.post(f"/api/calls/{call['key']}/script", json=proof), 409, "not held"
            )
            refused(await agent.get(f"/api/calls/{call['key']}/script"), 405)
            refused(await agent.post(f"/api/calls/{call['key']}/script", json={}), 422)
            script = (await agent.post(f"/api/calls/{call['key']}/script", json=proof)).json()
            assert script["script"]
            # Holding the phone (a callback to it) allows only "an incident concerns you".
            callback = {"identified_by": "known_callback"}
            held = (
                await agent.post(
                    f"/api/calls/{call['key']}/script",
                    json=callback,
                    headers={"Accept-Language": "en"},
                )
            ).json()
            assert "concerns your subscription" in held["script"]
            assert held["script"] != script["script"] and ref not in held["script"]
            second = (await other.post("/api/calls/next")).json()
            assert second and second["key"] != call["key"]
            bad = await agent.post(f"/api/calls/{call['key']}/outcome", json={"outcome": "maybe"})
            refused(bad, 422, "outcome")
            unproven = await agent.post(
                f"/api/calls/{call['key']}/outcome", json={"outcome": "reached_verified"}
            )
            refused(unproven, 409, "how the person proved who they are")
            done = await agent.post(
                f"/api/calls/{call['key']}/outcome",
                json={"outcome": "reached_verified", "identified_by": "bankid"},
            )
            assert done.status_code == 204
            again = await agent.post(f"/api/calls/{call['key']}/outcome", json={"outcome": "busy"})
            refused(again, 409, "already recorded")
            refused(await agent.get(f"/api/incidents/{ref}/people/S000001"), 403)


async def test_pages_send_a_strict_policy_and_the_openapi_document_has_every_route(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, w.client() as anonymous:
        login = await anonymous.get("/login")
        assert "script-src 'self'" in login.headers["content-security-policy"]
        assert "unsafe-inline" not in login.headers["content-security-policy"]
        assert login.headers["x-frame-options"] == "DENY"
        assert (await anonymous.get("/")).headers["location"] == "/login"
        document = (await anonymous.get("/api/openapi.json")).json()
        routes = {(path, verb) for path, verbs in document["paths"].items() for verb in verbs}
        for path, verb in [
            ("/api/incidents", "post"),
            ("/api/incidents", "get"),
            ("/api/incidents/{reference}/discovery", "post"),
            ("/api/incidents/{reference}/facts", "post"),
            ("/api/incidents/{reference}/subscribers", "put"),
            ("/api/calls/next", "post"),
            ("/api/intake/alertmanager", "post"),
        ]:
            assert (path, verb) in routes
        schemas = document["components"]["schemas"]
        assert {"DiscoverRequest", "Facts", "FactsPatch", "Assessment", "DecisionRequest"} <= set(
            schemas
        )
        assert "by" not in schemas["DiscoverRequest"]["properties"], "who acted: the principal"
        assert "decided_by" not in schemas["DecisionRequest"]["properties"]
        for path, verbs in document["paths"].items():
            for verb, operation in verbs.items():
                for status in ("400", "401", "403", "413", "422", "503"):
                    declared = operation["responses"][status]["content"]
                    assert set(declared) == {"application/problem+json"}, (path, verb, status)
        report = document["paths"]["/api/incidents/{reference}/report"]["get"]["responses"]
        assert {"text/plain", "application/json", "application/pdf"} <= set(
            report["200"]["content"]
        )
        assert (
            "text/csv"
            in document["paths"]["/api/register.csv"]["get"]["responses"]["200"]["content"]
        )
        assert "/login" not in document["paths"]
