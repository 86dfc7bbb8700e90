"""Signing in under a flood: fifty wrong passwords at once get the account's five argon2
checks and no more, the rest and then the right password are answered 429 with
Retry-After in the reader's language, the lock ends by itself, and every sign-in,
failure, lock, sign-out and token use is in the audit log (never a password)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.catalogue import Voice
from breachclock.runtime.store.db import Statement
from breachclock.runtime.store.throttle import Key, Policy, Throttle
from breachclock.service import signin
from breachclock.service.accounts import password_ok
from breachclock.web.auth import Role
from tests.conftest import SmtpSink
from tests.web.support import BASE, PASSWORD, web

WRONG = "not-the-password-0451"


class Ahead(Throttle):
    """The real throttle on the real store, its clock as far ahead as the test says: a
    lock short enough to wait out in a test ran out under load before the test looked."""

    ahead = timedelta(0)

    async def claim(self, keys: tuple[Key, ...], now: datetime) -> bool:
        return await super().claim(keys, now + self.ahead)

    async def failed(
        self, keys: tuple[Key, ...], now: datetime, also: Sequence[Statement] = ()
    ) -> bool:
        return await super().failed(keys, now + self.ahead, also)

    async def wait(self, keys: tuple[Key, ...], now: datetime) -> int:
        return await super().wait(keys, now + self.ahead)


async def test_a_flood_of_wrong_passwords_gets_the_limit_of_checks_and_a_lock(
    dev_server: WorkflowEnvironment,
    tmp_path: Path,
    smtp: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks = 0

    def counted(*args: Any) -> bool:
        nonlocal checks
        checks += 1
        return password_ok(*args)  # the real argon2 verification

    monkeypatch.setattr(signin, "password_ok", counted)
    policy = Policy(first_lock=timedelta(minutes=1))
    async with web(dev_server, tmp_path, smtp) as w:
        throttle = w.auth.throttle = Ahead(w.auth.store.db, policy)
        await w.account("maria", Role.MANAGER)
        async with w.client(headers={"Accept-Language": "sv"}) as browser:
            answers = await asyncio.gather(
                *(
                    browser.post("/login", data={"name": "maria", "password": WRONG})
                    for _ in range(50)
                )
            )
            statuses = sorted(a.status_code for a in answers)
            assert checks == policy.per_account, statuses
            assert statuses == [401] * checks + [429] * (50 - checks)
            assert all(
                0 < int(a.headers["Retry-After"]) <= 60 for a in answers if a.status_code == 429
            )

            right = await browser.post("/login", data={"name": "maria", "password": PASSWORD})
            assert right.status_code == 429, "the right password during the lock is refused too"
            wait = int(right.headers["Retry-After"])
            assert Voice("sv")("problem.auth.throttled", seconds=wait) in right.text
            assert checks == policy.per_account, "a locked account costs no argon2 check"

            throttle.ahead = timedelta(seconds=wait)
            signed = await browser.post("/login", data={"name": "maria", "password": PASSWORD})
            assert signed.status_code == 303, "the lock ends by itself"
            session = await w.auth.store.session(browser.cookies["bc_session"], datetime.now(UTC))
            assert session is not None
            out = await browser.post("/logout", data={"csrf": session.csrf})
            assert out.status_code == 303

        async with await w.bearer(Role.AUDITOR, "reviewer") as api:
            assert (await api.get("/api/incidents")).status_code == 200
            log = await api.get("/api/audit")
            assert log.status_code == 200
        assert WRONG not in log.text and PASSWORD not in log.text
        entries = [(e["actor"], e["action"], e["address"]) for e in log.json()]
        here = "10.1.2.3"
        assert entries.count(("maria", "audit.sign_in.failed", here)) == policy.per_account
        assert entries.count(("maria", "audit.sign_in.locked", here)) == 1
        assert entries.count(("maria", "audit.sign_in", here)) == 1
        assert entries.count(("maria", "audit.sign_out", here)) == 1
        used = [e for e in entries if e[1] == "audit.token.used"]
        assert len(used) == 1 and used[0][0].startswith("reviewer (")


async def test_behind_a_trusted_proxy_each_client_has_its_own_tries_and_spoofing_counts_for_nothing(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The harness's peer 10.1.2.3 is the trusted proxy: two clients behind it are
    throttled each by their own address (what the proxy appended, not what the client
    wrote to its left); a peer not trusted is counted by its own address, whatever
    X-Forwarded-For it sends."""
    proxy = {"BREACHCLOCK_TRUSTED_PROXIES": ["10.1.2.0/24"]}
    async with web(dev_server, tmp_path, smtp, **proxy) as w:
        policy = Policy(per_account=50, per_address=2)
        w.auth.throttle = Throttle(w.auth.store.db, policy)
        await w.account("maria", Role.MANAGER)

        async def sign_in(client: Any, forwarded: str, password: str = WRONG) -> int:
            answer = await client.post(
                "/login",
                data={"name": "maria", "password": password},
                headers={"X-Forwarded-For": forwarded},
            )
            return int(answer.status_code)

        async with w.client() as through_proxy:
            # One client spends its address's tries, also claiming to be another.
            assert await sign_in(through_proxy, "203.0.113.7") == 401
            assert await sign_in(through_proxy, "198.51.100.9, 203.0.113.7") == 401
            assert await sign_in(through_proxy, "198.51.100.9, 203.0.113.7") == 429
            # The other client is not held back by it.
            assert await sign_in(through_proxy, "198.51.100.9", PASSWORD) == 303

        outside = httpx.ASGITransport(app=w.app, client=("192.0.2.50", 4711))
        async with httpx.AsyncClient(transport=outside, base_url=BASE) as spoofer:
            for claimed in ("198.51.100.1", "198.51.100.2"):
                assert await sign_in(spoofer, claimed) == 401
            assert await sign_in(spoofer, "198.51.100.3") == 429, "its own address, locked"

        async with await w.bearer(Role.AUDITOR, "reviewer") as api:
            log = (await api.get("/api/audit")).json()
        failed = [e["address"] for e in log if e["action"] == "audit.sign_in.failed"]
        assert sorted(failed) == ["192.0.2.50", "192.0.2.50", "203.0.113.7", "203.0.113.7"]
        assert [e["address"] for e in log if e["action"] == "audit.sign_in"] == ["198.51.100.9"]
