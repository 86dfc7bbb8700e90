"""The engine's own durable record: what was sent, and the incident register.

``ledger`` is the idempotency ledger of filings and pages, one row per business key:
while an attempt sends, the row holds its short lease (so two attempts of one key, a
zombie whose worker was presumed dead or a run that continued as new while its
activity still ran, never send at the same time); once the relay accepted the mail,
the same row records it, and any later attempt returns the recorded result instead
of sending again. Lease and record share the row so that one statement decides: a
lease is never granted for a key already recorded as sent (with two tables, an
attempt that checked "not sent" while another finished took the freed lease and
sent again).
A filing's row also keeps its mail exactly as it went (``copy``, sealed like all
personal data at rest; written by the statement that records the send), until the
incident's retention deletes it.
``register`` keeps every closed incident (LEK wants a register of all of them,
reported or not), sealed, so it outlives Temporal's retention.
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from breachclock.runtime.codec import Sealer
from breachclock.runtime.store.db import Db, Migration, OnDb, Schema, seconds

SCHEMA = Schema(
    "records",
    (
        Migration(
            1,
            sqlite=(
                """CREATE TABLE IF NOT EXISTS sent (
                    key TEXT PRIMARY KEY,
                    message_id TEXT NOT NULL,
                    sent_at TEXT NOT NULL,
                    detail TEXT NOT NULL
                )""",
                """CREATE TABLE IF NOT EXISTS register (
                    reference TEXT PRIMARY KEY,
                    closed_at TEXT NOT NULL,
                    record TEXT NOT NULL
                )""",
            ),
            # The first PostgreSQL layout typed its columns; the next step makes them
            # the text both backends share.
            postgresql=(
                """CREATE TABLE IF NOT EXISTS sent (
                    key TEXT PRIMARY KEY,
                    message_id TEXT NOT NULL,
                    sent_at TIMESTAMPTZ NOT NULL,
                    detail JSONB NOT NULL
                )""",
                """CREATE TABLE IF NOT EXISTS register (
                    reference TEXT PRIMARY KEY,
                    closed_at TIMESTAMPTZ NOT NULL,
                    record TEXT NOT NULL
                )""",
            ),
        ),
        Migration(
            2,
            both=(
                """CREATE TABLE sending (
                    key TEXT PRIMARY KEY,
                    holder TEXT NOT NULL,
                    held_until DOUBLE PRECISION NOT NULL
                )""",
                "CREATE INDEX IF NOT EXISTS register_closed_at ON register (closed_at)",
            ),
            postgresql=(
                "ALTER TABLE sent ALTER COLUMN sent_at TYPE TEXT USING"
                " to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')",
                "ALTER TABLE sent ALTER COLUMN detail TYPE TEXT USING detail::text",
                "ALTER TABLE register ALTER COLUMN closed_at TYPE TEXT USING"
                " to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')",
            ),
        ),
        Migration(
            3,
            both=(
                # When the people's details of a closed incident were deleted (purge).
                "ALTER TABLE register ADD COLUMN purged_at TEXT",
            ),
        ),
        Migration(
            4,
            both=(
                """CREATE TABLE ledger (
                    key TEXT PRIMARY KEY,
                    holder TEXT,
                    held_until DOUBLE PRECISION,
                    message_id TEXT,
                    sent_at TEXT,
                    detail TEXT
                )""",
                "INSERT INTO ledger (key, message_id, sent_at, detail)"
                " SELECT key, message_id, sent_at, detail FROM sent",
                "INSERT INTO ledger (key, holder, held_until)"
                " SELECT key, holder, held_until FROM sending"
                " WHERE key NOT IN (SELECT key FROM sent)",
                "DROP TABLE sending",
                "DROP TABLE sent",
            ),
        ),
        Migration(
            5,
            both=(
                # The codec key the deployment's data is sealed with, by id and
                # fingerprint (never the key): one row, the first process's claim wins.
                """CREATE TABLE codec_anchor (
                    one INTEGER PRIMARY KEY CHECK (one = 1),
                    key_id TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    source TEXT NOT NULL
                )""",
            ),
        ),
        Migration(
            6,
            both=(
                # A filing's mail exactly as it went (sealed), and the incident it
                # belongs to, so retention finds it.
                "ALTER TABLE ledger ADD COLUMN reference TEXT",
                "ALTER TABLE ledger ADD COLUMN copy TEXT",
                "CREATE INDEX ledger_reference ON ledger (reference)",
            ),
        ),
    ),
)


def utc_text(at: datetime) -> str:
    """An instant as sortable text in UTC; a naive datetime is refused rather than guessed."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: an offset or zone is required")
    return at.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Kept:
    """A sent message to keep: its incident, and its bytes exactly as the relay took them."""

    reference: str
    raw: bytes


class RecordStore(OnDb):
    """The send ledger and the incident register, over one ``Db``.

    Usable as ``async with``: leaving closes the connections."""

    def __init__(self, db: Db, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer

    def __repr__(self) -> str:
        return f"RecordStore({self.db!r})"

    # ------------------------------------------------------------- ledger

    async def sent(self, key: str) -> dict[str, Any] | None:
        """The detail recorded for ``key``, or None if it was never sent."""
        rows = await self.db.query(
            "SELECT detail FROM ledger WHERE key = ? AND detail IS NOT NULL", key
        )
        return dict(json.loads(rows[0][0])) if rows else None

    async def sent_among(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` were sent (``sent`` for many keys in one read)."""
        rows = await self.db.query_in(
            "SELECT key FROM ledger WHERE detail IS NOT NULL AND key IN ({})", keys
        )
        return {str(k) for (k,) in rows}

    async def record_sent(
        self,
        key: str,
        message_id: str,
        sent_at: datetime,
        detail: dict[str, Any],
        copy: Kept | None = None,
    ) -> bool:
        """Record ``key`` as sent unless it already is (the first record wins), ending its
        lease; with ``copy``, the message's bytes as they went, sealed, in the same
        statement (kept only by the record that wins). True when this call recorded it,
        False when it was recorded before."""
        reference, sealed = (
            (copy.reference, self.sealer.seal(b64encode(copy.raw).decode(), f"copy:{key}"))
            if copy
            else (None, None)
        )
        (recorded,) = await self.db.atomic(
            [
                (
                    "INSERT INTO ledger (key, message_id, sent_at, detail, reference, copy)"
                    " VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET message_id = excluded.message_id,"
                    " sent_at = excluded.sent_at, detail = excluded.detail,"
                    " reference = excluded.reference, copy = excluded.copy,"
                    " holder = NULL, held_until = NULL"
                    " WHERE ledger.detail IS NULL",
                    (key, message_id, utc_text(sent_at), json.dumps(detail), reference, sealed),
                )
            ]
        )
        return recorded == 1

    async def copy_of(self, key: str) -> bytes | None:
        """The message recorded for ``key`` as it went (None: sent without a copy kept,
        before copies were kept, or deleted by retention)."""
        rows = await self.db.query(
            "SELECT copy FROM ledger WHERE key = ? AND copy IS NOT NULL", key
        )
        return b64decode(self.sealer.open(str(rows[0][0]), f"copy:{key}")) if rows else None

    async def forget_copies(self, reference: str) -> int:
        """Delete the copies of an incident's mails (its retention passed); the record
        that each was sent stays, so none is sent again."""
        (gone,) = await self.db.atomic(
            [
                (
                    "UPDATE ledger SET copy = NULL WHERE reference = ? AND copy IS NOT NULL",
                    (reference,),
                )
            ]
        )
        return gone

    async def lease(self, key: str, holder: str, now: datetime, hold: timedelta) -> bool:
        """Hold ``key`` for sending until ``now + hold``: True unless the key is recorded
        as sent or another holder's lease on it still runs. Holding it again (a retry of
        the same holder) renews it. One statement on the key's one row decides (on
        PostgreSQL the conflict's row is locked and its condition read at its latest
        version), so no attempt can take a lease that a finished send just gave up."""
        (taken,) = await self.db.atomic(
            [
                (
                    "INSERT INTO ledger (key, holder, held_until) VALUES (?, ?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET holder = excluded.holder,"
                    " held_until = excluded.held_until"
                    " WHERE ledger.detail IS NULL AND (ledger.held_until IS NULL"
                    " OR ledger.held_until < ? OR ledger.holder = excluded.holder)",
                    (key, holder, seconds(now + hold), seconds(now)),
                )
            ]
        )
        return taken == 1

    async def release(self, key: str, holder: str) -> None:
        """Give up a lease after a failed send, so a retry need not wait it out."""
        await self.db.atomic(
            [
                (
                    "DELETE FROM ledger WHERE key = ? AND holder = ? AND detail IS NULL",
                    (key, holder),
                )
            ]
        )

    # ----------------------------------------------------------- register

    async def register(self, reference: str, closed_at: datetime, record: str) -> None:
        """Write (or overwrite) a closed incident's record, sealed."""
        sealed = self.sealer.seal(record, f"register:{reference}")
        await self.db.atomic(
            [
                (
                    "INSERT INTO register (reference, closed_at, record) VALUES (?, ?, ?)"
                    " ON CONFLICT (reference) DO UPDATE"
                    " SET closed_at = excluded.closed_at, record = excluded.record",
                    (reference, utc_text(closed_at), sealed),
                )
            ]
        )

    async def registered(self, reference: str) -> str | None:
        """The record of one closed incident, or None."""
        rows = await self.db.query("SELECT record FROM register WHERE reference = ?", reference)
        return self.sealer.open(str(rows[0][0]), f"register:{reference}") if rows else None

    async def all_registered(self) -> list[str]:
        """Every closed incident's record, earliest closure first."""
        rows = await self.db.query(
            "SELECT reference, record FROM register ORDER BY closed_at, reference"
        )
        return [self.sealer.open(str(record), f"register:{ref}") for ref, record in rows]

    async def registered_references(self) -> set[str]:
        """The references of every closed incident (nothing unsealed)."""
        return {str(r[0]) for r in await self.db.query("SELECT reference FROM register")}

    async def closed_before(self, before: datetime) -> list[str]:
        """References of incidents closed before ``before`` whose people are not yet purged."""
        rows = await self.db.query(
            "SELECT reference FROM register WHERE closed_at < ? AND purged_at IS NULL"
            " ORDER BY closed_at",
            utc_text(before),
        )
        return [str(r[0]) for r in rows]

    async def mark_purged(self, reference: str, at: datetime) -> None:
        await self.db.atomic(
            [
                (
                    "UPDATE register SET purged_at = ? WHERE reference = ?",
                    (utc_text(at), reference),
                )
            ]
        )


class KeyAnchor(OnDb):
    """The codec key the store's data is sealed with (``keyguard``), over the records'
    ``Db``: read before any key is at hand, so it needs no sealer."""

    def __init__(self, db: Db) -> None:
        self.db = db

    async def anchor(self) -> tuple[str, str, str] | None:
        """The key the data is sealed with: its id, fingerprint and where it is set."""
        rows = await self.db.query("SELECT key_id, fingerprint, source FROM codec_anchor")
        return (str(rows[0][0]), str(rows[0][1]), str(rows[0][2])) if rows else None

    async def claim_anchor(self, key_id: str, fingerprint: str, source: str) -> None:
        """Make this key the data's, unless another was claimed first (one statement)."""
        await self.db.atomic(
            [
                (
                    "INSERT INTO codec_anchor (one, key_id, fingerprint, source)"
                    " VALUES (1, ?, ?, ?) ON CONFLICT (one) DO NOTHING",
                    (key_id, fingerprint, source),
                )
            ]
        )

    async def move_anchor(
        self, was: tuple[str, str], key_id: str, fingerprint: str, source: str
    ) -> None:
        """After a rotation: the new active key becomes the data's, if the anchor still
        is ``was`` (id, fingerprint), which the caller proved it holds."""
        await self.db.atomic(
            [
                (
                    "UPDATE codec_anchor SET key_id = ?, fingerprint = ?, source = ?"
                    " WHERE key_id = ? AND fingerprint = ?",
                    (key_id, fingerprint, source, *was),
                )
            ]
        )
