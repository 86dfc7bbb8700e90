"""The same store tests on both backends: SQLite in a folder, and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from breachclock.runtime.codec import Sealer
from breachclock.runtime.config import Settings
from breachclock.runtime.store import RecordStore, open_store, records
from breachclock.runtime.store.db import PostgresDb, SqliteDb
from tests.postgres import (  # noqa: F401 - the postgresql_url fixture
    postgresql_url_fixture,
    scratch_database,
)

SEALER = Sealer({"k": os.urandom(32)}, "k")


def SqliteStore(path: Path) -> RecordStore:
    return RecordStore(SqliteDb(path, records.SCHEMA), SEALER)


def PostgresStore(url: str) -> RecordStore:
    return RecordStore(PostgresDb(url, records.SCHEMA), SEALER)


T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

# A backend as the tests see it: make a store (another "worker" on the same data when
# called again), and count the rows of the ledger behind the interface's back.
MakeStore = Callable[[], RecordStore]


class Backend:
    def __init__(self, make: MakeStore, count_sent: Callable[[], Awaitable[int]]) -> None:
        self.make = make
        self.count_sent = count_sent
        self.opened: list[RecordStore] = []

    def store(self) -> RecordStore:
        store = self.make()
        self.opened.append(store)
        return store


async def sqlite_backend(tmp_path: Path) -> Backend:
    path = tmp_path / "data" / "breachclock.db"

    async def count() -> int:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT count(*) FROM sent").fetchone()[0])

    return Backend(lambda: SqliteStore(path), count)


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        b = await sqlite_backend(tmp_path)
        yield b
    else:
        server: str = request.getfixturevalue("postgresql_url")
        async with scratch_database(server) as url:

            async def count() -> int:
                db = await asyncpg.connect(url)
                try:
                    return int(await db.fetchval("SELECT count(*) FROM sent"))
                finally:
                    await db.close()

            b = Backend(lambda: PostgresStore(url), count)
            yield b
    for store in b.opened:
        await store.close()


def receipt(key: str, n: int = 0) -> dict[str, Any]:
    return {"key": key, "message_id": f"<{n}@breachclock>", "attempt": n, "recipients": 1}


async def test_ledger_round_trip(backend: Backend) -> None:
    store = backend.store()
    assert await store.sent("INC-1:1") is None
    assert await store.record_sent("INC-1:1", "<0@breachclock>", T0, receipt("INC-1:1")) is True
    assert await store.sent("INC-1:1") == receipt("INC-1:1")
    assert await store.sent("INC-1:2") is None
    # another worker (its own connections) sees the same ledger
    assert await backend.store().sent("INC-1:1") == receipt("INC-1:1")


async def test_duplicate_key_keeps_the_first_record(backend: Backend) -> None:
    store = backend.store()
    assert await store.record_sent("K", "<1@breachclock>", T0, receipt("K", 1))
    later = T0 + timedelta(minutes=5)
    assert await store.record_sent("K", "<2@breachclock>", later, receipt("K", 2)) is False
    assert await backend.store().record_sent("K", "<3@b>", later, receipt("K", 3)) is False
    assert await store.sent("K") == receipt("K", 1)
    assert await backend.count_sent() == 1


async def test_concurrent_record_of_one_key_leaves_one_row(backend: Backend) -> None:
    """Many tasks on two "workers", each with its own store, race on one key (and on
    creating the schema): exactly one insert wins and its record is the one kept."""
    workers = [backend.store(), backend.store()]
    attempts = 40
    results = await asyncio.gather(
        *(
            workers[n % 2].record_sent("RACE", f"<{n}@breachclock>", T0, receipt("RACE", n))
            for n in range(attempts)
        )
    )
    winners = [n for n, inserted in enumerate(results) if inserted]
    assert len(winners) == 1
    assert await workers[0].sent("RACE") == receipt("RACE", winners[0])
    assert await workers[1].sent("RACE") == receipt("RACE", winners[0])
    assert await backend.count_sent() == 1


async def test_register_in_order_of_closure(backend: Backend) -> None:
    store = backend.store()
    stockholm = timezone(timedelta(hours=2))
    # B closes at 10:00 UTC, written with a +02:00 offset (12:00 local): between A and C.
    await store.register("INC-C", T0 + timedelta(hours=3), '{"reference": "INC-C"}')
    await store.register("INC-B", datetime(2025, 3, 1, 12, 0, tzinfo=stockholm), '{"ref": "B"}')
    await store.register("INC-A", T0, '{"reference": "INC-A"}')
    assert await store.registered("INC-B") == '{"ref": "B"}'
    assert await store.registered("INC-Z") is None
    assert await store.all_registered() == [
        '{"reference": "INC-A"}',
        '{"ref": "B"}',
        '{"reference": "INC-C"}',
    ]
    # registering again replaces the record and moves it
    await store.register("INC-A", T0 + timedelta(hours=4), '{"reference": "INC-A", "v": 2}')
    assert await backend.store().all_registered() == [
        '{"ref": "B"}',
        '{"reference": "INC-C"}',
        '{"reference": "INC-A", "v": 2}',
    ]


async def test_naive_times_are_refused(backend: Backend) -> None:
    store = backend.store()
    with pytest.raises(ValueError, match="naive"):
        await store.record_sent("N", "<n@b>", datetime(2025, 3, 1, 9, 0), receipt("N"))
    assert await store.sent("N") is None


def test_open_store_follows_the_settings(tmp_path: Path) -> None:
    local = open_store(Settings(BREACHCLOCK_DATA_DIR=tmp_path)).db
    assert isinstance(local, SqliteDb) and local.path == tmp_path / "breachclock.db"
    assert not local.path.exists(), "nothing is created before first use"
    shared = Settings(
        BREACHCLOCK_DATA_DIR=tmp_path, BREACHCLOCK_STORE_URL="postgresql://u:secret@db:5432/bc"
    )
    assert isinstance(open_store(shared).db, PostgresDb)
    assert "secret" not in repr(shared) and "secret" not in repr(open_store(shared))
    with pytest.raises(ValueError, match="unsupported scheme 'mysql'"):
        open_store(Settings(BREACHCLOCK_STORE_URL=SecretStr("mysql://db/bc")))
