"""The console and API on the test's worker: accounts of each role, clients for them."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from breachclock.runtime.store.accounts import Account
from breachclock.web.app import create_app
from breachclock.web.auth import Auth, Role, hash_password
from tests.conftest import Harness, SmtpSink, harness

PASSWORD = "correct horse battery staple"
AGENTS = {
    "BREACHCLOCK_CALLS": "agents",
    "BREACHCLOCK_CALLING_HOURS": "00:00-23:59",
    "BREACHCLOCK_CALL_SPACING_MINUTES": "0",
}
"""Calls go to the agents' worklist, at any hour, one after another."""
BASE = "https://console.test"
"""https, so the client sends the Secure session cookie back."""


class Web:
    def __init__(self, h: Harness, app: FastAPI) -> None:
        self.h = h
        self.app = app
        self.passwords: list[str] = []

    @property
    def auth(self) -> Auth:
        auth: Auth = self.app.state.auth
        return auth

    async def account(self, name: str, role: Role, sso: str | None = None) -> None:
        account = Account(name=name, role=role, password_hash=hash_password(PASSWORD), sso=sso)
        await self.auth.store.add_account(account, datetime.now(UTC))

    async def token(self, role: Role, label: str | None = None) -> str:
        secret = secrets.token_urlsafe(24)
        await self.auth.store.add_token(
            secret, label or f"{role.value}-bot", role, datetime.now(UTC)
        )
        return secret

    def client(self, **kw: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("10.1.2.3", 5555))
        return httpx.AsyncClient(transport=transport, base_url=BASE, **kw)

    async def bearer(self, role: Role, label: str | None = None) -> httpx.AsyncClient:
        return self.client(headers={"Authorization": f"Bearer {await self.token(role, label)}"})

    async def sign_in(self, client: httpx.AsyncClient, name: str, role: Role) -> str:
        """Sign ``client`` in as a new account (a browser's session); its CSRF token."""
        await self.account(name, role)
        response = await client.post("/login", data={"name": name, "password": PASSWORD})
        assert response.status_code == 303, response.text
        secret = client.cookies["bc_session"]
        session = await self.auth.store.session(secret, datetime.now(UTC))
        assert session is not None
        return session.csrf


@asynccontextmanager
async def web(
    env: WorkflowEnvironment,
    tmp_path: Path,
    smtp: SmtpSink,
    upload: int = 64 * 1024,
    **overrides: Any,
) -> AsyncIterator[Web]:
    async with harness(env, tmp_path, smtp, **overrides) as h:
        app = create_app(h.settings, env.client, upload_limit=upload)
        async with app.router.lifespan_context(app):
            yield Web(h, app)


def element(html: str, id_: str) -> str | None:
    """The text of the element with ``id_`` in a page or fragment (up to its first inner
    tag), as a person reads it there."""
    at = html.find(f'id="{id_}"')
    if at < 0:
        return None
    start = html.index(">", at) + 1
    return html[start : html.index("<", start)]
