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
import concurrent.futures
import contextlib
import itertools
import os
import re
import sqlite3
import threading
import time
import weakref
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


IN_CHUNK = 500
"""Keys per ``IN (…)`` in ``Db.query_in``: SQLite's limit on bound variables is 999 in
older builds."""


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

    async def query_in(self, sql: str, keys: Sequence[Any], *before: Any) -> list[tuple[Any, ...]]:
        """``sql``'s rows, its ``{}`` filled with one placeholder per key (after the
        arguments ``before``), in chunks of ``IN_CHUNK``."""
        rows: list[tuple[Any, ...]] = []
        for chunk in range(0, len(keys), IN_CHUNK):
            part = list(keys[chunk : chunk + IN_CHUNK])
            rows += await self.query(sql.format(",".join("?" * len(part))), *before, *part)
        return rows

    async def close(self) -> None:  # noqa: B027 - optional
        pass


def owner_only(path: Path) -> None:
    """The database and its WAL files readable by their owner only: they hold personal data."""
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if part.exists():
            os.chmod(part, 0o600)


MAX_BATCH = 256
"""Calls one SQLite transaction takes at most: bounds how long the file is held."""
CHECKPOINT_EVERY = 100
"""Commits on a file between two checkpoints of its write-ahead log, made by the file's
thread (see ``SqliteFile.connection``)."""


@dataclass(eq=False)
class _Job:
    """One call to a ``SqliteDb``, waiting for its file's thread."""

    schema: Schema
    kind: Literal["atomic", "many", "query"]
    sql: Any
    args: Any
    done: asyncio.Future[Any]


@dataclass(eq=False)
class _Queue:
    """The calls one event loop has made on a file and not yet handed to its thread."""

    jobs: list[_Job] = field(default_factory=list)
    running: bool = False


class SqliteFile:
    """One database file of this process: one connection, used under one lock, by a
    thread of its own, for every store on the file.

    Why one: each store used to hold its own connection and thread on a file it shares
    with others (the people and their SMS deliveries, the ledger and the accounts). Their
    writes then met at SQLite's write lock, and a connection that finds it taken sleeps
    (1 ms, then 2, 5, 10, …) while its thread holds up every call behind it.

    Why in batches (group commit): the calls a loop makes while the thread is busy are
    all taken in one transaction when it comes back, each in a savepoint of its own, so
    each is still all or nothing and fails alone, and none is answered before the
    transaction holding it is committed. A lone call goes at once; under load, one
    commit and one hop between the loop and the thread serve up to ``MAX_BATCH``."""

    BUSY_TRIES = 200

    def __init__(self, path: Path) -> None:
        self.path = path
        self.users = 0
        self.lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"db-{path.stem}")
        self._db: sqlite3.Connection | None = None
        self._checkpointer: sqlite3.Connection | None = None
        """The file thread's own connection, for checkpoints only (no ``lock`` needed)."""
        self._commits = 0
        """Commits since the last checkpoint (under ``lock``)."""
        self._current: set[tuple[str, int]] = set()
        """The schemas (component, version) brought up to date on this connection."""
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def take(cls, path: Path) -> SqliteFile:
        """The file's one instance in this process, counted as used once more."""
        key = path.resolve()
        with _REGISTRY:
            file = _OPEN_FILES.get(key)
            if file is None:
                file = _OPEN_FILES[key] = cls(path)
            file.users += 1
            return file

    async def give_back(self) -> None:
        """One user fewer; the last closes the connection and ends the thread."""
        with _REGISTRY:
            self.users -= 1
            last = self.users == 0
            if last:
                del _OPEN_FILES[self.path.resolve()]
        if last:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._shut)
            self._pool.shutdown(wait=False)

    def _shut(self) -> None:
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None

    # ------------------------------------------------------ on the file's thread

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

    def connection(self, schema: Schema) -> sqlite3.Connection:
        """The connection, in WAL mode, with ``schema`` up to date (hold ``lock``)."""
        if self._db is None:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._busy(lambda: db.execute("PRAGMA journal_mode=WAL"))
            db.execute("PRAGMA synchronous=NORMAL")
            # No checkpoint inside a commit: SQLite's automatic one runs in the COMMIT
            # that fills the log, after the transaction is already committed, and its
            # writes and fsyncs take milliseconds or more on a busy machine. An e-mail's
            # claim commits, then writes the message's final "." (``smtp_commit``): a
            # worker killed during that checkpoint leaves a person recorded as e-mailed
            # whose message the relay drops (a kill test under load lost one notice,
            # most likely so). The file's thread checkpoints instead, between batches
            # (``_checkpoint_if_due``).
            db.execute("PRAGMA wal_autocheckpoint=0")
            self._db = db
        if (schema.component, schema.version) not in self._current:
            db = self._db
            self._busy(lambda: _migrate(db, schema))
            self._current.add((schema.component, schema.version))
            owner_only(self.path)
        return self._db

    def atomic(self, schema: Schema, statements: Sequence[Statement]) -> list[int]:
        """Statements in one transaction of their own, on the caller's thread."""
        with self.lock:
            db = self.connection(schema)
            db.execute("BEGIN IMMEDIATE")
            try:
                counts = [db.execute(sql, tuple(args)).rowcount for sql, args in statements]
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            self._commits += 1
            return counts

    def _run(self, jobs: Sequence[_Job]) -> list[tuple[bool, Any]]:
        """A batch: its writes in one transaction, a savepoint each; then its reads."""
        results: list[tuple[bool, Any]] = [(False, None)] * len(jobs)
        with self.lock:
            for job in jobs:
                self.connection(job.schema)
            db = self.connection(jobs[0].schema)
            writes = [i for i, job in enumerate(jobs) if job.kind != "query"]
            if writes:
                try:
                    db.execute("BEGIN IMMEDIATE")
                    if len(writes) == 1:  # alone, its failure is the transaction's
                        results[writes[0]] = (True, _apply(db, jobs[writes[0]]))
                    else:
                        for i in writes:
                            results[i] = _in_savepoint(db, jobs[i])
                    db.execute("COMMIT")
                    self._commits += 1
                except BaseException as err:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    for i in writes:
                        results[i] = (False, err)
            for i, job in enumerate(jobs):
                if job.kind == "query":
                    try:
                        results[i] = (True, db.execute(job.sql, tuple(job.args)).fetchall())
                    except Exception as err:
                        results[i] = (False, err)
        self._checkpoint_if_due()
        return results

    def _checkpoint_if_due(self) -> None:
        """Copy the write-ahead log into the database once ``CHECKPOINT_EVERY`` commits
        have gone, from a connection of this thread's own: a passive checkpoint waits for
        no writer and holds up neither the batches nor a claim's commit meanwhile."""
        with self.lock:
            if self._commits < CHECKPOINT_EVERY:
                return
            self._commits = 0
        # A checkpoint that fails (another process checkpointing) is tried again later;
        # the batch it follows is committed and must be answered as such.
        with contextlib.suppress(sqlite3.Error):
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    # --------------------------------------------------------- on the loop

    def submit(self, job: _Job) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, _Queue())
        queue.jobs.append(job)
        self._kick(loop, queue)

    def _kick(self, loop: asyncio.AbstractEventLoop, queue: _Queue) -> None:
        if queue.running or not queue.jobs:
            return
        batch, queue.jobs = queue.jobs[:MAX_BATCH], queue.jobs[MAX_BATCH:]
        queue.running = True
        ran = self._pool.submit(self._run, batch)

        def back(ran: concurrent.futures.Future[list[tuple[bool, Any]]]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(self._landed, loop, queue, batch, ran)

        ran.add_done_callback(back)

    def _landed(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: _Queue,
        batch: Sequence[_Job],
        ran: concurrent.futures.Future[list[tuple[bool, Any]]],
    ) -> None:
        queue.running = False
        try:
            results = ran.result()
        except BaseException as err:
            results = [(False, err)] * len(batch)
        for job, (ok, value) in zip(batch, results, strict=True):
            if job.done.done():  # its caller was cancelled; the work is done all the same
                continue
            if ok:
                job.done.set_result(value)
            else:
                job.done.set_exception(value)
        self._kick(loop, queue)


_OPEN_FILES: dict[Path, SqliteFile] = {}
_REGISTRY = threading.Lock()


def _apply(db: sqlite3.Connection, job: _Job) -> Any:
    if job.kind == "atomic":
        return [db.execute(sql, tuple(args)).rowcount for sql, args in job.sql]
    db.executemany(job.sql, [tuple(r) for r in job.args])
    return None


def _in_savepoint(db: sqlite3.Connection, job: _Job) -> tuple[bool, Any]:
    """One call of a batch, all or nothing, within the batch's transaction."""
    db.execute("SAVEPOINT job")
    try:
        value = _apply(db, job)
    except Exception as err:
        if not db.in_transaction:  # SQLite ended the whole transaction: the batch fails
            raise
        db.execute("ROLLBACK TO job")
        db.execute("RELEASE job")
        return False, err
    db.execute("RELEASE job")
    return True, value


def _current(db: sqlite3.Connection, schema: Schema) -> int:
    row = db.execute(
        "SELECT version FROM schema_versions WHERE component = ?", (schema.component,)
    ).fetchone()
    return int(row[0]) if row else 0


def _up_to_date(db: sqlite3.Connection, schema: Schema) -> bool:
    """Whether the schema is already this code's, read without the write lock: each
    page opens a connection, and taking the lock to find nothing to do queued every
    page view behind the engine's writes."""
    try:
        return _current(db, schema) >= schema.version
    except sqlite3.OperationalError:  # no versions table yet: a new database
        return False


def _migrate(db: sqlite3.Connection, schema: Schema) -> None:
    if _up_to_date(db, schema):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(VERSIONS_TABLE)
        current = _current(db, schema)
        for migration in schema.migrations[current:]:
            for statement in migration.statements("sqlite"):
                db.execute(statement)
        if current < schema.version:
            db.execute(
                "INSERT INTO schema_versions (component, version) VALUES (?, ?)"
                " ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (schema.component, schema.version),
            )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SqliteDb(Db):
    """One store's schema in one SQLite file, through the file's one connection in this
    process (``SqliteFile``): calls made while its thread is busy commit together."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, schema: Schema) -> None:
        super().__init__(schema)
        self.path = path
        self._file: SqliteFile | None = None

    def __repr__(self) -> str:
        return f"SqliteDb({str(self.path)!r})"

    def _on(self) -> SqliteFile:
        if self._file is None:
            self._file = SqliteFile.take(self.path)
        return self._file

    async def _call(self, kind: Literal["atomic", "many", "query"], sql: Any, args: Any) -> Any:
        done = asyncio.get_running_loop().create_future()
        self._on().submit(_Job(self.schema, kind, sql, args, done))
        return await done

    async def atomic(self, statements: Sequence[Statement]) -> list[int]:
        result: list[int] = await self._call("atomic", statements, None)
        return result

    async def atomic_now(self, statements: Sequence[Statement]) -> list[int]:
        return self._on().atomic(self.schema, statements)

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._call("many", sql, rows)

    async def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        result: list[tuple[Any, ...]] = await self._call("query", sql, args)
        return [tuple(row) for row in result]

    async def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            await file.give_back()


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
