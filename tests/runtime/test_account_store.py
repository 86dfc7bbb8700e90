"""The accounts store on both backends: SSO mapping, disabling (sessions and tokens stop
in the same transaction), token expiry and revocation, and an Idempotency-Key's first
body decided once under concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from breachclock.runtime.store.accounts import (
    SCHEMA,
    Account,
    AccountStore,
    AuditEntry,
    digest,
)
from breachclock.runtime.store.db import PostgresDb, Schema, SqliteDb
from tests.postgres import (  # noqa: F401 - the postgresql_url fixture
    postgresql_url_fixture,
    scratch_database,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AccountStore]:
    if request.param == "sqlite":
        made = AccountStore(SqliteDb(tmp_path / "breachclock.db", SCHEMA))
        yield made
        await made.db.close()
        return
    server: str = request.getfixturevalue("postgresql_url")
    async with scratch_database(server) as url:
        made = AccountStore(PostgresDb(url, SCHEMA))
        yield made
        await made.db.close()


async def test_accounts_sessions_and_tokens_stop_when_disabled(store: AccountStore) -> None:
    assert await store.add_account(Account(name="erik", role="auditor", sso="erik@op"), NOW)
    assert not await store.add_account(Account(name="erik", role="manager"), NOW)
    assert not await store.add_account(Account(name="eve", role="manager", sso="erik@op"), NOW)
    assert await store.add_account(Account(name="maria", role="manager", password_hash="h"), NOW)
    mapped = await store.account_by_sso("erik@op")
    assert mapped is not None and mapped.name == "erik"
    assert await store.account_by_sso("maria") is None, "a password account is not an SSO one"

    await store.start_session("s1", "erik", "c1", NOW + timedelta(hours=1))
    first = await store.add_token("t1", "bot", "auditor", NOW, owner="erik")
    second = await store.add_token("t2", "bot", "auditor", NOW, expires=NOW + timedelta(days=1))
    assert first != second, "labels repeat, ids do not"
    used = await store.token("t1", NOW, "10.0.0.1")
    assert used is not None and used.last_used_at == NOW and used.id == first
    assert await store.token("t2", NOW + timedelta(days=2), "10.0.0.1") is None, "expired"

    assert await store.disable("erik", NOW, "manager")
    assert not await store.disable("erik", NOW, "manager"), "once"
    assert await store.session("s1", NOW) is None
    assert await store.token("t1", NOW, "10.0.0.1") is None
    assert await store.account_by_sso("erik@op") is None
    assert await store.token("t2", NOW, "10.0.0.1") is not None
    assert await store.revoke_token(second, NOW)
    assert not await store.revoke_token(second, NOW)
    assert await store.token("t2", NOW, "10.0.0.1") is None
    assert await store.add_account(Account(name="ingrid", role="manager"), NOW)
    assert await store.set_role("maria", "auditor", "manager")
    assert not await store.set_role("nobody", "auditor", "manager")


async def test_the_last_enabled_manager_is_kept(store: AccountStore) -> None:
    """Neither demoted nor disabled: the deployment would have no one to manage it. Its
    sessions and tokens are left as they were."""
    for name in ("maria", "ingrid"):
        assert await store.add_account(Account(name=name, role="manager"), NOW)
    await store.start_session("s-maria", "maria", "c", NOW + timedelta(hours=1))
    await store.add_token("t-maria", "bot", "auditor", NOW, owner="maria")
    assert await store.disable("ingrid", NOW, "manager")
    assert not await store.set_role("maria", "auditor", "manager")
    assert not await store.disable("maria", NOW, "manager")
    assert await store.session("s-maria", NOW) is not None
    assert await store.token("t-maria", NOW, "10.0.0.1") is not None
    assert await store.set_role("maria", "manager", "manager"), "to the kept role: always"
    assert await store.enable("ingrid") and not await store.enable("ingrid")
    assert await store.set_role("maria", "auditor", "manager"), "another manager is left"
    for reference in ("account:maria", "INC-1", "token:abc", "accountant"):
        await store.audit(
            AuditEntry(
                at=NOW, actor="x", role="manager", action="a", reference=reference, address="::1"
            )
        )
    about = await store.audit_about(("account", "token"))
    assert [a.reference for a in about] == ["token:abc", "account:maria"]


async def test_an_idempotency_key_keeps_the_first_body_under_concurrency(
    store: AccountStore,
) -> None:
    answers = await asyncio.gather(
        *(store.request_body(f"key-{i % 5}", f"body-{i}", NOW) for i in range(50))
    )
    for k in range(5):
        seen = {answers[i] for i in range(50) if i % 5 == k}
        assert len(seen) == 1 and seen <= {f"body-{i}" for i in range(50) if i % 5 == k}


async def test_a_version_1_database_keeps_its_sso_accounts_and_tokens(tmp_path: Path) -> None:
    """Before the ``sso`` column, an account without a password was signed in through the
    header by its name: upgraded, it is mapped to that name; an old token gets an id."""
    path = tmp_path / "breachclock.db"
    old = SqliteDb(path, Schema("accounts", SCHEMA.migrations[:1]))
    await old.atomic(
        [
            (
                "INSERT INTO accounts (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                ("erik", "auditor", None, 0.0),
            ),
            (
                "INSERT INTO accounts (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                ("maria", "manager", "hash", 0.0),
            ),
            (
                "INSERT INTO tokens (digest, label, role, created_at) VALUES (?, ?, ?, ?)",
                (digest("old-secret"), "ci", "manager", 0.0),
            ),
        ]
    )
    await old.close()
    store = AccountStore(SqliteDb(path, SCHEMA))
    try:
        mapped = await store.account_by_sso("erik")
        assert mapped is not None and mapped.name == "erik"
        assert await store.account_by_sso("maria") is None
        token = await store.token("old-secret", NOW, "10.0.0.1")
        assert token is not None and token.id == digest("old-secret")[:16]
    finally:
        await store.db.close()


async def test_two_managers_taking_each_other_out_at_once_leave_one(
    store: AccountStore,
) -> None:
    """Each demotes or disables the other at the same moment, through stores of their
    own (two web processes): one of the two changes is refused, every time."""
    db = store.db
    other = AccountStore(
        SqliteDb(db.path, SCHEMA) if isinstance(db, SqliteDb) else PostgresDb(db._url, SCHEMA)  # type: ignore[attr-defined]
    )
    try:
        for round_ in range(15):
            a, b = f"a{round_}", f"b{round_}"
            await store.db.atomic([("UPDATE accounts SET role = 'auditor'", ())])
            for name in (a, b):
                assert await store.add_account(Account(name=name, role="manager"), NOW)
            done = await asyncio.gather(
                store.set_role(a, "auditor", "manager"),
                other.disable(b, NOW, "manager")
                if round_ % 2
                else other.set_role(b, "auditor", "manager"),
            )
            assert sorted(done) == [False, True], round_
    finally:
        await other.db.close()
