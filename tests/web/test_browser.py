"""The console in a real browser (Debian's chromium, headless, driven by Playwright)
against the app served by uvicorn on 127.0.0.1, a real worker and the dev server.

Every page a test visits is checked with axe-core (vendored from npm under
``tests/web/vendor``): no serious or critical violations. Screenshots of each page go
to ``docs/screenshots/`` (for the README) when ``BREACHCLOCK_SCREENSHOTS=1``, else to a
temporary folder: a test run leaves the checkout as it found it."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import TimelineInput
from breachclock.runtime.outbox import free_port
from breachclock.service import incidents
from breachclock.web.auth import Role
from breachclock.web.console.incident import TABS
from breachclock.web.server import quiet_server
from tests.conftest import SmtpSink, unique
from tests.notify_support import decide, people, ready
from tests.web.support import AGENTS, PASSWORD, Web, web
from tests.workflows.test_ownership import body

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = (
    Path(__file__).parents[2] / "docs" / "screenshots"
    if os.environ.get("BREACHCLOCK_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "breachclock-screenshots"
)
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
EXAMPLES = Path(__file__).parents[2] / "examples"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (.ci/run installs it; in CI these fail instead)",
    ),
]


@asynccontextmanager
async def served(w: Web) -> AsyncIterator[str]:
    port = free_port()
    server = quiet_server(w.app, "127.0.0.1", port)
    server.config.lifespan = "off"  # the test's app is already started
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn's own flag
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def person(browser: Browser) -> BrowserContext:
    """A browser of its own (cookies, session); axe is put into its pages by the test
    tool, past the page's CSP, which the pages themselves keep."""
    return await browser.new_context(viewport={"width": 1280, "height": 860}, bypass_csp=True)


async def sign_in(page: Page, base: str, name: str, language: str = "sv") -> None:
    await page.context.add_cookies([{"name": "bc_lang", "value": language, "url": base}])
    await page.goto(base + "/")
    await expect(page).to_have_url(base + "/login")
    await page.fill("#name", name)
    await page.fill("#password", PASSWORD)
    await page.press("#password", "Enter")
    await page.wait_for_load_state()


async def accessible(page: Page) -> None:
    """axe-core on the page as it stands: no serious or critical violation."""
    await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))"""
    )
    assert found == [], (page.url, found)


async def shot(page: Page, name: str, whole: bool = False) -> None:
    """The page as it stands (``whole``: all of it, not only the window's height)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=whole)


async def tab_to(page: Page, selector: str) -> None:
    """Press Tab until ``selector`` has the focus, as a person without a mouse would."""
    for _ in range(120):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"{selector} is not reachable by Tab")


def watch_for_errors(page: Page) -> list[str]:
    """Whatever the page's console reports as an error (a CSP refusal, a script error),
    and any dialog a script opened (an unescaped <script> would)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
    return errors


async def test_a_manager_opens_discovers_records_facts_and_files_from_the_browser(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, served(w) as base, chromium() as browser:
        await w.account("maria", Role.MANAGER)
        page = await (await person(browser)).new_page()
        errors = watch_for_errors(page)
        await sign_in(page, base, "maria")
        await expect(page.locator("h1")).to_have_text("Register")
        await accessible(page)

        ref = unique("UI")
        title = "<script>alert('x')</script> Hemliga nummer publicerade"
        await page.fill("#reference", ref)
        await page.fill("#title", title)
        await page.click("#open-incident button")
        await expect(page).to_have_url(f"{base}/incidents/{ref}")
        await expect(page.locator("h1")).to_contain_text(title)
        assert await page.locator("script:not([src])").count() == 0
        await shot(page, "incident-opened")

        await page.fill("#d-how", "en kund frågade varför hennes nummer syns")
        await page.click("#discovery button")
        await expect(page.locator("#discover-result")).to_contain_text("inledande rapport")
        # The initial report's clock: 24 h from awareness, in the operator's zone on
        # hover; with the page's clock stopped at chosen instants (no wall-clock
        # window), the countdown says what is left, then by how much it is late.
        (track,) = (await w.app.state.engine.state(ref)).tracks
        due = track.aware_at + timedelta(hours=24)
        await page.clock.set_fixed_time(due - timedelta(hours=3, minutes=12))
        await page.reload()
        countdown = page.locator("#clocks time.countdown").first
        assert await countdown.get_attribute("datetime") == due.astimezone(UTC).isoformat()
        zone = ZoneInfo(w.h.settings.operator_zone)
        hover = due.astimezone(zone).isoformat(sep=" ", timespec="seconds")
        assert await countdown.get_attribute("title") == hover, "the instant itself on hover"
        await expect(countdown).to_have_text("om 3 h 12 min")
        await page.clock.set_fixed_time(due + timedelta(minutes=5))
        await expect(countdown).to_have_text("försenad 5 min")
        await expect(countdown).to_have_class(re.compile(r"\boverdue\b"))
        await page.clock.set_fixed_time(datetime.now(UTC))
        await accessible(page)
        await shot(page, "incident-overview")

        # another person's change reaches the open page within two seconds
        event = w.app.state.engine.parse(
            TimelineInput, at=datetime.now(UTC), what="Sökmotorn kontaktad", by="kim"
        )
        await page.goto(f"{base}/incidents/{ref}?tab=timeline")
        await incidents.add_event(w.app.state.engine, ref, event)
        await expect(page.locator("#timeline")).to_contain_text(
            "Sökmotorn kontaktad", timeout=2_500
        )
        await accessible(page)
        await shot(page, "incident-timeline")

        await page.goto(f"{base}/incidents/{ref}?tab=report")
        await page.fill("#f-affected_count", "-5")
        await page.click("#facts-card form button[type=submit], #facts-card form > button")
        refusal = page.locator("#err-affected-count")
        await expect(refusal).to_contain_text("0")
        assert "affected_count" not in (await refusal.text_content() or "")
        await page.fill("#f-affected_count", "3300")
        await page.check("input[name=breach_types][value=disclosure]")
        await page.select_option("#f-root_cause", "technical_fault")
        await page.fill("input[name='measures_taken.what'] >> nth=0", "Numren dolda igen")
        await page.fill("input[name='measures_taken.on'] >> nth=0", "2026-12-01")
        await page.click("#facts-card form > button")
        await expect(page.locator("#facts-result")).to_contain_text("Sparat")
        await expect(refusal).to_be_empty()
        # A date a missing fact is expected by that is already past: refused beside its
        # field in the reader's words, the date left as typed.
        gone = f"{datetime.now(zone) - timedelta(days=3):%Y-%m-%d}"
        await page.fill("input[name='expected.systems']", gone)
        await page.click("#expected-card form > button")
        await expect(page.locator("#err-expected-systems")).to_contain_text("har redan passerat")
        await expect(page.locator("input[name='expected.systems']")).to_have_value(gone)
        await accessible(page)
        await shot(page, "incident-report")

        await page.click("#approve-card button")
        await expect(page.locator("#draft-text")).to_contain_text(ref)
        await accessible(page)  # the draft, long enough to scroll, is reached by Tab
        await expect(page.locator("#draft-text")).to_contain_text(re.compile(r"3\D?300"))
        await page.click("#draft form button")
        await expect(page.locator("#approve-result")).to_contain_text("1", timeout=15_000)
        await w.h.wait_for(lambda: any(ref in str(m["Subject"]) for m in w.h.smtp.messages))
        mail = next(m for m in w.h.smtp.messages if ref in str(m["Subject"]))
        assert "pts" in str(mail["To"]).lower()
        await page.goto(f"{base}/incidents/{ref}/filings/1")
        await expect(page.locator("#mail-headers")).to_contain_text(str(mail["To"]))
        await expect(page.locator("#mail-headers")).to_contain_text(f"[{ref}]")
        await accessible(page)
        await shot(page, "filing-as-sent", whole=True)

        for tab in ("people", "containment", "audit"):
            await page.goto(f"{base}/incidents/{ref}?tab={tab}")
            await accessible(page)
            await shot(page, f"incident-{tab}")
        await expect(page.locator("#audit")).to_contain_text("maria")

        await page.goto(base + "/")
        row = page.locator("tr", has_text=ref)
        await expect(row).to_contain_text("<script>")
        await shot(page, "register")
        assert not errors, errors


async def test_the_whole_main_path_works_with_the_keyboard_alone(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, served(w) as base, chromium() as browser:
        await w.account("maria", Role.MANAGER)
        page = await (await person(browser)).new_page()
        await page.context.add_cookies([{"name": "bc_lang", "value": "en", "url": base}])
        await page.goto(base + "/login")
        await shot(page, "sign-in")
        await accessible(page)

        await tab_to(page, "#name")
        await page.keyboard.type("maria")
        await tab_to(page, "#password")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text("Register")
        ref = unique("KEY")
        await tab_to(page, "#reference")
        await page.keyboard.type(ref)
        await tab_to(page, "#title")
        await page.keyboard.type("Secret numbers published")
        await tab_to(page, "#open-incident button")
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{base}/incidents/{ref}")
        await tab_to(page, "#d-how")
        await page.keyboard.type("a customer asked why her number is listed")
        await tab_to(page, "#discovery button")
        await page.keyboard.press("Enter")
        await expect(page.locator("#discover-result")).to_contain_text("initial report")
        for tab in TABS:
            await tab_to(page, f"nav.tabs a[href$='tab={tab}']")
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{base}/incidents/{ref}?tab={TABS[-1]}")


async def test_a_manager_makes_an_account_and_a_token_and_revokes_it_by_keyboard(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, served(w) as base, chromium() as browser:
        await w.account("maria", Role.MANAGER)
        context = await person(browser)
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page = await context.new_page()
        errors = watch_for_errors(page)
        await sign_in(page, base, "maria", "en")
        await tab_to(page, "nav a[href='/accounts']")
        await page.keyboard.press("Enter")
        await expect(page.locator("h1")).to_have_text("Accounts and API tokens")
        await expect(page.locator("#accounts")).to_contain_text("maria")
        await accessible(page)

        await tab_to(page, "#na-name")
        await page.keyboard.type("sara")
        await tab_to(page, "#na-role")
        await page.keyboard.press("ArrowUp")  # from call agent to on call
        await tab_to(page, "#new-account button")
        await page.keyboard.press("Enter")
        await expect(page.locator("#new-account-result")).to_contain_text("sara is created")
        password = await page.locator("#secret-new").text_content() or ""
        assert len(password) >= 12
        await expect(page.locator("#accounts tr", has_text="sara")).to_contain_text("on call")
        await expect(page.locator("#na-name")).to_have_value(""), "the form is emptied"
        await tab_to(page, "button[data-copy='secret-new']")
        await page.keyboard.press("Enter")
        await expect(page.locator("button[data-copy='secret-new']")).to_have_text("Copied")
        assert await page.evaluate("navigator.clipboard.readText()") == password

        mine = page.locator("#accounts tr", has_text="maria")
        await tab_to(page, "form[hx-post='/accounts/maria/role'] select")
        await page.keyboard.press("ArrowDown")
        await tab_to(page, "form[hx-post='/accounts/maria/role'] button")
        await page.keyboard.press("Enter")
        await expect(mine.locator(".field-error").first).to_contain_text("your own role")
        await expect(mine).to_contain_text("incident manager"), "still a manager"

        await tab_to(page, "#nt-label")
        await page.keyboard.type("siem")
        await tab_to(page, "#new-token button")
        await page.keyboard.press("Enter")
        await expect(page.locator("#new-token-result")).to_contain_text("siem is created")
        secret = await page.locator("#secret-token").text_content() or ""
        row = page.locator("#tokens tr", has_text="siem")
        await expect(row).to_contain_text("auditor")
        await expect(row).to_contain_text("maria")
        await accessible(page)
        await shot(page, "accounts", whole=True)

        api = httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {secret}"})
        async with api:
            assert (await api.get("/api/incidents")).status_code == 200
            await tab_to(page, "#tokens button[aria-label='Revoke siem']")
            await page.keyboard.press("Enter")
            await expect(page.locator("#tokens-result")).to_contain_text("siem is revoked")
            await expect(row).to_contain_text("Revoked")
            assert (await api.get("/api/incidents")).status_code == 401
        await expect(page.locator("#account-changes")).to_contain_text("revoked the API token")
        await accessible(page)
        assert not errors, errors


async def test_an_agent_works_three_calls_to_the_end(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with (
        web(dev_server, tmp_path, smtp, **AGENTS) as w,
        served(w) as base,
        chromium() as browser,
    ):
        ref = unique("AGENT")
        handle = await w.h.discovered(ref)
        await ready(w.h.settings, handle, ref, people(3))
        await decide(handle)
        await w.account("ali", Role.AGENT)
        page = await (await person(browser)).new_page()
        errors = watch_for_errors(page)
        await sign_in(page, base, "ali", "en")
        await expect(page).to_have_url(base + "/calls")
        await accessible(page)
        seen = set()
        for n in range(3):
            for _ in range(50):  # the campaign puts its calls on the list within seconds
                await page.click("button:has-text('Take the next call')")
                await page.wait_for_timeout(300)
                if await page.locator("#call-phone").count():
                    break
            phone = await page.locator("#call-phone").text_content()
            assert phone and phone.startswith("+4670") and phone not in seen
            seen.add(phone)
            await expect(page.locator("#greeting")).not_to_be_empty()
            assert await page.locator("#script").count() == 0, "no script before identity"
            if n == 0:
                await accessible(page)
                await shot(page, "agent-call")
            # A code to the number called proves only possession of the phone: the
            # script then says an incident concerns the subscription, not what it is.
            method = "one_time_code" if n == 1 else "bankid"
            await page.select_option("#identified_by", method)
            await page.click("button:has-text('Identity confirmed')")
            if method == "bankid":
                await expect(page.locator("#script")).to_contain_text(ref)
            else:
                await expect(page.locator("#script")).to_contain_text("BankID")
                await expect(page.locator("#script")).not_to_contain_text(ref)
            if n == 0:
                await shot(page, "agent-script")
            await page.select_option("#outcome", "reached_verified")
            await page.click("button:has-text('Record')")
            await expect(page.locator("#call")).to_contain_text("Recorded.")
        await page.click("button:has-text('Take the next call')")
        await expect(page.locator("#call")).to_contain_text("No calls are waiting.")
        assert len(seen) == 3
        assert not errors, errors
        refused = await page.goto(base + f"/incidents/{ref}")
        assert refused is not None and refused.status == 403, "an agent sees no incident"
        await expect(page.locator("h1")).to_have_text("Not allowed")
        await accessible(page)


def local_input(at: datetime, zone: str) -> str:
    """``at`` as a ``datetime-local`` input takes it: the operator's wall clock."""
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


FACTS = {
    "#f-occurred-how": "the migration job's log",
    "#f-circumstances": "A migration program mapped the secret-number flag wrongly.",
    "#f-services": "Mobile telephony",
    "#f-data_kinds": "Secret numbers",
    "#f-systems": "Directory delivery",
    "#f-location_and_media": "Directory services' web sites",
    "#f-subscriber_effect": "Secret numbers were searchable.",
    "#f-potential_consequences": "Unwanted contact; risk to protected persons.",
    "#f-other_providers": "The migration supplier.",
    "#f-cross_border": "None known.",
}
ITEMS = {
    "secret number": {"sv": "hemligt nummer", "da": "hemmeligt nummer", "en": "secret number"},
    "address": {"sv": "adress", "da": "adresse", "en": "address"},
}
NOTICE = {
    "what_happened": "Ditt hemliga nummer syntes i nummerupplysningar.",
    "consequences": "Den som sökte på ditt namn kan ha sett ditt nummer.",
    # Physical harm is assessed likely: the notice says what the person can do.
    "recommendations": "Får du oönskade samtal, ring oss: vi byter ditt nummer utan kostnad.",
}


async def test_the_comviq_case_from_the_console_only_by_three_roles(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The seed's Comviq case (secret numbers published by a migration, found months
    later) taken from opening to closing in the browser: the manager, the on-call
    engineer from the page mail's link, and an agent; the mails are read at the SMTP
    server."""
    async with (
        web(dev_server, tmp_path, smtp, **AGENTS) as w,
        served(w) as base,
        chromium() as browser,
    ):
        zone = w.h.settings.operator_zone
        for name, role in (("maria", Role.MANAGER), ("kim", Role.ONCALL), ("ali", Role.AGENT)):
            await w.account(name, role)
        manager = await (await person(browser)).new_page()
        errors = watch_for_errors(manager)
        await sign_in(manager, base, "maria", "en")
        ref = unique("COMVIQ")
        await manager.fill("#reference", ref)
        await manager.fill("#title", "Secret numbers published after a migration")
        await manager.click("#open-incident button")
        await expect(manager).to_have_url(f"{base}/incidents/{ref}")
        aware = datetime.now(UTC) - timedelta(hours=20)  # the 6-hour page is due at once
        await manager.fill("#d-at", local_input(aware, zone))
        await manager.fill("#d-how", "a customer asked why her secret number is listed")
        await manager.click("#discovery button")
        await expect(manager.locator("#discover-result")).to_contain_text("initial report")

        def mails(*words: str) -> list[Any]:
            return [m for m in smtp.messages if all(x in str(m["Subject"]) for x in words)]

        await w.h.wait_for(lambda: any("/ack/" in body(m) for m in mails(ref)), 30)
        link = next(re.search(r"/ack/\S+", body(m)) for m in mails(ref) if "/ack/" in body(m))
        assert link is not None and str(w.h.settings.console_url).endswith(":8380")
        oncall = await (await person(browser)).new_page()
        await sign_in(oncall, base, "kim", "en")
        await oncall.goto(base + link.group())
        await accessible(oncall)
        await shot(oncall, "acknowledge")
        await oncall.click("main form button")
        await expect(oncall.locator("#ack-result")).to_contain_text("kim")

        await manager.goto(f"{base}/incidents/{ref}?tab=report")
        await manager.fill("#f-occurred-at", local_input(aware - timedelta(days=90), zone))
        for field, text in FACTS.items():
            await manager.fill(field, text)
        await manager.fill("#f-affected_count", "3300")
        await manager.check("input[name=breach_types][value=disclosure]")
        await manager.select_option("#f-root_cause", "technical_fault")
        await manager.fill("input[name='measures_taken.what'] >> nth=0", "Numbers hidden again")
        await manager.fill("input[name='measures_taken.on'] >> nth=0", f"{aware:%Y-%m-%d}")
        await manager.fill("input[name='measures_planned.what'] >> nth=0", "Mapping tests")
        await manager.fill("input[name='measures_planned.on'] >> nth=0", "2027-01-15")
        await manager.click("#facts-card form > button")
        await expect(manager.locator("#facts-result")).to_contain_text("Saved")
        await approve(manager, "initial report", refused_first=True)
        await w.h.wait_for(lambda: len(mails(ref, "1")) >= 1, 20)
        assert (await w.app.state.engine.state(ref)).filings[0].language_override

        await manager.goto(f"{base}/incidents/{ref}?tab=people")
        await manager.set_input_files("#f-people", str(EXAMPLES / "affected.csv"))
        await manager.click("#upload form button")
        await expect(manager.locator("#upload-result")).to_contain_text("List loaded")
        await manager.check("input[name=data_kinds][value=secret_number_or_address]")
        await manager.check("input[name=consequences][value=physical_harm]")
        await manager.check("#assessment input[name=known_with_third_party]")
        await manager.click("#assessment form > button")
        await expect(manager.locator("#assess-result")).to_contain_text("notify")
        await manager.fill("#n-from", local_input(aware - timedelta(days=90), zone))
        for part, text in NOTICE.items():
            for language in ("sv", "en", "da"):
                await manager.fill(f"#n-{part}-{language}", text)
        for language in ("sv", "en", "da"):
            await manager.fill(f"#n-measures_taken-0-{language}", "Numret är dolt igen.")
        for row, (item, words) in enumerate(ITEMS.items()):
            await manager.fill(f"#n-item-{row}", item)
            for language, text in words.items():
                await manager.fill(f"#n-item-{row}-{language}", text)
        await manager.click("#notice form > button")
        await expect(manager.locator("#notice-result .ok")).to_be_visible()
        await manager.reload()
        await expect(manager.locator("#preview")).to_contain_text("Ditt hemliga nummer")
        await accessible(manager)  # each channel's text, scrolled on its own, is reached by Tab
        await shot(manager, "incident-people-notice")
        await manager.click("#decide form > button")
        await expect(manager.locator("#decide-result .ok")).to_be_visible()
        await approve(manager, "supplementary report")  # the follow-up, facts still due

        agent = await (await person(browser)).new_page()
        await sign_in(agent, base, "ali", "en")
        calls = 0
        for _ in range(200):
            async with agent.expect_response(lambda r: r.url.endswith("/calls/next")):
                await agent.click("button:has-text('Take the next call')")
            await agent.wait_for_timeout(100)  # htmx swaps the answer in
            if await agent.locator("#call-phone").count() == 0:
                if calls and await agent.locator("#call").get_by_text("No calls").count():
                    break
                await agent.wait_for_timeout(300)
                continue
            await agent.select_option("#identified_by", "bankid")
            await agent.click("button:has-text('Identity confirmed')")
            await expect(agent.locator("#script")).to_contain_text(ref)
            await agent.select_option("#outcome", "reached_verified")
            await agent.click("button:has-text('Record')")
            await expect(agent.locator("#call")).to_contain_text("Recorded.")
            calls += 1
        assert calls >= 2, calls

        async def told() -> bool:
            state = await w.app.state.engine.state(ref)
            return state.facts.subscriber_notice is not None and not state.facts.missing()

        for _ in range(100):
            if await told():
                break
            await asyncio.sleep(0.3)
        await approve(manager, "correction")  # complete now: the final report, corrected
        await w.h.wait_for(lambda: len(mails(ref)) >= 4, 20)
        await manager.goto(f"{base}/incidents/{ref}")
        await manager.click("#closing button")
        await expect(manager.locator("#close-result .ok")).to_be_visible()
        state = await w.app.state.engine.state(ref)
        assert state.closure is not None and len(state.filings) == 3
        filed = [m for m in smtp.messages if "pts" in str(m["To"]).lower() and ref in str(m)]
        assert len(filed) == 3, [str(m["Subject"]) for m in filed]
        assert not errors, errors


async def approve(page: Page, stage: str, refused_first: bool = False) -> None:
    """Show the draft, read it, approve it: the filing goes. The facts are English in a
    Swedish filing: the draft warns, and the person approves anyway (``refused_first``:
    after trying without, which puts each warning beside its field in the facts card)."""
    reference = page.url.split("/incidents/")[1].split("?")[0]
    await page.goto(page.url.split("/incidents/")[0] + f"/incidents/{reference}?tab=report")
    for _ in range(40):  # a filing the engine has just made due may take a moment to show
        await page.click("#approve-card > button")
        await page.wait_for_timeout(250)
        if stage in (await page.locator("#draft").text_content() or ""):
            break
    await expect(page.locator("#draft")).to_contain_text(stage)
    await expect(page.locator("#draft-text")).to_contain_text(reference)
    await expect(page.locator("#other-language")).to_contain_text("English")
    if refused_first:
        await page.click("#draft form button")
        beside = page.locator("#err-circumstances")
        await expect(beside).to_contain_text("English but the filing is in Swedish")
    await page.check("#other-language input[name=other_language_ok]")
    await page.click("#draft form button")
    await expect(page.locator("#approve-result .ok")).to_be_visible(timeout=15_000)
