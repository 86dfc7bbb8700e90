"""SQLite's group commit (``store.db.SqliteFile``): every store on a file shares one
connection, and calls made at once are committed together, each still all or nothing,
each failing alone, none answered before its transaction is committed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from breachclock.runtime.store.db import Migration, Schema, SqliteDb, SqliteFile

ONE = Schema("one", (Migration(1, both=("CREATE TABLE one (k TEXT PRIMARY KEY, v INTEGER)",)),))
TWO = Schema("two", (Migration(1, both=("CREATE TABLE two (k TEXT PRIMARY KEY, v INTEGER)",)),))


async def test_stores_on_one_file_share_one_connection_and_commit_together(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    one, two = SqliteDb(path, ONE), SqliteDb(path, TWO)
    commits = 0

    def trace(sql: str) -> None:
        nonlocal commits
        commits += sql == "COMMIT"

    await one.atomic([("INSERT INTO one VALUES (?, ?)", ("first", 0))])
    file = SqliteFile.take(path)
    try:
        assert file is one._on() is two._on(), "one connection per file and process"
        file.connection(ONE).set_trace_callback(trace)
        calls = [
            (one if i % 2 else two).atomic(
                [(f"INSERT INTO {'one' if i % 2 else 'two'} VALUES (?, ?)", (f"k{i}", i))]
            )
            for i in range(200)
        ]
        assert await asyncio.gather(*calls) == [[1]] * 200
        assert commits < 20, f"200 calls at once took {commits} transactions"
        assert await one.query("SELECT COUNT(*) FROM one") == [(101,)]
        assert await two.query("SELECT COUNT(*) FROM two") == [(100,)]
    finally:
        await file.give_back()
        await one.close()
        await two.close()
    with sqlite3.connect(path) as other:  # committed, as another process reads it
        assert other.execute("SELECT COUNT(*) FROM one").fetchone() == (101,)


async def test_a_call_that_fails_in_a_batch_fails_alone_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    db = SqliteDb(tmp_path / "x.db", ONE)
    await db.atomic([("INSERT INTO one VALUES ('taken', 0)", ())])

    def insert(i: int) -> list[tuple[str, tuple[object, ...]]]:
        # Call 25 writes its own row, then one that breaks the key: both go.
        row = [("INSERT INTO one VALUES (?, ?)", (f"k{i}", i))]
        return [*row, ("INSERT INTO one VALUES ('taken', 1)", ())] if i == 25 else row

    results = await asyncio.gather(
        *(db.atomic(insert(i)) for i in range(50)), return_exceptions=True
    )
    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [25]
    assert isinstance(results[25], sqlite3.IntegrityError)
    keys = {k for (k,) in await db.query("SELECT k FROM one")}
    assert keys == {"taken"} | {f"k{i}" for i in range(50) if i != 25}
    # The batch after it is a transaction as any other.
    assert await db.atomic([("UPDATE one SET v = 7 WHERE k = 'taken'", ())]) == [1]
    await db.close()


async def test_a_cancelled_caller_s_write_is_done_and_the_next_calls_go_on(
    tmp_path: Path,
) -> None:
    db = SqliteDb(tmp_path / "x.db", ONE)
    many = [
        asyncio.ensure_future(db.atomic([("INSERT INTO one VALUES (?, ?)", (f"k{i}", i))]))
        for i in range(30)
    ]
    await asyncio.sleep(0)
    many[10].cancel()
    await asyncio.gather(*many, return_exceptions=True)
    assert many[10].cancelled()
    # Whether the cancelled one landed depends on when it was cancelled; every other did.
    count = (await db.query("SELECT COUNT(*) FROM one"))[0][0]
    assert count in (29, 30)
    assert await db.atomic([("INSERT INTO one VALUES ('after', 0)", ())]) == [1]
    await db.close()


async def test_an_older_schema_open_on_the_file_does_not_stop_a_newer_one_migrating(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.db"
    older = SqliteDb(path, ONE)
    await older.atomic([("INSERT INTO one VALUES ('a', 1)", ())])
    newer = SqliteDb(
        path,
        Schema("one", (*ONE.migrations, Migration(2, both=("ALTER TABLE one ADD w TEXT",)))),
    )
    assert await newer.query("SELECT k, w FROM one") == [("a", None)]
    await older.close()
    await newer.close()


@pytest.mark.parametrize("at_once", [False, True])
async def test_a_commit_on_the_loop_waits_for_the_thread_s_batch_not_for_sqlite_s_lock(
    tmp_path: Path, at_once: bool
) -> None:
    """``atomic_now`` (the e-mail's claim) shares the connection under its lock: it
    never meets a busy database of its own process."""
    db = SqliteDb(tmp_path / "x.db", ONE)
    writes = [
        asyncio.ensure_future(db.atomic([("INSERT INTO one VALUES (?, ?)", (f"k{i}", i))]))
        for i in range(100)
    ]
    await asyncio.sleep(0)
    run = db.atomic_now if at_once else db.atomic
    assert await run([("INSERT INTO one VALUES ('now', 0)", ())]) == [1]
    await asyncio.gather(*writes)
    assert (await db.query("SELECT COUNT(*) FROM one"))[0][0] == 101
    await db.close()


async def test_a_claim_s_commit_never_checkpoints_the_file_s_thread_does(tmp_path: Path) -> None:
    """A claim commits with ``atomic_now`` and the e-mail's final "." follows at once
    (``smtp_commit``). SQLite's automatic checkpoint ran inside the COMMIT that filled
    its log, after the transaction had committed: a worker killed in those milliseconds
    leaves a person recorded as e-mailed and the message dropped by the relay. Here 8 MiB
    of claims fill the log twice over its automatic threshold (4 MiB) and the database
    file is still as it was before them; the next batch of the file's thread copies it."""
    path = tmp_path / "claims.db"
    db = SqliteDb(path, ONE)
    await db.atomic([("INSERT INTO one VALUES ('first', 0)", ())])
    before = path.stat().st_size
    blob = "x" * 64 * 1024
    try:
        for i in range(128):
            await db.atomic_now([("INSERT INTO one VALUES (?, ?)", (f"{i}{blob}", i))])
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size > 8 * 1024 * 1024, "the log grew: no checkpoint reset it"
        assert path.stat().st_size == before, "no claim's commit copied the log"
        await db.atomic([("INSERT INTO one VALUES ('after', 1)", ())])
        assert path.stat().st_size > 8 * 1024 * 1024, "the file's thread checkpointed"
        assert await db.query("SELECT COUNT(*) FROM one") == [(130,)]
    finally:
        await db.close()
