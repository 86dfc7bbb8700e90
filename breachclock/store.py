"""The engine's own durable record: what was sent, and the incident register.

Two tables in one SQLite file in the data folder. ``sent`` is the idempotency
ledger: a side effect's business key is written here when the send succeeded,
and any later attempt with that key returns the recorded result instead of
sending again. ``register`` keeps every closed incident (LEK wants a register of
all of them, reported or not), so it outlives Temporal's retention.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

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


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:
                yield db
        finally:
            db.close()

    def sent(self, key: str) -> dict[str, Any] | None:
        with self._connect() as db:
            row = db.execute("SELECT detail FROM sent WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def record_sent(
        self, key: str, message_id: str, sent_at: datetime, detail: dict[str, Any]
    ) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO sent (key, message_id, sent_at, detail) VALUES (?, ?, ?, ?)",
                (key, message_id, sent_at.isoformat(), json.dumps(detail)),
            )

    def register(self, reference: str, closed_at: datetime, record: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO register (reference, closed_at, record) VALUES (?, ?, ?)",
                (reference, closed_at.isoformat(), record),
            )

    def registered(self, reference: str) -> str | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT record FROM register WHERE reference = ?", (reference,)
            ).fetchone()
        return None if row is None else str(row[0])

    def all_registered(self) -> list[str]:
        with self._connect() as db:
            rows = db.execute("SELECT record FROM register ORDER BY closed_at").fetchall()
        return [str(r[0]) for r in rows]

    async def asent(self, key: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(self.sent, key)

    async def arecord_sent(
        self, key: str, message_id: str, sent_at: datetime, detail: dict[str, Any]
    ) -> None:
        await asyncio.to_thread(self.record_sent, key, message_id, sent_at, detail)
