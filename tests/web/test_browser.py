"""The console in a real browser (Debian's chromium, headless, driven by Playwright)
against the app served by uvicorn on 127.0.0.1, a real worker and the dev server.

Screenshots of the key pages go to ``tests/web/screenshots/`` (git-ignored)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.instants import show, zone
from breachclock.runtime.outbox import free_port
from breachclock.web.auth import Role
from breachclock.web.server import quiet_server
from tests.conftest import SmtpSink, unique
from tests.notify_support import decide, people, ready
from tests.web.support import AGENTS, PASSWORD, Web, web

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (.ci/run installs it; in CI these fail instead)",
)


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


async def sign_in(page: Page, base: str, name: str) -> None:
    await page.goto(base + "/")
    await expect(page).to_have_url(base + "/login")
    await page.fill("#name", name)
    await page.fill("#password", PASSWORD)
    await page.click("button:has-text('Logga in')")


def shot(name: str) -> str:
    SHOTS.mkdir(exist_ok=True)
    return str(SHOTS / f"{name}.png")


def watch_for_errors(page: Page) -> list[str]:
    """Whatever the page's console reports as an error (a CSP refusal, a script error),
    and any dialog a script opened (an unescaped <script> would)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(f"dialog: {d.message}"))
    return errors


async def test_a_manager_opens_discovers_fixes_a_field_approves_and_sees_the_filing(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)
    async with web(dev_server, tmp_path, smtp) as w, served(w) as base, chromium() as browser:
        await w.account("maria", Role.MANAGER)
        page = await browser.new_page()
        errors = watch_for_errors(page)
        await sign_in(page, base, "maria")
        await expect(page.locator("h1")).to_have_text("Register")

        ref = unique("UI")
        title = "<script>alert('x')</script> Secret numbers published"
        await page.click("summary")
        await page.fill("#reference", ref)
        await page.fill("#title", title)
        await page.click("button:has-text('Öppna')")
        await expect(page).to_have_url(f"{base}/incidents/{ref}")
        await expect(page.locator("h1")).to_have_text(f"{ref}: {title}")
        assert await page.locator("script:not([src])").count() == 0

        tz = zone(w.h.settings.operator_zone)
        await page.fill("#d-at", show(datetime.now(tz), tz))
        await page.fill("#d-how", "a customer asked why their number is listed")
        await page.click("button:has-text('Registrera upptäckt')")
        await expect(page.locator("#discover-result")).to_contain_text("initial_report")
        countdown = page.locator("#live time.countdown").first
        await expect(countdown).to_have_text(re.compile(r"^om 2\d:\d\d:\d\d$"), timeout=10_000)
        before = await countdown.text_content()
        await page.wait_for_timeout(1500)
        assert await countdown.text_content() != before, "the countdown ticks"
        await page.screenshot(path=shot("incident-discovered"), full_page=True)

        await page.fill("#f-affected_count", "-5")
        await page.click("form:has(#f-affected_count) button")
        refusal = page.locator("#fact-affected_count .refused")
        await expect(refusal).to_contain_text("at least 0")
        await page.screenshot(path=shot("facts-refused"), full_page=True)
        await page.fill("#f-affected_count", "3300")
        await page.click("form:has(#f-affected_count) button")
        await expect(page.locator("#fact-affected_count .ok")).to_contain_text("✔")

        await page.click("button:has-text('Visa utkastet')")
        await expect(page.locator("#draft-text")).to_contain_text(ref)
        await expect(page.locator("#draft-text")).to_contain_text(re.compile(r"3\D?300"))
        await page.screenshot(path=shot("draft"), full_page=True)
        await page.click("#draft button:has-text('Godkänn')")
        await expect(page.locator("#draft .result")).to_contain_text(
            "filing no. 1 sent", timeout=15_000
        )
        await expect(page.locator("#filings tbody tr").first).to_contain_text(
            "initial", timeout=10_000
        )
        await w.h.wait_for(lambda: any(ref in str(m["Subject"]) for m in w.h.smtp.messages))
        mail = next(m for m in w.h.smtp.messages if ref in str(m["Subject"]))
        assert "pts" in str(mail["To"]).lower() or mail["To"]
        await expect(page.locator("#audit")).to_contain_text("maria (manager)")
        await page.screenshot(path=shot("incident-filed"), full_page=True)

        await page.goto(base + "/")
        row = page.locator("tr", has_text=ref)
        await expect(row).to_contain_text("<script>")
        await page.screenshot(path=shot("register"), full_page=True)
        assert not errors, errors


async def test_an_agent_works_three_calls_to_the_end(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    overrides = {**AGENTS, "BREACHCLOCK_WEB_LANGUAGE": "en"}
    async with (
        web(dev_server, tmp_path, smtp, **overrides) as w,
        served(w) as base,
        chromium() as browser,
    ):
        ref = unique("AGENT")
        handle = await w.h.discovered(ref)
        await ready(w.h.settings, handle, ref, people(3))
        await decide(handle)
        await w.account("ali", Role.AGENT)
        page = await browser.new_page()
        errors = watch_for_errors(page)
        await page.goto(base + "/login")
        await page.fill("#name", "ali")
        await page.fill("#password", PASSWORD)
        await page.click("button:has-text('Sign in')")
        await expect(page).to_have_url(base + "/calls")
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
                await page.screenshot(path=shot("agent-call"), full_page=True)
            await page.select_option("#identified_by", "one_time_code")
            await page.click("button:has-text('Identity confirmed')")
            await expect(page.locator("#script")).to_contain_text(ref)
            if n == 0:
                await page.screenshot(path=shot("agent-script"), full_page=True)
            await page.select_option("#outcome", "reached_verified")
            await page.click("button:has-text('Record')")
            await expect(page.locator("#call")).to_contain_text("Recorded.")
        await page.click("button:has-text('Take the next call')")
        await expect(page.locator("#call")).to_contain_text("No calls are waiting.")
        assert len(seen) == 3
        assert not errors, errors
        refused = await page.goto(base + f"/incidents/{ref}")
        assert refused is not None and refused.status == 403, "an agent sees no incident"
