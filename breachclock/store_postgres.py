"""The store in PostgreSQL (asyncpg): one ledger and register for workers on many machines.

The key is the primary key and ``record_sent`` inserts with ``ON CONFLICT DO
NOTHING``, so two workers racing on one key end with one row and exactly one of
them is told it inserted it. The schema is created at first use, under an
advisory lock so that workers starting together do not trip over each other.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import asyncpg

from breachclock.store import RecordStore, utc

SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (
    key TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL,
    detail JSONB NOT NULL
);
CREATE TABLE IF NOT EXISTS register (
    reference TEXT PRIMARY KEY,
    closed_at TIMESTAMPTZ NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS register_closed_at ON register (closed_at);
"""

SCHEMA_LOCK = 0x62726561636863  # pg_advisory_xact_lock key: "breachc"


class PostgresStore(RecordStore):
    """A connection pool, opened on the first call in the running event loop."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 5) -> None:
        self._url = url
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return "PostgresStore(<url>)"  # the URL may hold a password

    async def _ready(self) -> Any:
        if self._pool is not None:
            return self._pool
        async with self._lock:
            if self._pool is None:
                pool = await asyncpg.create_pool(
                    self._url, min_size=self._min_size, max_size=self._max_size
                )
                try:
                    async with pool.acquire() as db, db.transaction():
                        await db.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
                        await db.execute(SCHEMA)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
        return self._pool

    async def sent(self, key: str) -> dict[str, Any] | None:
        pool = await self._ready()
        detail = await pool.fetchval("SELECT detail::text FROM sent WHERE key = $1", key)
        return None if detail is None else dict(json.loads(detail))

    async def record_sent(
        self, key: str, message_id: str, sent_at: datetime, detail: dict[str, Any]
    ) -> bool:
        pool = await self._ready()
        status = await pool.execute(
            "INSERT INTO sent (key, message_id, sent_at, detail) VALUES ($1, $2, $3, $4::jsonb)"
            " ON CONFLICT (key) DO NOTHING",
            key,
            message_id,
            utc(sent_at),
            json.dumps(detail),
        )
        return str(status) == "INSERT 0 1"

    async def register(self, reference: str, closed_at: datetime, record: str) -> None:
        pool = await self._ready()
        await pool.execute(
            "INSERT INTO register (reference, closed_at, record) VALUES ($1, $2, $3)"
            " ON CONFLICT (reference) DO UPDATE"
            " SET closed_at = EXCLUDED.closed_at, record = EXCLUDED.record",
            reference,
            utc(closed_at),
            record,
        )

    async def registered(self, reference: str) -> str | None:
        pool = await self._ready()
        record = await pool.fetchval("SELECT record FROM register WHERE reference = $1", reference)
        return None if record is None else str(record)

    async def all_registered(self) -> list[str]:
        pool = await self._ready()
        rows = await pool.fetch("SELECT record FROM register ORDER BY closed_at, reference")
        return [str(row[0]) for row in rows]

    async def close(self) -> None:
        async with self._lock:
            if self._pool is not None:
                pool, self._pool = self._pool, None
                await pool.close()
