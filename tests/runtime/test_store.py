"""The same store tests on both backends: SQLite in a folder, and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg
import pytest
from pydantic import SecretStr

from activities.api import Receipt
from activities.mailer import KeyBusy, Mailer, SmtpRelay
from breachclock.runtime.codec import Sealer
from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import free_port
from breachclock.runtime.store import RecordStore, open_store, records
from breachclock.runtime.store.db import PostgresDb, SqliteDb
from tests.conftest import SmtpSink
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
SENT_ROWS = "SELECT count(*) FROM ledger WHERE detail IS NOT NULL"

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
            return int(db.execute(SENT_ROWS).fetchone()[0])

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
                    return int(await db.fetchval(SENT_ROWS))
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


async def test_a_filing_as_sent_is_kept_sealed_with_its_record_until_retention(
    backend: Backend,
) -> None:
    """The copy is written by the statement that records the send, so only the winning
    record's copy is kept; it is sealed at rest, and retention deletes it while the
    record that the key was sent stays."""
    store = backend.store()
    first = b"Subject: INC-9 initial\r\n\r\nPersonnummer 19121212-1212\r\n"
    kept = records.Kept("INC-9", first)
    assert await store.record_sent("INC-9:1", "<1@b>", T0, receipt("INC-9:1"), kept)
    again = records.Kept("INC-9", b"another body")
    assert not await backend.store().record_sent("INC-9:1", "<2@b>", T0, receipt("K"), again)
    assert await store.copy_of("INC-9:1") == first
    assert await store.record_sent("INC-9:2", "<3@b>", T0, receipt("INC-9:2"))
    assert await store.copy_of("INC-9:2") is None, "sent without a copy"
    (stored,) = await store.db.query("SELECT copy FROM ledger WHERE key = 'INC-9:1'")
    assert b"19121212" not in str(stored[0]).encode() and str(stored[0]).startswith("sealed:")
    assert await store.forget_copies("INC-9") == 1
    assert await store.copy_of("INC-9:1") is None
    assert await store.sent("INC-9:1") == receipt("INC-9:1"), "still recorded as sent"


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


# ------------------------------------------------------- send once, under concurrency


def page(key: str) -> EmailMessage:
    message = EmailMessage()
    message["To"] = "oncall@example.org"
    message["Subject"] = f"page {key}"
    message.set_content("confirm a possible breach")
    return message


async def send_until_done(mailer: Mailer, key: str) -> Receipt:
    """One caller as Temporal drives an activity: a busy key is tried again shortly."""
    while True:
        try:
            return await mailer.send_once(key, page(key))
        except KeyBusy:
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("keys", [1, 20])
async def test_concurrent_sends_mail_each_key_once(
    backend: Backend, smtp: SmtpSink, keys: int
) -> None:
    """50 callers of one key, or 20 keys with callers interleaved, on two "workers" (each
    its own store): the SMTP server receives exactly one mail per key, and every caller
    of a key holds the same receipt. Before the lease and the sent mark shared one row,
    a caller that found the key unsent while another finished took the freed lease."""
    relay = SmtpRelay(host="127.0.0.1", port=smtp.port, sender="engine@example.org")
    workers = [Mailer(relay, backend.store()), Mailer(relay, backend.store())]
    callers = 50 if keys == 1 else 5 * keys
    names = [f"INC-{n % keys}:page:intake" for n in range(callers)]
    receipts = await asyncio.gather(
        *(send_until_done(workers[n % 2], name) for n, name in enumerate(names))
    )
    assert Counter(smtp.keys()) == Counter(set(names))
    for name in set(names):
        got = {
            (r.key, r.message_id, r.sent_at)
            for r, n in zip(receipts, names, strict=True)
            if n == name
        }
        assert len(got) == 1, got
        assert (
            sum(1 for r, n in zip(receipts, names, strict=True) if n == name and not r.duplicate)
            == 1
        )
    assert await backend.count_sent() == keys


async def test_a_mail_in_the_making_waits_on_an_open_connection_and_is_stopped_when_moot(
    backend: Backend, smtp: SmtpSink
) -> None:
    """A filing's mail is made (its documents laid out) while its key is leased and the
    relay's connection opened, so it goes the moment it is made: an approval waits for
    all of it. Where the relay cannot be reached, or the key was sent already, the
    making is stopped unfinished (before, it was always made first)."""
    store = backend.store()
    sender = "engine@example.org"
    mailer = Mailer(SmtpRelay(host="127.0.0.1", port=smtp.port, sender=sender), store)
    stopped: list[str] = []

    async def making(key: str, release: asyncio.Event) -> EmailMessage:
        try:
            await release.wait()
        except asyncio.CancelledError:
            stopped.append(key)
            raise
        return page(key)

    ready = asyncio.Event()
    ready.set()
    sent = await mailer.send_once("INC-1:1", making("INC-1:1", ready))
    assert smtp.keys() == ["INC-1:1"] and not sent.duplicate

    never = asyncio.Event()
    again = await asyncio.wait_for(mailer.send_once("INC-1:1", making("again", never)), 10)
    assert again.duplicate and again.message_id == sent.message_id

    down = Mailer(SmtpRelay(host="127.0.0.1", port=free_port(), sender=sender), store)
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await asyncio.wait_for(down.send_once("INC-2:1", making("INC-2:1", never)), 10)
    assert stopped == ["again", "INC-2:1"]
    assert smtp.keys() == ["INC-1:1"]
    assert await store.lease("INC-2:1", "the retry", datetime.now(UTC), timedelta(minutes=3))


async def test_a_recorded_key_is_never_leased(backend: Backend) -> None:
    store = backend.store()
    assert await store.lease("K", "a", T0, timedelta(minutes=3))
    assert not await store.lease("K", "b", T0, timedelta(minutes=3))
    assert await store.record_sent("K", "<1@breachclock>", T0, receipt("K", 1))
    for holder in ("a", "b"):  # not the holder that sent it, nor anyone, even much later
        assert not await store.lease("K", holder, T0 + timedelta(days=1), timedelta(minutes=3))
    await store.release("K", "a")
    assert await store.sent("K") == receipt("K", 1)


async def test_an_older_ledger_is_carried_over(tmp_path: Path) -> None:
    """A store made before the ledger had one row per key keeps what it recorded and the
    lease it held."""
    path = tmp_path / "old.db"
    older = records.Schema("records", records.SCHEMA.migrations[:3])
    old = RecordStore(SqliteDb(path, older), SEALER)
    await old.db.atomic(
        [
            (
                "INSERT INTO sent (key, message_id, sent_at, detail) VALUES (?, ?, ?, ?)",
                ("DONE", "<1@b>", T0.isoformat(), json.dumps(receipt("DONE", 1))),
            ),
            (
                "INSERT INTO sending (key, holder, held_until) VALUES (?, ?, ?)",
                ("HELD", "a", (T0 + timedelta(minutes=3)).timestamp()),
            ),
        ]
    )
    await old.close()
    async with SqliteStore(path) as store:
        assert await store.sent("DONE") == receipt("DONE", 1)
        assert not await store.lease("DONE", "x", T0, timedelta(minutes=3))
        assert not await store.lease("HELD", "x", T0, timedelta(minutes=3))
        assert await store.lease("HELD", "x", T0 + timedelta(minutes=4), timedelta(minutes=3))
