"""One way to talk to the engine's databases: SQLite on one machine, PostgreSQL for many.

Every store (the send ledger and register, the campaign's people) is written once, as
SQL with ``?`` placeholders that both backends run. What differs lives here and only
here: connections, retries while a SQLite peer holds the file, the PostgreSQL pool,
and the schema, which each store declares as numbered migrations. They are applied
once per database, on first use, under a lock (``BEGIN IMMEDIATE`` on SQLite, an
advisory lock on PostgreSQL), so workers starting together do not race, and an
older database is brought up to date in place.

Instants are stored as POSIX seconds (``seconds``/``instant``) so both backends
compare them alike.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import sqlite3
import time
import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

Statement = tuple[str, Sequence[Any]]
Dialect = Literal["sqlite", "postgresql"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class Migration:
    """One step of a store's schema. ``both`` runs on every backend; the dialect lists
    only on theirs (column types that differ, for instance)."""

    version: int
    both: Sequence[str] = ()
    sqlite: Sequence[str] = ()
    postgresql: Sequence[str] = ()

    def statements(self, dialect: Dialect) -> list[str]:
        return [*self.both, *(self.sqlite if dialect == "sqlite" else self.postgresql)]


@dataclass(frozen=True)
class Schema:
    """A store's tables, as the migrations that make them, in order."""

    component: str
    migrations: Sequence[Migration] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        versions = [m.version for m in self.migrations]
        if versions != list(range(1, len(versions) + 1)):
            raise ValueError(f"{self.component}: migrations must be numbered 1, 2, 3, …")

    @property
    def version(self) -> int:
        return len(self.migrations)

    def lock_key(self) -> int:
        """PostgreSQL advisory lock key for this component's schema changes."""
        return zlib.crc32(f"breachclock:{self.component}".encode())


VERSIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_versions ("
    " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
)


def seconds(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError("naive datetime: an offset or zone is required")
    return at.timestamp()


def instant(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …``."""
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


class Db(ABC):
    """Runs SQL written with ``?`` placeholders; ``atomic`` runs statements in one transaction."""

    dialect: Dialect

    def __init__(self, schema: Schema) -> None:
        self.schema = schema

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


def owner_only(path: Path) -> None:
    """The database and its WAL files readable by their owner only: they hold personal data."""
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if part.exists():
            os.chmod(part, 0o600)


class SqliteDb(Db):
    """One file; one connection on one thread of its own (SQLite serialises writers anyway,
    and a thread keeps the event loop free and spares a connect per statement), plus a
    second connection for ``atomic_now`` on the event loop's own thread."""

    dialect: Dialect = "sqlite"
    BUSY_TRIES = 200

    def __init__(self, path: Path, schema: Schema) -> None:
        super().__init__(schema)
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-{schema.component}")
        self._db: sqlite3.Connection | None = None
        self._here: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SqliteDb({str(self.path)!r})"

    def _busy(self, action: Any) -> Any:
        """Run ``action``, retrying while another process holds the database.

        A journal-mode switch or a schema change takes the file exclusively and does
        not wait on a busy peer the way ordinary statements do (``timeout``)."""
        for attempt in itertools.count():
            try:
                return action()
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                if attempt >= self.BUSY_TRIES:
                    raise
                time.sleep(0.05)

    def _open(self) -> sqlite3.Connection:
        """A connection in WAL mode with the schema up to date."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._busy(lambda: db.execute("PRAGMA journal_mode=WAL"))
        db.execute("PRAGMA synchronous=NORMAL")
        self._busy(lambda: self._migrate(db))
        owner_only(self.path)
        return db

    def _current(self, db: sqlite3.Connection) -> int:
        row = db.execute(
            "SELECT version FROM schema_versions WHERE component = ?", (self.schema.component,)
        ).fetchone()
        return int(row[0]) if row else 0

    def _up_to_date(self, db: sqlite3.Connection) -> bool:
        """Whether the schema is already this code's, read without the write lock: each
        page opens a connection, and taking the lock to find nothing to do queued every
        page view behind the engine's writes."""
        try:
            return self._current(db) >= self.schema.version
        except sqlite3.OperationalError:  # no versions table yet: a new database
            return False

    def _migrate(self, db: sqlite3.Connection) -> None:
        if self._up_to_date(db):
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(VERSIONS_TABLE)
            current = self._current(db)
            for migration in self.schema.migrations[current:]:
                for statement in migration.statements("sqlite"):
                    db.execute(statement)
            if current < self.schema.version:
                db.execute(
                    "INSERT INTO schema_versions (component, version) VALUES (?, ?)"
                    " ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                    (self.schema.component, self.schema.version),
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

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


class PostgresDb(Db):
    """A pool, opened on the first call in the running event loop; the schema brought up
    to date under an advisory lock, once per pool."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, schema: Schema, *, max_size: int = 8) -> None:
        super().__init__(schema)
        self._url = url
        self._max_size = max_size
        self._pool: Any = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "PostgresDb(<url>)"  # the URL may hold a password

    async def _ready(self) -> Any:
        if self._pool is not None:
            return self._pool
        async with self._lock:
            if self._pool is None:
                import asyncpg

                pool = await asyncpg.create_pool(self._url, min_size=1, max_size=self._max_size)
                try:
                    async with pool.acquire() as db, db.transaction():
                        await db.execute("SELECT pg_advisory_xact_lock($1)", self.schema.lock_key())
                        await db.execute(VERSIONS_TABLE)
                        current = await db.fetchval(
                            "SELECT version FROM schema_versions WHERE component = $1",
                            self.schema.component,
                        )
                        for migration in self.schema.migrations[current or 0 :]:
                            for statement in migration.statements("postgresql"):
                                await db.execute(statement)
                        if (current or 0) < self.schema.version:
                            await db.execute(
                                "INSERT INTO schema_versions (component, version) VALUES ($1, $2)"
                                " ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
                                self.schema.component,
                                self.schema.version,
                            )
                except BaseException:
                    await pool.close()
                    raise
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


def connect(url: str | None, path: Path, schema: Schema) -> Db:
    """SQLite at ``path`` when no URL is configured, else the PostgreSQL database it names.

    Nothing is connected or created here: that happens at first use."""
    if url is None:
        return SqliteDb(path, schema)
    if url.startswith(POSTGRES_SCHEMES):
        return PostgresDb(url, schema)
    scheme = url.split("://", 1)[0] if "://" in url else "(none)"
    raise ValueError(
        f"BREACHCLOCK_STORE_URL: unsupported scheme {scheme!r}; use postgresql://, "
        "or leave it unset for SQLite in the data folder"
    )


class OnDb:
    """A store over one ``Db``: ``async with`` it, and the connection closes after."""

    db: Db

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.db.close()
