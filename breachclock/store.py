"""The engine's own durable record: what was sent, and the incident register.

Two tables. ``sent`` is the idempotency ledger: a side effect's business key is
written here when the send succeeded, and any later attempt with that key returns
the recorded result instead of sending again. ``register`` keeps every closed
incident (LEK wants a register of all of them, reported or not), so it outlives
Temporal's retention.

One interface (``RecordStore``), two backends, chosen by ``BREACHCLOCK_STORE_URL``
through ``open_store``: unset, a SQLite file in the data folder (one machine);
``postgresql://…``, one PostgreSQL database that every worker shares, so a retried
activity on another machine still finds the key (``store_postgres.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from breachclock.config import Settings

SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    key TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS register (
    reference TEXT PRIMARY KEY,
    closed_at TEXT NOT NULL,
    record TEXT NOT NULL
);
"""

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def utc(at: datetime) -> datetime:
    """The instant in UTC; a naive datetime is refused rather than guessed."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: an offset or zone is required")
    return at.astimezone(UTC)


class RecordStore(ABC):
    """The send ledger and the incident register. The schema is made at first use.

    Usable as ``async with``: leaving closes connections (a no-op for SQLite).
    """

    @abstractmethod
    async def sent(self, key: str) -> dict[str, Any] | None:
        """The detail recorded for ``key``, or None if it was never sent."""

    @abstractmethod
    async def record_sent(
        self, key: str, message_id: str, sent_at: datetime, detail: dict[str, Any]
    ) -> bool:
        """Record ``key`` unless it is already there (the first record wins).

        True when this call inserted the row, False when the key was recorded before.
        """

    @abstractmethod
    async def register(self, reference: str, closed_at: datetime, record: str) -> None:
        """Write (or overwrite) a closed incident's record."""

    @abstractmethod
    async def registered(self, reference: str) -> str | None:
        """The record of one closed incident, or None."""

    @abstractmethod
    async def all_registered(self) -> list[str]:
        """Every closed incident's record, earliest closure first."""

    async def close(self) -> None:  # noqa: B027 - optional: most backends hold nothing
        """Release connections."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def open_store(settings: Settings) -> RecordStore:
    """SQLite in the data folder, or PostgreSQL when ``BREACHCLOCK_STORE_URL`` names one.

    Nothing is connected or created here: that happens at first use.
    """
    if settings.store_url is None:
        return SqliteStore(settings.store_path)
    url = settings.store_url.get_secret_value()
    if url.startswith(POSTGRES_SCHEMES):
        from breachclock.store_postgres import PostgresStore

        return PostgresStore(url)
    scheme = url.split("://", 1)[0] if "://" in url else "(none)"
    raise ValueError(
        f"BREACHCLOCK_STORE_URL: unsupported scheme {scheme!r}; use postgresql://, "
        "or leave it unset for SQLite in the data folder"
    )


class SqliteStore(RecordStore):
    """One SQLite file: for one machine. Calls run in a thread, off the event loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False
        self._setup = threading.Lock()

    def _prepare(self) -> None:
        """WAL and the schema, once per store. Switching the journal mode takes the
        database exclusively and does not wait on a busy peer, so it is retried."""
        with self._setup:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for attempt in itertools.count():
                db = sqlite3.connect(self.path, timeout=30)
                try:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.executescript(SCHEMA)
                    break
                except sqlite3.OperationalError as err:
                    if "locked" not in str(err) or attempt >= 100:
                        raise
                    time.sleep(0.05)
                finally:
                    db.close()
            self._ready = True

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self._prepare()
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def _sent(self, key: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT detail FROM sent WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def _record_sent(
        self, key: str, message_id: str, sent_at: datetime, detail: dict[str, Any]
    ) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO sent (key, message_id, sent_at, detail) VALUES (?, ?, ?, ?)",
                (key, message_id, utc(sent_at).isoformat(), json.dumps(detail)),
            )
            return cursor.rowcount == 1

    def _register(self, reference: str, closed_at: datetime, record: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO register (reference, closed_at, record) VALUES (?, ?, ?)",
                (reference, utc(closed_at).isoformat(), record),
            )

    def _registered(self, reference: str) -> str | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT record FROM register WHERE reference = ?", (reference,)
            ).fetchone()
        return None if row is None else str(row[0])

    def _all_registered(self) -> list[str]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT record FROM register ORDER BY closed_at, reference"
            ).fetchall()
        return [str(r[0]) for r in rows]

    async def sent(self, key: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(self._sent, key)

    async def record_sent(
        self, key: str, message_id: str, sent_at: datetime, detail: dict[str, Any]
    ) -> bool:
        return await asyncio.to_thread(self._record_sent, key, message_id, sent_at, detail)

    async def register(self, reference: str, closed_at: datetime, record: str) -> None:
        await asyncio.to_thread(self._register, reference, closed_at, record)

    async def registered(self, reference: str) -> str | None:
        return await asyncio.to_thread(self._registered, reference)

    async def all_registered(self) -> list[str]:
        return await asyncio.to_thread(self._all_registered)
