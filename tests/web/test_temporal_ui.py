"""The Temporal UI (the dev server's, in Debian's chromium) shows an incident's input
decoded to an operator signed in to the console, and ciphertext to anyone else.

The UI's codec settings are the ones its "Codec Server" dialog keeps in the browser
(endpoint, "include cross-origin credentials", overriding the server's): the UI then
calls the codec server with the console's session cookie, which the browser sends
because both are on the same host (cookies are per host, not per port).
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Response
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.ids import workflow_id
from breachclock.domain.incident.model import OpenIncident
from breachclock.runtime.codec_server import build_app
from breachclock.runtime.config import Settings
from breachclock.runtime.store import open_account_store
from breachclock.runtime.temporal import bundled_binary
from breachclock.web.auth import Role
from tests.conftest import SmtpSink, unique
from tests.serving import own_dev_server, serving
from tests.web.support import web
from tests.web.test_browser import chromium, pytestmark, served, sign_in
from workflows.incident import IncidentWorkflow
from workflows.messages import IncidentStart

__all__ = ["pytestmark"]  # skipped where Debian's chromium is missing, as the console's

SENTINEL = "Kundregister läckt via exportjobb"
WAIT = 30.0


@asynccontextmanager
async def codec_server(engine: Settings, console: Settings) -> AsyncIterator[str]:
    """The codec server with the engine's keys and origins, on the console's accounts."""
    async with open_account_store(console) as accounts:
        app = build_app(engine.codec(), "operator-cli-token", engine.codec_origins, accounts)
        async with serving(app) as base:
            yield base


async def open_workflow(page: Page, ui: str, codec: str, wid: str) -> list[int]:
    """The incident's page in the UI, with its codec settings; the codec server's answers."""
    answers: list[int] = []

    def heard(response: Response) -> None:
        if response.url.startswith(codec) and response.request.method == "POST":
            answers.append(response.status)

    page.on("response", heard)
    await page.add_init_script(
        f"""
        localStorage.setItem('endpoint', {json.dumps(json.dumps(codec))});
        localStorage.setItem('includeCredentials', 'true');
        localStorage.setItem('passAccessToken', 'false');
        localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
        """
    )
    await page.goto(f"{ui}/namespaces/default/workflows/{wid}")
    for _ in range(int(WAIT * 10)):
        if answers:
            break
        await asyncio.sleep(0.1)
    return answers


async def test_the_temporal_ui_decodes_for_a_signed_in_manager_only(
    tmp_path: Path, smtp: SmtpSink
) -> None:
    async with (
        own_dev_server(tmp_path / "dev-server") as (ports, env),
        web(env, tmp_path, smtp) as w,
        served(w) as console,
        codec_server(ports, w.h.settings) as codec,
        chromium() as browser,
    ):
        wid = await unworked(env, unique("UI"))
        ui = f"http://127.0.0.1:{ports.ui_port}"
        await w.account("maria", Role.MANAGER)
        await w.account("olle", Role.ONCALL)
        assert await decoded_for(browser, console, ui, codec, wid, "maria")
        assert not await decoded_for(browser, console, ui, codec, wid, "olle")
        assert not await decoded_for(browser, console, ui, codec, wid, None)


async def unworked(env: WorkflowEnvironment, reference: str) -> str:
    """An incident started where no worker takes it: its input stays as sent (sealed)."""
    opening = OpenIncident(reference=reference, title=SENTINEL, opened_by="Maria")
    await env.client.start_workflow(
        IncidentWorkflow.run,
        IncidentStart(opening=opening),
        id=workflow_id(reference),
        task_queue=unique("nobody"),
    )
    return workflow_id(reference)


async def decoded_for(
    browser: Browser, console: str, ui: str, codec: str, wid: str, who: str | None
) -> bool:
    """Whether ``who`` (signed in to the console; None: nobody) sees the input decoded."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        if who is not None:
            await sign_in(page, console, who)
            await page.wait_for_url(lambda url: not url.endswith("/login"))
        answers = await open_workflow(page, ui, codec, wid)
        assert answers, "the UI asked the codec server"
        if answers[0] == 200:
            await page.get_by_text(SENTINEL).first.wait_for(timeout=WAIT * 1000)
            return True
        assert set(answers) == {401}, answers
        await page.wait_for_timeout(1000)
        assert await page.get_by_text(SENTINEL).count() == 0
        return False
    finally:
        await context.close()


async def test_the_temporal_cli_decodes_with_the_codec_endpoint_and_auth(
    tmp_path: Path, smtp: SmtpSink
) -> None:
    """The README's command: ``temporal workflow show --codec-endpoint … --codec-auth``."""
    async with (
        own_dev_server(tmp_path / "dev-server") as (ports, env),
        open_account_store(ports) as accounts,
    ):
        app = build_app(ports.codec(), "operator-cli-token", ports.codec_origins, accounts)
        async with serving(app) as codec:
            wid = await unworked(env, unique("CLI"))

            async def show(*auth: str) -> subprocess.CompletedProcess[str]:
                command = [
                    str(bundled_binary("temporal")),
                    "workflow",
                    "show",
                    "-w",
                    wid,
                    "--address",
                    ports.address,
                    "--codec-endpoint",
                    codec,
                    *auth,
                    "--output",
                    "json",
                ]
                return await asyncio.to_thread(
                    subprocess.run, command, capture_output=True, text=True, timeout=60
                )

            decoded = await show("--codec-auth", "Bearer operator-cli-token")
            assert decoded.returncode == 0, decoded.stderr
            assert started_with(decoded.stdout)["opening"]["title"] == SENTINEL
            refused = await show("--command-timeout", "3s")
            assert refused.returncode != 0, "the codec server answered 401: nothing to show"
            assert SENTINEL not in refused.stdout + refused.stderr


def started_with(history: str) -> dict[str, Any]:
    """The workflow's input, from ``temporal workflow show --output json``."""
    first = json.loads(history)["events"][0]["workflowExecutionStartedEventAttributes"]
    (payload,) = first["input"]["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
    found: dict[str, Any] = json.loads(base64.b64decode(payload["data"]))
    return found
