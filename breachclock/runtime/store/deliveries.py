"""What became of each message a channel handed to a gateway: its delivery status.

One row per business key (the same key as the send ledger's). A status only moves
forward (``RANK``): accepted, then expired (no report in time), then delivered or
failed, which are final. Each move is one conditional ``UPDATE``, so a delivery report
that arrives twice, or after a later one, changes nothing the second time, and the
caller learns from the row count whether this report was the one that counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from breachclock.domain.notify.plan import Delivery
from breachclock.runtime.store.db import Db, Migration, OnDb, Schema, instant, seconds

SCHEMA = Schema(
    "deliveries",
    (
        Migration(
            1,
            both=(
                """CREATE TABLE IF NOT EXISTS deliveries (
                    key TEXT PRIMARY KEY,
                    status TEXT NOT NULL,
                    rank INTEGER NOT NULL,
                    handed_at DOUBLE PRECISION NOT NULL,
                    changed_at DOUBLE PRECISION NOT NULL
                )""",
                "CREATE INDEX IF NOT EXISTS deliveries_waiting ON deliveries (rank, handed_at)",
            ),
        ),
    ),
)

RANK = {Delivery.ACCEPTED: 0, Delivery.EXPIRED: 1, Delivery.DELIVERED: 2, Delivery.FAILED: 2}


class DeliveryStore(OnDb):
    def __init__(self, db: Db) -> None:
        self.db = db

    def __repr__(self) -> str:
        return f"DeliveryStore({self.db!r})"

    async def handed(self, key: str, at: datetime) -> None:
        """The message under ``key`` goes to the gateway now (before the request, so a
        report racing the gateway's answer finds its row); a second call keeps the first."""
        await self.db.atomic(
            [
                (
                    "INSERT INTO deliveries (key, status, rank, handed_at, changed_at)"
                    " VALUES (?, ?, 0, ?, ?) ON CONFLICT (key) DO NOTHING",
                    (key, Delivery.ACCEPTED.value, seconds(at), seconds(at)),
                )
            ]
        )

    async def report(self, key: str, status: Delivery, at: datetime) -> bool:
        """Move ``key`` to ``status`` if that is a step forward. True when it moved."""
        rank = RANK[status]
        (moved,) = await self.db.atomic(
            [
                (
                    "UPDATE deliveries SET status = ?, rank = ?, changed_at = ?"
                    " WHERE key = ? AND rank < ?",
                    (status.value, rank, seconds(at), key, rank),
                )
            ]
        )
        return moved == 1

    async def expire(self, handed_before: datetime, at: datetime) -> int:
        """Messages handed over before ``handed_before`` with no report yet: expired."""
        (moved,) = await self.db.atomic(
            [
                (
                    "UPDATE deliveries SET status = ?, rank = 1, changed_at = ?"
                    " WHERE rank = 0 AND handed_at < ?",
                    (Delivery.EXPIRED.value, seconds(at), seconds(handed_before)),
                )
            ]
        )
        return moved

    async def status(self, key: str) -> tuple[Delivery, datetime] | None:
        rows = await self.db.query("SELECT status, changed_at FROM deliveries WHERE key = ?", key)
        if not rows:
            return None
        changed = instant(rows[0][1])
        assert changed is not None
        return Delivery(rows[0][0]), changed

    async def statuses(self, keys: Sequence[str]) -> dict[str, Delivery]:
        """``status`` of many keys in one read (a round's); a key never handed is absent."""
        rows = await self.db.query_in("SELECT key, status FROM deliveries WHERE key IN ({})", keys)
        return {str(k): Delivery(s) for k, s in rows}
