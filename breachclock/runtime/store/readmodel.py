"""The read model: each incident as its workflow last projected it, for pages to read.

A page that asked Temporal (a visibility list with every memo for the register, a
``status`` query that replays the workflow for an incident) cost what that call
cost. Here each incident is one row, written by the engine after every change of
its workflow (``project``), so that a page costs one indexed query.

Every projection carries the incident's version, counted by its workflow; the upsert
keeps a row only from a newer version, so duplicates (a retried local activity) and
stragglers (an older version arriving late) change nothing, whatever their order.
An accepted projection takes the next number of one sequence, the change feed: a
reader that has seen number ``n`` asks for the rows above it (``changed_since``).
Bumping the sequence's single row first locks it until the commit, so on PostgreSQL
too the numbers commit in order and a reader never skips one committed late.

The row keeps what the incident's page shows (``page_state``: the latest timeline entries,
not all of them), so a page costs the same at 50 entries as at 5,000. The state
and the register row are sealed (they hold what people wrote);
the columns the register orders and filters on (``Entry``: the next deadline, the
state, the regime, whether a report never went) are not, so that the register reads
them for every incident and unseals only the rows it shows. Rows projected before
those columns existed (schema version 1) have none: they are read whole, until their
incident's next projection or a rebuild writes them again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.register import Entry, RegisterRow, page_state, row_of
from breachclock.runtime.codec import Sealer
from breachclock.runtime.store.db import Db, Migration, OnDb, Schema, instant, seconds

SCHEMA = Schema(
    "readmodel",
    (
        Migration(
            1,
            both=(
                """CREATE TABLE incident_view (
                    reference TEXT PRIMARY KEY,
                    version BIGINT NOT NULL,
                    seq BIGINT NOT NULL,
                    next_deadline DOUBLE PRECISION,
                    register_row TEXT NOT NULL,
                    record TEXT NOT NULL,
                    timeline_total INTEGER NOT NULL
                )""",
                "CREATE INDEX incident_view_seq ON incident_view (seq)",
                "CREATE TABLE view_sequence (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)",
                "INSERT INTO view_sequence (id, value) VALUES (1, 0)",
            ),
        ),
        Migration(
            2,
            both=(
                "ALTER TABLE incident_view ADD COLUMN state TEXT",
                "ALTER TABLE incident_view ADD COLUMN regime TEXT",
                "ALTER TABLE incident_view ADD COLUMN never_filed INTEGER",
                # Added columns sit after the sealed state in each SQLite row: read from
                # the table, they cost a walk through its overflow pages (10 ms for
                # 1,000 rows here); from this covering index, 2 ms.
                "CREATE INDEX incident_view_entry"
                " ON incident_view (state, regime, next_deadline, never_filed, reference)",
            ),
        ),
    ),
)

NEWER = "incident_view.version < excluded.version"
"""A projection replaces the row only from a newer version (the engine's own)."""
NOT_OLDER = "incident_view.version <= excluded.version"
"""A rebuild's state, read later than its version was projected, replaces that version."""


@dataclass(frozen=True)
class Projected:
    """An incident as its page reads it (``page_state``: the latest timeline entries) and
    how many entries its timeline has in all."""

    version: int
    state: IncidentState
    timeline_total: int


@dataclass(frozen=True)
class Change:
    """One entry of the change feed: the incident's row now carries ``version``."""

    seq: int
    reference: str
    version: int


class ReadModel(OnDb):
    """The incidents as pages read them, over one ``Db``; ``async with`` it."""

    def __init__(self, db: Db, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer

    def __repr__(self) -> str:
        return f"ReadModel({self.db!r})"

    async def project(self, version: int, state: IncidentState, *, rebuild: bool = False) -> bool:
        """Keep ``state`` as the incident's version ``version`` unless a newer one is kept
        (for a ``rebuild``, unless a newer or the same). True when the row changed."""
        reference = state.reference
        row, sealed_row, sealed_state = await asyncio.to_thread(self._sealed, state)
        _, changed = await self.db.atomic(
            [
                ("UPDATE view_sequence SET value = value + 1 WHERE id = 1", ()),
                (
                    "INSERT INTO incident_view (reference, version, seq, next_deadline,"
                    " state, regime, never_filed, register_row, record, timeline_total)"
                    " VALUES (?, ?, (SELECT value FROM view_sequence WHERE id = 1),"
                    " ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (reference) DO UPDATE SET version = excluded.version,"
                    " seq = excluded.seq,"
                    " next_deadline = excluded.next_deadline, state = excluded.state,"
                    " regime = excluded.regime, never_filed = excluded.never_filed,"
                    " register_row = excluded.register_row, record = excluded.record,"
                    " timeline_total = excluded.timeline_total"
                    f" WHERE {NOT_OLDER if rebuild else NEWER}",
                    (
                        reference,
                        version,
                        seconds(row.next_deadline) if row.next_deadline else None,
                        row.state,
                        row.regime,
                        int(bool(row.never_filed)),
                        sealed_row,
                        sealed_state,
                        len(state.timeline),
                    ),
                ),
            ]
        )
        return changed == 1

    def _sealed(self, state: IncidentState) -> tuple[RegisterRow, str, str]:
        """The row and the state as stored (off the event loop: a state may be a megabyte)."""
        row = row_of(state)
        return (
            row,
            self.sealer.seal(row.model_dump_json(), f"view-row:{state.reference}"),
            self.sealer.seal(page_state(state).model_dump_json(), f"view:{state.reference}"),
        )

    async def rows(self) -> list[RegisterRow]:
        """Every projected incident's register row, the nearest deadline first."""
        found = await self.db.query(
            "SELECT reference, register_row FROM incident_view"
            " ORDER BY next_deadline IS NULL, next_deadline, reference"
        )
        return [self._row(str(reference), str(row)) for reference, row in found]

    async def entries(self) -> list[Entry]:
        """Every projected incident's ``Entry``, read from its columns without unsealing
        anything (but the whole row of one projected before the columns existed)."""
        found = await self.db.query(
            "SELECT reference, state, regime, next_deadline, never_filed FROM incident_view"
        )
        older = await self.db.query(
            "SELECT reference, register_row FROM incident_view WHERE state IS NULL"
        )
        return [
            *(
                Entry(str(ref), str(state), regime, instant(due), bool(never))
                for ref, state, regime, due, never in found
                if state is not None
            ),
            *(Entry.of(self._row(str(ref), str(row))) for ref, row in older),
        ]

    async def rows_of(self, references: Sequence[str]) -> dict[str, RegisterRow]:
        """The register rows of ``references`` (those projected), unsealed."""
        if not references:
            return {}
        marks = ", ".join("?" * len(references))
        found = await self.db.query(
            f"SELECT reference, register_row FROM incident_view WHERE reference IN ({marks})",
            *references,
        )
        return {str(ref): self._row(str(ref), str(row)) for ref, row in found}

    def _row(self, reference: str, sealed: str) -> RegisterRow:
        return RegisterRow.model_validate_json(self.sealer.open(sealed, f"view-row:{reference}"))

    async def state(self, reference: str) -> Projected | None:
        """The incident as last projected, or None if it never was."""
        found = await self.db.query(
            "SELECT version, record, timeline_total FROM incident_view WHERE reference = ?",
            reference,
        )
        if not found:
            return None
        version, record, total = found[0]
        text = self.sealer.open(str(record), f"view:{reference}")
        return Projected(int(version), IncidentState.model_validate_json(text), int(total))

    async def changed_since(self, seq: int, limit: int = 500) -> list[Change]:
        """The incidents whose row changed after feed number ``seq``, in feed order (an
        incident changed twice since appears once, at its latest number)."""
        found = await self.db.query(
            "SELECT seq, reference, version FROM incident_view WHERE seq > ? ORDER BY seq LIMIT ?",
            seq,
            limit,
        )
        return [Change(int(s), str(r), int(v)) for s, r, v in found]

    async def last_seq(self) -> int:
        """The feed's latest number (a reader starting now waits for those above it)."""
        found = await self.db.query("SELECT value FROM view_sequence WHERE id = 1")
        return int(found[0][0])
