"""The record of a notification campaign: who is affected, and every attempt to tell them.

Why not in the workflow: 22,000 (or 200,000) people with their contact details and
progress do not fit a workflow's state across continue-as-new (2 MB per payload),
and contact details do not belong in Temporal's history at all beyond the encrypted
pages they arrive in. The campaign workflow holds only slices of sequence numbers
and counts; the people and their attempts live here.

``attempts`` is also the idempotency record for calls and notice e-mails: a key
(``<reference>:<subscriber>:call:<n>``, ``<reference>:<subscriber>:email``) is
written once, with the person's new progress, in one transaction. ``worklist`` holds
the calls people make by hand.

One SQL text for both backends: SQLite in the data folder (one machine), PostgreSQL
when ``BREACHCLOCK_STORE_URL`` names one (workers on several machines must share
this record). Instants are stored as POSIX seconds, so both compare them alike.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel

from breachclock.notify.delivery import CallOutcome, Counts, Progress, Status
from breachclock.notify.subscribers import AS_STORED, Subscriber

if TYPE_CHECKING:
    from breachclock.config import Settings

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS recipients (
        reference TEXT NOT NULL,
        subscriber_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        person TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        calls_made INTEGER NOT NULL DEFAULT 0,
        last_outcome TEXT,
        next_at DOUBLE PRECISION,
        PRIMARY KEY (reference, subscriber_id)
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS recipients_seq ON recipients (reference, seq)",
    """CREATE TABLE IF NOT EXISTS attempts (
        key TEXT PRIMARY KEY,
        reference TEXT NOT NULL,
        subscriber_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        number INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS attempts_person ON attempts (reference, subscriber_id)",
    """CREATE TABLE IF NOT EXISTS worklist (
        key TEXT PRIMARY KEY,
        reference TEXT NOT NULL,
        subscriber_id TEXT NOT NULL,
        request TEXT NOT NULL,
        queued_at DOUBLE PRECISION NOT NULL,
        claimed_by TEXT,
        claimed_until DOUBLE PRECISION,
        outcome TEXT,
        recorded_at DOUBLE PRECISION
    )""",
    "CREATE INDEX IF NOT EXISTS worklist_open ON worklist (outcome, queued_at)",
)

Statement = tuple[str, Sequence[Any]]


def seconds(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError("naive datetime: an offset or zone is required")
    return at.timestamp()


def instant(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class Db(ABC):
    """Runs SQL written with ``?`` placeholders; ``atomic`` runs statements in one transaction."""

    @abstractmethod
    async def atomic(self, statements: Sequence[Statement]) -> list[int]:
        """Row counts of each statement; all or nothing."""

    async def atomic_now(self, statements: Sequence[Statement]) -> list[int]:
        """``atomic``, and for a backend that can, without yielding to the event loop:
        the caller's next statement runs right after the commit (see ``smtp_commit``)."""
        return await self.atomic(statements)

    @abstractmethod
    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows, in one transaction."""

    @abstractmethod
    async def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]: ...

    async def close(self) -> None:  # noqa: B027 - optional
        pass


class SqliteDb(Db):
    """One connection on one thread: SQLite serialises writers anyway, and a thread of
    its own keeps the event loop free and spares a connect per statement."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify-store")
        self._db: sqlite3.Connection | None = None
        self._here: sqlite3.Connection | None = None
        """A second connection, for short writes on the event loop's own thread."""

    def _open(self) -> sqlite3.Connection:
        """A connection in WAL mode with the schema in place."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        for attempt in itertools.count():
            try:
                db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or attempt >= 100:
                    raise
                time.sleep(0.05)
        db.execute("PRAGMA synchronous=NORMAL")
        for statement in SCHEMA:
            db.execute(statement)
        return db

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _atomic(
        self, statements: Sequence[Statement], db: sqlite3.Connection | None = None
    ) -> list[int]:
        db = db or self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            counts = [db.execute(sql, tuple(args)).rowcount for sql, args in statements]
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return counts

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(sql, [tuple(r) for r in rows])
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(self._conn().execute(sql, tuple(args)).fetchall())

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def atomic(self, statements: Sequence[Statement]) -> list[int]:
        result: list[int] = await self._run(self._atomic, statements)
        return result

    async def atomic_now(self, statements: Sequence[Statement]) -> list[int]:
        if self._here is None:
            self._here = self._open()
        return self._atomic(statements, self._here)

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._run(self._many, sql, rows)

    async def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        result: list[tuple[Any, ...]] = await self._run(self._query, sql, args)
        return result

    async def close(self) -> None:
        def shut() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await self._run(shut)
        if self._here is not None:
            self._here.close()
            self._here = None


def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …``."""
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


class PostgresDb(Db):
    """A pool, opened on first use; the schema made under an advisory lock."""

    SCHEMA_LOCK = 0x6E6F74696679  # "notify"

    def __init__(self, url: str) -> None:
        self._url = url
        self._pool: Any = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "PostgresDb(<url>)"

    async def _ready(self) -> Any:
        async with self._lock:
            if self._pool is None:
                import asyncpg

                pool = await asyncpg.create_pool(self._url, min_size=1, max_size=8)
                async with pool.acquire() as db, db.transaction():
                    await db.execute("SELECT pg_advisory_xact_lock($1)", self.SCHEMA_LOCK)
                    for statement in SCHEMA:
                        await db.execute(statement)
                self._pool = pool
        return self._pool

    async def atomic(self, statements: Sequence[Statement]) -> list[int]:
        pool = await self._ready()
        counts = []
        async with pool.acquire() as db, db.transaction():
            for sql, args in statements:
                status = await db.execute(numbered(sql), *args)
                counts.append(int(str(status).rsplit(" ", 1)[-1]))
        return counts

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        pool = await self._ready()
        async with pool.acquire() as db, db.transaction():
            await db.executemany(numbered(sql), [tuple(r) for r in rows])

    async def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        pool = await self._ready()
        return [tuple(r) for r in await pool.fetch(numbered(sql), *args)]

    async def close(self) -> None:
        async with self._lock:
            if self._pool is not None:
                pool, self._pool = self._pool, None
                await pool.close()


class Recipient(BaseModel):
    """One person as the campaign works on them."""

    seq: int
    person: Subscriber
    status: Status
    calls_made: int
    last_outcome: CallOutcome | None
    next_at: datetime | None

    def progress(self) -> Progress:
        return Progress(
            calls_made=self.calls_made,
            last_outcome=self.last_outcome,
            next_at=self.next_at,
            has_phone=self.person.phone is not None,
            has_email=self.person.email is not None,
        )


class Attempt(BaseModel):
    key: str
    channel: str
    number: int
    outcome: str
    at: datetime


class WorkItem(BaseModel):
    """A call waiting for an agent: the request, and who holds it until when."""

    key: str
    reference: str
    request: str
    claimed_until: datetime | None


@dataclass(frozen=True)
class Entry:
    """One attempt to record, with the person's progress after it."""

    reference: str
    subscriber_id: str
    key: str
    channel: str
    number: int
    outcome: str
    at: datetime
    status: Status
    next_at: datetime | None
    calls_made: int
    """The person's count of calls before this attempt."""

    def statements(self) -> list[Statement]:
        call = self.channel == "call"
        return [
            (
                "INSERT INTO attempts (key, reference, subscriber_id, channel, number, outcome, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (
                    self.key,
                    self.reference,
                    self.subscriber_id,
                    self.channel,
                    self.number,
                    self.outcome,
                    seconds(self.at),
                ),
            ),
            (
                # Applied once: a call moves calls_made from number-1 to number, and
                # the e-mail or letter ends a pending person; a replayed key matches neither.
                "UPDATE recipients SET status = ?, calls_made = calls_made + ?,"
                " last_outcome = COALESCE(?, last_outcome), next_at = ?"
                " WHERE reference = ? AND subscriber_id = ? AND status = 'pending'"
                " AND calls_made = ?",
                (
                    self.status.value,
                    1 if call else 0,
                    self.outcome if call else None,
                    None if self.next_at is None else seconds(self.next_at),
                    self.reference,
                    self.subscriber_id,
                    self.number - 1 if call else self.calls_made,
                ),
            ),
        ]


class NotifyStore:
    """The campaign's people, attempts and agent worklist, over one ``Db``."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.db.close()

    # ------------------------------------------------------------- people

    async def add(self, reference: str, people: Sequence[Subscriber]) -> int:
        """Take on the people not already known by id; returns how many were new.

        Each new person gets the next sequence number, which is what campaign slices cut.
        """
        ids = [p.id for p in people]
        known: set[str] = set()
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            rows = await self.db.query(
                f"SELECT subscriber_id FROM recipients WHERE reference = ? AND subscriber_id IN ({marks})",
                reference,
                *part,
            )
            known.update(str(r[0]) for r in rows)
        new = [p for p in people if p.id not in known]
        if not new:
            return 0
        (top,) = (
            await self.db.query(
                "SELECT COALESCE(MAX(seq), -1) FROM recipients WHERE reference = ?", reference
            )
        )[0]
        await self.db.many(
            "INSERT INTO recipients (reference, subscriber_id, seq, person) VALUES (?, ?, ?, ?)",
            [(reference, p.id, int(top) + 1 + i, p.model_dump_json()) for i, p in enumerate(new)],
        )
        return len(new)

    async def due(self, reference: str, first: int, end: int, now: datetime) -> list[Recipient]:
        """The people in sequence range [first, end) still pending and due by ``now``."""
        rows = await self.db.query(
            "SELECT seq, person, status, calls_made, last_outcome, next_at FROM recipients"
            " WHERE reference = ? AND seq >= ? AND seq < ? AND status = 'pending'"
            " AND (next_at IS NULL OR next_at <= ?) ORDER BY seq",
            reference,
            first,
            end,
            seconds(now),
        )
        return [self._recipient(r) for r in rows]

    async def next_due(self, reference: str, first: int, end: int) -> datetime | None:
        """When the earliest pending person in the range is next due (None: nobody pending)."""
        rows = await self.db.query(
            "SELECT COUNT(*), MIN(COALESCE(next_at, 0)) FROM recipients"
            " WHERE reference = ? AND seq >= ? AND seq < ? AND status = 'pending'",
            reference,
            first,
            end,
        )
        pending, earliest = rows[0]
        return instant(float(earliest)) if pending else None

    async def defer(self, reference: str, subscriber_id: str, until: datetime) -> None:
        """Not before ``until`` (outside calling hours now)."""
        await self.db.atomic(
            [
                (
                    "UPDATE recipients SET next_at = ? WHERE reference = ? AND subscriber_id = ?",
                    (seconds(until), reference, subscriber_id),
                )
            ]
        )

    async def person(self, reference: str, subscriber_id: str) -> Recipient | None:
        rows = await self.db.query(
            "SELECT seq, person, status, calls_made, last_outcome, next_at FROM recipients"
            " WHERE reference = ? AND subscriber_id = ?",
            reference,
            subscriber_id,
        )
        return self._recipient(rows[0]) if rows else None

    async def unreachable(self, reference: str) -> list[Subscriber]:
        rows = await self.db.query(
            "SELECT person FROM recipients WHERE reference = ? AND status = 'unreachable' ORDER BY seq",
            reference,
        )
        return [Subscriber.model_validate_json(r[0], context=AS_STORED) for r in rows]

    @staticmethod
    def _recipient(row: tuple[Any, ...]) -> Recipient:
        seq, person, status, calls_made, last_outcome, next_at = row
        return Recipient(
            seq=seq,
            person=Subscriber.model_validate_json(person, context=AS_STORED),
            status=Status(status),
            calls_made=calls_made,
            last_outcome=CallOutcome(last_outcome) if last_outcome else None,
            next_at=instant(next_at),
        )

    # ----------------------------------------------------------- attempts

    async def _by_keys(self, query: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """``query``'s rows, its ``{}`` filled with one placeholder per key, in chunks of
        500 keys (SQLite's limit on bound variables is 999 in older builds)."""
        rows: list[tuple[Any, ...]] = []
        for chunk in range(0, len(keys), 500):
            part = list(keys[chunk : chunk + 500])
            rows += await self.db.query(query.format(",".join("?" * len(part))), *part)
        return rows

    async def recorded(self, keys: Sequence[str]) -> dict[str, str]:
        """The outcome recorded for each of ``keys`` that has one."""
        rows = await self._by_keys("SELECT key, outcome FROM attempts WHERE key IN ({})", keys)
        return {str(k): str(o) for k, o in rows}

    async def record(
        self,
        reference: str,
        subscriber_id: str,
        key: str,
        channel: str,
        number: int,
        outcome: str,
        at: datetime,
        status: Status,
        next_at: datetime | None,
        calls_made: int,
        at_once: bool = False,
    ) -> bool:
        """Record an attempt and the person's new progress together, once per key.

        ``calls_made`` is the person's count before this attempt. False when the key was
        recorded before (a retry): nothing changes then. ``at_once``: commit without
        yielding to the event loop first (``Db.atomic_now``).
        """
        entry = Entry(
            reference, subscriber_id, key, channel, number, outcome, at, status, next_at, calls_made
        )
        run = self.db.atomic_now if at_once else self.db.atomic
        inserted, _ = await run(entry.statements())
        return inserted == 1

    async def record_many(self, entries: Sequence[Entry]) -> int:
        """``record`` for many attempts in one transaction; how many were new."""
        if not entries:
            return 0
        counts = await self.db.atomic([s for e in entries for s in e.statements()])
        return sum(counts[0::2])

    async def settle(
        self, reference: str, subscriber_id: str, key: str, outcome: str, status: Status
    ) -> None:
        """Correct a recorded attempt's outcome and the person's status (a late refusal)."""
        await self.db.atomic(
            [
                ("UPDATE attempts SET outcome = ? WHERE key = ?", (outcome, key)),
                (
                    "UPDATE recipients SET status = ? WHERE reference = ? AND subscriber_id = ?",
                    (status.value, reference, subscriber_id),
                ),
            ]
        )

    async def undo(self, reference: str, subscriber_id: str, key: str) -> None:
        """Forget an e-mail recorded just before a relay answered "try later"."""
        await self.db.atomic(
            [
                ("DELETE FROM attempts WHERE key = ?", (key,)),
                (
                    "UPDATE recipients SET status = 'pending'"
                    " WHERE reference = ? AND subscriber_id = ? AND status = 'emailed'",
                    (reference, subscriber_id),
                ),
            ]
        )

    async def attempts(self, reference: str, subscriber_id: str) -> list[Attempt]:
        rows = await self.db.query(
            "SELECT key, channel, number, outcome, at FROM attempts"
            " WHERE reference = ? AND subscriber_id = ? ORDER BY at, number",
            reference,
            subscriber_id,
        )
        return [
            Attempt(key=k, channel=c, number=n, outcome=o, at=datetime.fromtimestamp(a, UTC))
            for k, c, n, o, a in rows
        ]

    async def counts(self, reference: str, first: int = 0, end: int | None = None) -> Counts:
        """Counts over the sequence range [first, end) (the whole list by default)."""
        last = end if end is not None else 2**31 - 1
        people = await self.db.query(
            "SELECT status, COUNT(*) FROM recipients"
            " WHERE reference = ? AND seq >= ? AND seq < ? GROUP BY status",
            reference,
            first,
            last,
        )
        tried = await self.db.query(
            "SELECT a.channel, a.outcome, COUNT(*) FROM attempts a JOIN recipients r"
            " ON r.reference = a.reference AND r.subscriber_id = a.subscriber_id"
            " WHERE r.reference = ? AND r.seq >= ? AND r.seq < ? GROUP BY a.channel, a.outcome",
            reference,
            first,
            last,
        )
        return Counts(
            people={Status(s): int(n) for s, n in people},
            calls={CallOutcome(o): int(n) for c, o, n in tried if c == "call"},
            emails={str(o): int(n) for c, o, n in tried if c != "call"},
        )

    # ----------------------------------------------------------- worklist

    async def enqueue(
        self, reference: str, items: Sequence[tuple[str, str, str]], at: datetime
    ) -> None:
        """Put calls (key, subscriber id, request JSON) on the agents' list, once per key."""
        await self.db.many(
            "INSERT INTO worklist (key, reference, subscriber_id, request, queued_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            [(key, reference, sid, request, seconds(at)) for key, sid, request in items],
        )

    async def claim(self, agent: str, now: datetime, hold: float) -> WorkItem | None:
        """The oldest call nobody holds (or whose hold ran out), now held by ``agent``."""
        for _ in range(20):
            rows = await self.db.query(
                "SELECT key, reference, request FROM worklist"
                " WHERE outcome IS NULL AND (claimed_until IS NULL OR claimed_until < ?)"
                " ORDER BY queued_at, key LIMIT 1",
                seconds(now),
            )
            if not rows:
                return None
            key, reference, request = rows[0]
            new_until = seconds(now) + hold
            (taken,) = await self.db.atomic(
                [
                    (
                        "UPDATE worklist SET claimed_by = ?, claimed_until = ?"
                        " WHERE key = ? AND outcome IS NULL AND"
                        " (claimed_until IS NULL OR claimed_until < ?)",
                        (agent, new_until, key, seconds(now)),
                    )
                ]
            )
            if taken == 1:
                return WorkItem(
                    key=key, reference=reference, request=request, claimed_until=instant(new_until)
                )
        return None

    async def work_item(self, key: str) -> WorkItem | None:
        rows = await self.db.query(
            "SELECT key, reference, request, claimed_until FROM worklist WHERE key = ?", key
        )
        if not rows:
            return None
        key, reference, request, until = rows[0]
        return WorkItem(key=key, reference=reference, request=request, claimed_until=instant(until))

    async def report(self, key: str, outcome: CallOutcome, at: datetime) -> bool:
        """An agent's outcome for a call; False when the call is unknown or already recorded."""
        (changed,) = await self.db.atomic(
            [
                (
                    "UPDATE worklist SET outcome = ?, recorded_at = ? WHERE key = ? AND outcome IS NULL",
                    (outcome.value, seconds(at), key),
                )
            ]
        )
        return changed == 1

    async def reported(self, keys: Sequence[str]) -> dict[str, CallOutcome]:
        rows = await self._by_keys(
            "SELECT key, outcome FROM worklist WHERE outcome IS NOT NULL AND key IN ({})", keys
        )
        return {str(k): CallOutcome(o) for k, o in rows}


def open_notify_store(settings: Settings) -> NotifyStore:
    """Beside the send ledger: the same SQLite file's folder, or the same PostgreSQL."""
    if settings.store_url is None:
        return NotifyStore(SqliteDb(settings.data_dir / "notify.db"))
    return NotifyStore(PostgresDb(settings.store_url.get_secret_value()))
