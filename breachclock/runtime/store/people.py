"""The record of a notification campaign: who is affected, and every attempt to tell them.

Why not in the workflow: 22,000 (or 200,000) people with their contact details and
progress do not fit a workflow's state across continue-as-new (2 MB per payload),
and contact details do not belong in Temporal's history at all. The campaign workflow
holds only slices of sequence numbers and counts; the people and their attempts live
here, their details sealed (``codec.Sealer``).

``attempts`` is also the idempotency record of calls, notice e-mails and letters. A
key (``<reference>:<subscriber>:call:<n>``, ``…:email``, ``…:letter``) is *claimed*:
written once, and only while the person still stands where the attempt expected
(pending, with that many calls made), with a token naming the attempt that wrote it;
the person's progress moves in the same transaction, and only for the token's
holder. So of two attempts racing on one key (a zombie after a heartbeat timeout, a
run that continued as new while a round still ran) exactly one wins, and the loser
is told before it sends anything. ``worklist`` holds the calls people make by hand.

Loading the list is idempotent too: a client stages each page (``stage``) under a
key, and ``load`` takes it on once, remembering what it did (``loads``), so a
retried load answers as the first did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter

from breachclock.domain.notify.delivery import CallOutcome, Counts, Progress, Status, letter_key
from breachclock.domain.notify.identity import IdentityMethod
from breachclock.domain.notify.subscribers import AS_STORED, LoadOutcome, Subscriber
from breachclock.runtime.codec import Sealer
from breachclock.runtime.store.db import (
    IN_CHUNK,
    Db,
    Migration,
    OnDb,
    Schema,
    Statement,
    instant,
    seconds,
)

SCHEMA = Schema(
    "people",
    (
        Migration(
            1,
            both=(
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
            ),
        ),
        Migration(
            2,
            both=(
                "ALTER TABLE recipients ADD COLUMN reason TEXT",
                "ALTER TABLE recipients ADD COLUMN email_failures INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE attempts ADD COLUMN claim TEXT",
                "ALTER TABLE attempts ADD COLUMN detail TEXT",
                """CREATE TABLE staged (
                    reference TEXT NOT NULL,
                    page_key TEXT NOT NULL,
                    people TEXT NOT NULL,
                    staged_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (reference, page_key)
                )""",
                """CREATE TABLE loads (
                    reference TEXT NOT NULL,
                    page_key TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    PRIMARY KEY (reference, page_key)
                )""",
                "CREATE INDEX worklist_reference ON worklist (reference)",
            ),
        ),
        Migration(
            3,
            both=(
                "ALTER TABLE attempts ADD COLUMN method TEXT",
                "ALTER TABLE worklist ADD COLUMN method TEXT",
            ),
        ),
        Migration(
            4,
            both=(
                # The print batch a person listed for a letter was claimed into.
                "ALTER TABLE recipients ADD COLUMN batch TEXT",
                """CREATE TABLE letter_batches (
                    id TEXT PRIMARY KEY,
                    reference TEXT NOT NULL,
                    made_at DOUBLE PRECISION NOT NULL,
                    made_by TEXT NOT NULL,
                    people INTEGER NOT NULL DEFAULT 0,
                    posted_at DOUBLE PRECISION,
                    posted_by TEXT,
                    recorded_at DOUBLE PRECISION
                )""",
                "CREATE INDEX letter_batches_reference ON letter_batches (reference, made_at)",
                "CREATE INDEX recipients_batch ON recipients (reference, batch)",
            ),
        ),
        Migration(
            5,
            # No statistics of which incident a row belongs to. They only ever knew the
            # incidents analysed before: a campaign that began since was estimated at
            # one row in each table, and its slices' counts were planned as a nested
            # loop over all its attempts and all its people (5 to 30 s a slice; a
            # second 20,000-person campaign on the store ran 2.7x slower than the
            # first). Without them every incident is estimated alike, and each slice is
            # found by its index on both columns. Statistics gathered before this step
            # are kept as they were (ANALYZE no longer touches the column): until they
            # are removed (docs/how-to/postgresql.md), such a store counts by the slower
            # plan that ``_in_range`` bounds.
            postgresql=(
                "ALTER TABLE recipients ALTER COLUMN reference SET STATISTICS 0",
                "ALTER TABLE attempts ALTER COLUMN reference SET STATISTICS 0",
            ),
        ),
    ),
)

PEOPLE = TypeAdapter(list[Subscriber])


class Recipient(BaseModel):
    """One person as the campaign works on them."""

    seq: int
    person: Subscriber
    status: Status
    calls_made: int
    last_outcome: CallOutcome | None
    next_at: datetime | None
    email_failures: int = 0
    reason: str | None = None
    """Why they are to be told by letter, when they are."""
    batch: str | None = None
    """The print batch their letter is in, once in one."""

    def progress(self) -> Progress:
        return Progress(
            calls_made=self.calls_made,
            last_outcome=self.last_outcome,
            next_at=self.next_at,
            has_phone=self.person.phone is not None,
            has_email=self.person.email is not None,
        )


ATTEMPT_COLUMNS = "subscriber_id, key, channel, number, outcome, at, detail, method"


def _attempt(row: Sequence[Any]) -> Attempt:
    k, c, n, o, a, d, m = row
    return Attempt(
        key=k, channel=c, number=n, outcome=o, at=datetime.fromtimestamp(a, UTC), detail=d, method=m
    )


class Attempt(BaseModel):
    key: str
    channel: str
    number: int
    outcome: str
    at: datetime
    detail: str | None = None
    method: IdentityMethod | None = None
    """How the person was identified, on a delivered call."""


class Batch(BaseModel):
    """A print batch: who made it and when, its letters, and when it went to the post."""

    id: str
    number: int
    """1, 2, … in the order the incident's batches were made."""
    made_at: datetime
    made_by: str
    people: int
    posted_at: datetime | None = None
    posted_by: str | None = None


class LetterRecord(BaseModel):
    """The letters' record of one incident: posted and returned, and the posting days."""

    posted: int = 0
    returned: int = 0
    first_posted: datetime | None = None
    last_posted: datetime | None = None


class WorkItem(BaseModel):
    """A call waiting for an agent: the request, and who holds it until when."""

    key: str
    reference: str
    request: str
    claimed_by: str | None = None
    claimed_until: datetime | None


@dataclass(frozen=True)
class Entry:
    """One attempt to record, with the person's progress after it.

    The attempt's key is taken only while the person still stands where the attempt
    expected (pending, ``calls_made`` calls, ``email_failures`` deferrals), and the
    person moves only for the ``claim`` that took it (see the module docstring)."""

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
    claim: str
    reason: str | None = None
    detail: str | None = None
    email_failures: int = 0
    """The person's count of deferred e-mails before this attempt."""
    deferral: bool = False
    """A temporary refusal of the e-mail: counted, the person stays pending."""
    method: IdentityMethod | None = None
    """How the person was identified, on a delivered call."""

    def statements(self) -> list[Statement]:
        call = self.channel == "call"
        return [
            (
                "INSERT INTO attempts"
                " (key, reference, subscriber_id, channel, number, outcome, at, claim, detail,"
                " method) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM recipients"
                " WHERE reference = ? AND subscriber_id = ? AND status = 'pending'"
                " AND calls_made = ? AND email_failures = ?)"
                " ON CONFLICT (key) DO NOTHING",
                (
                    self.key,
                    self.reference,
                    self.subscriber_id,
                    self.channel,
                    self.number,
                    self.outcome,
                    seconds(self.at),
                    self.claim,
                    self.detail,
                    None if self.method is None else self.method.value,
                    self.reference,
                    self.subscriber_id,
                    self.number - 1 if call else self.calls_made,
                    self.email_failures,
                ),
            ),
            (
                # Applied once: only from the state the attempt expected, and only for
                # the claim that took the key.
                "UPDATE recipients SET status = ?, calls_made = calls_made + ?,"
                " last_outcome = COALESCE(?, last_outcome), next_at = ?,"
                " email_failures = email_failures + ?, reason = COALESCE(?, reason)"
                " WHERE reference = ? AND subscriber_id = ? AND status = 'pending'"
                " AND calls_made = ? AND email_failures = ?"
                " AND EXISTS (SELECT 1 FROM attempts WHERE key = ? AND claim = ?)",
                (
                    self.status.value,
                    1 if call else 0,
                    self.outcome if call else None,
                    None if self.next_at is None else seconds(self.next_at),
                    1 if self.deferral else 0,
                    self.reason,
                    self.reference,
                    self.subscriber_id,
                    self.number - 1 if call else self.calls_made,
                    self.email_failures,
                    self.key,
                    self.claim,
                ),
            ),
        ]


def _settle(key: str, outcome: str) -> Statement:
    """A try that was only accepted has its outcome now (a delivery report came, or none
    in time): moved once, from ``accepted`` only."""
    return (
        "UPDATE attempts SET outcome = ? WHERE key = ? AND outcome = 'accepted'",
        (outcome, key),
    )


def _finish(reference: str, subscriber_id: str, status: Status) -> Statement:
    """A pending person's path ended with ``status`` (reached, by a try recorded before):
    conditional, so a round that comes second changes nothing."""
    return (
        "UPDATE recipients SET status = ?, next_at = NULL"
        " WHERE reference = ? AND subscriber_id = ? AND status = 'pending'",
        (status.value, reference, subscriber_id),
    )


def _defer(reference: str, subscriber_id: str, at: datetime) -> Statement:
    return (
        "UPDATE recipients SET next_at = ? WHERE reference = ? AND subscriber_id = ?"
        " AND status = 'pending'",
        (seconds(at), reference, subscriber_id),
    )


@dataclass(frozen=True)
class Walked:
    """What one round of a plan did for one person, written in one transaction, in this
    order: the earlier tries whose outcome came since (``settled``: key, outcome), the
    tries made now (``entries``, each claiming its key), and where the person stands
    after them: ``reached`` by a try, listed for a ``letter``, or due again ``until``.

    One write per person per round, where there were up to four: a round of 500 people
    waiting for their delivery reports queued 2,000 writes behind the next round's sends.
    """

    reference: str
    subscriber_id: str
    settled: Sequence[tuple[str, str]] = ()
    entries: Sequence[Entry] = ()
    reached: Status | None = None
    letter: Entry | None = None
    until: datetime | None = None

    def statements(self) -> list[Statement]:
        done = [_settle(key, outcome) for key, outcome in self.settled]
        done += [s for entry in self.entries for s in entry.statements()]
        if self.reached is not None:
            done.append(_finish(self.reference, self.subscriber_id, self.reached))
        elif self.letter is not None:
            done += self.letter.statements()
        elif self.until is not None:
            done.append(_defer(self.reference, self.subscriber_id, self.until))
        return done


def letter(reference: str, person: Recipient, at: datetime, claim: str, reason: str) -> Entry:
    """The entry that lists a person for a letter, with why."""
    return Entry(
        reference,
        person.person.id,
        letter_key(reference, person.person.id),
        "letter",
        1,
        "unreachable",
        at,
        Status.UNREACHABLE,
        None,
        calls_made=person.calls_made,
        claim=claim,
        reason=reason,
        email_failures=person.email_failures,
    )


class NotifyStore(OnDb):
    """The campaign's people, attempts and agent worklist, over one ``Db``."""

    def __init__(self, db: Db, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer

    def __repr__(self) -> str:
        return f"NotifyStore({self.db!r})"

    def _seal_person(self, reference: str, person: Subscriber) -> str:
        return self.sealer.seal(person.model_dump_json(), f"recipients:{reference}:{person.id}")

    def _open_person(self, reference: str, subscriber_id: str, sealed: str) -> Subscriber:
        text = self.sealer.open(sealed, f"recipients:{reference}:{subscriber_id}")
        return Subscriber.model_validate_json(text, context=AS_STORED)

    # ------------------------------------------------------------- people

    async def stage(
        self, reference: str, page_key: str, people: Sequence[Subscriber], at: datetime
    ) -> None:
        """Keep a page of people, sealed, until the incident takes it on (``load``)."""
        payload = PEOPLE.dump_json(list(people)).decode()
        sealed = self.sealer.seal(payload, f"staged:{reference}:{page_key}")
        await self.db.atomic(
            [
                (
                    "INSERT INTO staged (reference, page_key, people, staged_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (reference, page_key) DO NOTHING",
                    (reference, page_key, sealed, seconds(at)),
                )
            ]
        )

    async def loaded(self, reference: str, page_key: str) -> LoadOutcome | None:
        rows = await self.db.query(
            "SELECT outcome FROM loads WHERE reference = ? AND page_key = ?", reference, page_key
        )
        return LoadOutcome.model_validate_json(rows[0][0]) if rows else None

    async def load(self, reference: str, page_key: str) -> LoadOutcome:
        """Take on a staged page: people not yet on the list get the next sequence
        numbers (which campaign slices cut). Asked again, it answers as it did the
        first time and changes nothing. Raises ``LookupError`` for a page never staged."""
        done = await self.loaded(reference, page_key)
        if done is not None:
            return done
        rows = await self.db.query(
            "SELECT people FROM staged WHERE reference = ? AND page_key = ?", reference, page_key
        )
        if not rows:
            raise LookupError(f"no staged page {page_key} for {reference}")
        page = PEOPLE.validate_json(
            self.sealer.open(rows[0][0], f"staged:{reference}:{page_key}"), context=AS_STORED
        )
        known = {
            str(sid): self._open_person(reference, str(sid), sealed)
            for sid, sealed in await self.db.query_in(
                "SELECT subscriber_id, person FROM recipients"
                " WHERE reference = ? AND subscriber_id IN ({})",
                [p.id for p in page],
                reference,
            )
        }
        firsts: dict[str, Subscriber] = {}
        for p in page:
            if p.id not in known:
                firsts.setdefault(p.id, p)
        new = list(firsts.values())
        changed = sorted(p.id for p in page if p.id in known and known[p.id] != p)
        # The list's numbers run 0, 1, 2, … without a gap (a page's repeated id is taken
        # once), so its size is the highest number plus one, read from the index:
        # counting its rows read the whole list again for every page (13 ms a page at
        # 200,000 people on SQLite, which made a list's load quadratic).
        (top,) = (
            await self.db.query(
                "SELECT COALESCE(MAX(seq), -1) FROM recipients WHERE reference = ?", reference
            )
        )[0]
        outcome = LoadOutcome(
            added=len(new),
            repeated=len(page) - len(new),
            changed=changed,
            people=int(top) + 1 + len(new),
        )
        statements: list[Statement] = [
            (
                "INSERT INTO recipients (reference, subscriber_id, seq, person)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (reference, p.id, int(top) + 1 + i, self._seal_person(reference, p)),
            )
            for i, p in enumerate(new)
        ]
        statements += [
            (
                "INSERT INTO loads (reference, page_key, outcome) VALUES (?, ?, ?)"
                " ON CONFLICT (reference, page_key) DO NOTHING",
                (reference, page_key, outcome.model_dump_json()),
            ),
            ("DELETE FROM staged WHERE reference = ? AND page_key = ?", (reference, page_key)),
        ]
        await self.db.atomic(statements)
        # Two attempts racing (a zombie) both get here; the first write is the answer.
        recorded = await self.loaded(reference, page_key)
        assert recorded is not None
        return recorded

    async def due(self, reference: str, first: int, end: int, now: datetime) -> list[Recipient]:
        """The people in sequence range [first, end) still pending and due by ``now``."""
        rows = await self.db.query(
            f"SELECT {RECIPIENT_COLUMNS} FROM recipients"
            " WHERE reference = ? AND seq >= ? AND seq < ? AND status = 'pending'"
            " AND (next_at IS NULL OR next_at <= ?) ORDER BY seq",
            reference,
            first,
            end,
            seconds(now),
        )
        return [self._recipient(reference, r) for r in rows]

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

    async def defer(self, reference: str, until: Sequence[tuple[str, datetime]]) -> None:
        """Each (person, instant): not before it (outside calling hours now), in one write."""
        if not until:
            return
        await self.db.atomic([_defer(reference, sid, at) for sid, at in until])

    async def walked(self, step: Walked) -> None:
        """What a plan's round did for one person, in one transaction (``Walked``)."""
        await self.db.atomic(step.statements())

    async def person(self, reference: str, subscriber_id: str) -> Recipient | None:
        rows = await self.db.query(
            f"SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE reference = ? AND subscriber_id = ?",
            reference,
            subscriber_id,
        )
        return self._recipient(reference, rows[0]) if rows else None

    async def unreachable(self, reference: str) -> list[Recipient]:
        """The people to be told by letter, with why."""
        rows = await self.db.query(
            f"SELECT {RECIPIENT_COLUMNS} FROM recipients"
            " WHERE reference = ? AND status = 'unreachable' ORDER BY seq",
            reference,
        )
        return [self._recipient(reference, r) for r in rows]

    def _recipient(self, reference: str, row: tuple[Any, ...]) -> Recipient:
        sid, seq, person, status, calls_made, last_outcome, next_at, failures, reason, batch = row
        return Recipient(
            seq=seq,
            person=self._open_person(reference, str(sid), person),
            status=Status(status),
            calls_made=calls_made,
            last_outcome=CallOutcome(last_outcome) if last_outcome else None,
            next_at=instant(next_at),
            email_failures=failures,
            reason=reason,
            batch=batch,
        )

    # ----------------------------------------------------------- attempts

    async def recorded(self, keys: Sequence[str]) -> dict[str, str]:
        """The outcome recorded for each of ``keys`` that has one."""
        rows = await self.db.query_in("SELECT key, outcome FROM attempts WHERE key IN ({})", keys)
        return {str(k): str(o) for k, o in rows}

    async def record(self, entry: Entry, at_once: bool = False) -> bool:
        """Claim an attempt's key and move the person, together (see ``Entry``).

        False when the key was taken before, or the person no longer stands where the
        attempt expected: this attempt lost, and must not act. ``at_once``: commit
        without yielding to the event loop first (``Db.atomic_now``)."""
        run = self.db.atomic_now if at_once else self.db.atomic
        inserted, _ = await run(entry.statements())
        return inserted == 1

    async def record_many(self, entries: Sequence[Entry]) -> int:
        """``record`` for many attempts in one transaction; how many were new."""
        if not entries:
            return 0
        counts = await self.db.atomic([s for e in entries for s in e.statements()])
        return sum(counts[0::2])

    async def refused_after_data(self, entry: Entry, outcome: str, reason: str) -> None:
        """The relay refused, for good, an e-mail this claim recorded as sent: a letter."""
        await self.db.atomic(
            [
                (
                    "UPDATE attempts SET outcome = ?, detail = ? WHERE key = ? AND claim = ?",
                    (outcome, reason, entry.key, entry.claim),
                ),
                (
                    "UPDATE recipients SET status = 'unreachable', reason = ?"
                    " WHERE reference = ? AND subscriber_id = ?"
                    " AND EXISTS (SELECT 1 FROM attempts WHERE key = ? AND claim = ?)",
                    (reason, entry.reference, entry.subscriber_id, entry.key, entry.claim),
                ),
            ]
        )

    async def unconfirmed(self, entry: Entry, detail: str) -> None:
        """An e-mail this claim recorded whose delivery the relay never confirmed."""
        await self.db.atomic(
            [
                (
                    "UPDATE attempts SET outcome = 'unconfirmed', detail = ?"
                    " WHERE key = ? AND claim = ?",
                    (detail, entry.key, entry.claim),
                )
            ]
        )

    async def undo(self, entry: Entry) -> None:
        """Forget an e-mail this claim recorded just before the relay answered "try later"."""
        await self.db.atomic(
            [
                (
                    "UPDATE recipients SET status = 'pending'"
                    " WHERE reference = ? AND subscriber_id = ? AND status = 'emailed'"
                    " AND EXISTS (SELECT 1 FROM attempts WHERE key = ? AND claim = ?)",
                    (entry.reference, entry.subscriber_id, entry.key, entry.claim),
                ),
                ("DELETE FROM attempts WHERE key = ? AND claim = ?", (entry.key, entry.claim)),
            ]
        )

    async def attempts(self, reference: str, subscriber_id: str) -> list[Attempt]:
        rows = await self.db.query(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts"
            " WHERE reference = ? AND subscriber_id = ? ORDER BY at, number",
            reference,
            subscriber_id,
        )
        return [_attempt(row[1:]) for row in rows]

    async def attempts_of(
        self, reference: str, subscriber_ids: Sequence[str]
    ) -> dict[str, list[Attempt]]:
        """``attempts`` for many people at once (a round's), each in the same order;
        someone never tried has an empty list."""
        rows = await self.db.query_in(
            f"SELECT {ATTEMPT_COLUMNS} FROM attempts"
            " WHERE reference = ? AND subscriber_id IN ({}) ORDER BY at, number",
            subscriber_ids,
            reference,
        )
        found: dict[str, list[Attempt]] = {sid: [] for sid in subscriber_ids}
        for row in rows:
            found[str(row[0])].append(_attempt(row[1:]))
        return found

    def _in_range(self) -> str:
        """The people of a sequence range, as a condition on ``subscriber_id``: their ids
        made first (on PostgreSQL an ``ARRAY``, evaluated once before the scan), rather
        than a join whose plan rests on the estimate of the incident's rows (see
        migration 5: with statistics that did not know it, the join took 20 s a slice
        where this took 0.8 s, and 2 ms without those statistics)."""
        ids = "SELECT subscriber_id FROM recipients WHERE reference = ? AND seq >= ? AND seq < ?"
        return f"= ANY(ARRAY({ids}))" if self.db.dialect == "postgresql" else f"IN ({ids})"

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
            "SELECT channel, outcome, method, COUNT(*) FROM attempts"
            f" WHERE reference = ? AND subscriber_id {self._in_range()}"
            " GROUP BY channel, outcome, method",
            reference,
            reference,
            first,
            last,
        )
        calls: dict[CallOutcome, int] = {}
        identified: dict[str, int] = {}
        for channel, outcome, method, n in tried:
            if channel == "call":
                calls[CallOutcome(outcome)] = calls.get(CallOutcome(outcome), 0) + int(n)
                if method is not None:
                    identified[str(method)] = int(n)
        return Counts(
            people={Status(s): int(n) for s, n in people},
            calls=calls,
            emails={str(o): int(n) for c, o, _, n in tried if c == "email"},
            sms={str(o): int(n) for c, o, _, n in tried if c == "sms"},
            identified=identified,
        )

    # ------------------------------------------------------------ letters

    async def make_batch(
        self, reference: str, batch: str, addressed: Sequence[str], at: datetime, by: str
    ) -> int:
        """Claim into a new print batch ``batch`` every person of ``addressed`` (the ids
        with a postal address) still listed for a letter and in no batch: in one
        transaction, each person by a conditional write, so two batches made at once
        hold each person once. How many it holds; a batch of nobody is not kept."""
        ids = sorted(set(addressed))
        claims: list[Statement] = [
            (
                "UPDATE recipients SET batch = ? WHERE reference = ? AND status = 'unreachable'"
                " AND batch IS NULL AND subscriber_id IN ({})".format(",".join("?" * len(part))),
                (batch, reference, *part),
            )
            for part in (ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK))
        ]
        counts = await self.db.atomic(
            [
                (
                    "INSERT INTO letter_batches (id, reference, made_at, made_by)"
                    " VALUES (?, ?, ?, ?)",
                    (batch, reference, seconds(at), by),
                ),
                *claims,
                (
                    "UPDATE letter_batches SET people = (SELECT COUNT(*) FROM recipients"
                    " WHERE reference = ? AND batch = ?) WHERE id = ?",
                    (reference, batch, batch),
                ),
                ("DELETE FROM letter_batches WHERE id = ? AND people = 0", (batch,)),
            ]
        )
        return sum(counts[1 : 1 + len(claims)])

    async def batches(self, reference: str) -> list[Batch]:
        """The incident's print batches, first made first."""
        rows = await self.db.query(
            "SELECT id, made_at, made_by, people, posted_at, posted_by FROM letter_batches"
            " WHERE reference = ? ORDER BY made_at, id",
            reference,
        )
        return [
            Batch(
                id=str(bid),
                number=n,
                made_at=datetime.fromtimestamp(made, UTC),
                made_by=str(made_by),
                people=int(people),
                posted_at=instant(posted),
                posted_by=posted_by,
            )
            for n, (bid, made, made_by, people, posted, posted_by) in enumerate(rows, 1)
        ]

    async def in_batch(self, reference: str, batch: str) -> list[Recipient]:
        """The people whose letters a batch holds, in list order."""
        rows = await self.db.query(
            f"SELECT {RECIPIENT_COLUMNS} FROM recipients"
            " WHERE reference = ? AND batch = ? ORDER BY seq",
            reference,
            batch,
        )
        return [self._recipient(reference, r) for r in rows]

    async def post(self, reference: str, batch: str, at: datetime, by: str, now: datetime) -> int:
        """Record a batch as gone to the post ``at``: the batch once (the first record's
        day stands), and one posted record per person under its business key
        (``letters.posted_key``), in one transaction. How many posted records are new:
        recorded again, or twice at once, the second changes nothing."""
        _, inserted = await self.db.atomic(
            [
                (
                    "UPDATE letter_batches SET posted_at = ?, posted_by = ?, recorded_at = ?"
                    " WHERE id = ? AND reference = ? AND posted_at IS NULL",
                    (seconds(at), by, seconds(now), batch, reference),
                ),
                (
                    "INSERT INTO attempts (key, reference, subscriber_id, channel, number,"
                    " outcome, at, claim) SELECT CAST(? AS TEXT) || ':' || r.subscriber_id"
                    " || ':letter:posted', r.reference, r.subscriber_id, 'letter', 2, 'posted',"
                    " b.posted_at, b.id FROM recipients r JOIN letter_batches b ON b.id = r.batch"
                    " WHERE r.reference = ? AND r.batch = ? ON CONFLICT (key) DO NOTHING",
                    (reference, reference, batch),
                ),
            ]
        )
        return inserted

    async def returned(
        self, reference: str, subscriber_id: str, key: str, posted: str, at: datetime, by: str
    ) -> bool | None:
        """A posted letter came back undelivered: recorded once under ``key``. None when
        no letter to the person was recorded as posted (under ``posted``); False when
        it was recorded as returned already."""
        (inserted,) = await self.db.atomic(
            [
                (
                    "INSERT INTO attempts (key, reference, subscriber_id, channel, number,"
                    " outcome, at, detail) SELECT ?, ?, ?, 'letter', 3, 'returned', ?, ?"
                    " WHERE EXISTS (SELECT 1 FROM attempts WHERE key = ?)"
                    " ON CONFLICT (key) DO NOTHING",
                    (key, reference, subscriber_id, seconds(at), by, posted),
                )
            ]
        )
        if inserted:
            return True
        return False if await self.recorded([key]) else None

    async def letters(self, reference: str) -> LetterRecord:
        """Letters posted and returned, and the first and last posting, from the record."""
        rows = await self.db.query(
            "SELECT outcome, COUNT(*), MIN(at), MAX(at) FROM attempts"
            " WHERE reference = ? AND channel = 'letter' AND outcome IN ('posted', 'returned')"
            " GROUP BY outcome",
            reference,
        )
        found = {str(o): (int(n), first, last) for o, n, first, last in rows}
        posted = found.get("posted", (0, None, None))
        return LetterRecord(
            posted=posted[0],
            returned=found.get("returned", (0, None, None))[0],
            first_posted=instant(posted[1]),
            last_posted=instant(posted[2]),
        )

    # ----------------------------------------------------------- worklist

    async def enqueue(
        self, reference: str, items: Sequence[tuple[str, str, str]], at: datetime
    ) -> None:
        """Put calls (key, subscriber id, request JSON) on the agents' list, once per key."""
        await self.db.many(
            "INSERT INTO worklist (key, reference, subscriber_id, request, queued_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            [
                (key, reference, sid, self.sealer.seal(request, f"worklist:{key}"), seconds(at))
                for key, sid, request in items
            ],
        )

    async def waiting(self, reference: str) -> int:
        """Calls of one incident on the agents' list that nobody has recorded yet."""
        rows = await self.db.query(
            "SELECT COUNT(*) FROM worklist WHERE reference = ? AND outcome IS NULL", reference
        )
        return int(rows[0][0])

    async def claim(self, agent: str, now: datetime, hold: float) -> WorkItem | None:
        """The oldest call nobody holds (or whose hold ran out), now held by ``agent``."""
        for _ in range(20):
            rows = await self.db.query(
                "SELECT key FROM worklist"
                " WHERE outcome IS NULL AND (claimed_until IS NULL OR claimed_until < ?)"
                " ORDER BY queued_at, key LIMIT 1",
                seconds(now),
            )
            if not rows:
                return None
            (key,) = rows[0]
            (taken,) = await self.db.atomic(
                [
                    (
                        "UPDATE worklist SET claimed_by = ?, claimed_until = ?"
                        " WHERE key = ? AND outcome IS NULL AND"
                        " (claimed_until IS NULL OR claimed_until < ?)",
                        (agent, seconds(now) + hold, key, seconds(now)),
                    )
                ]
            )
            if taken == 1:
                return await self.work_item(key)
        return None

    async def work_item(self, key: str) -> WorkItem | None:
        rows = await self.db.query(
            "SELECT key, reference, request, claimed_by, claimed_until FROM worklist WHERE key = ?",
            key,
        )
        if not rows:
            return None
        key, reference, request, by, until = rows[0]
        return WorkItem(
            key=key,
            reference=reference,
            request=self.sealer.open(request, f"worklist:{key}"),
            claimed_by=by,
            claimed_until=instant(until),
        )

    async def report(
        self,
        key: str,
        outcome: CallOutcome,
        method: IdentityMethod | None,
        at: datetime,
        agent: str,
    ) -> bool:
        """An agent's outcome (and, delivered, how the person was identified) for a call
        they hold; False when the call is unknown, already recorded, or held by someone else."""
        (changed,) = await self.db.atomic(
            [
                (
                    "UPDATE worklist SET outcome = ?, method = ?, recorded_at = ?"
                    " WHERE key = ? AND outcome IS NULL AND claimed_by = ?",
                    (outcome.value, method and method.value, seconds(at), key, agent),
                )
            ]
        )
        return changed == 1

    async def calls_out(self, reference: str, now: datetime) -> tuple[int, int]:
        """The agents' calls of an incident not yet recorded: (held by an agent now,
        waiting for one)."""
        rows = await self.db.query(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN claimed_until >= ? THEN 1 ELSE 0 END), 0)"
            " FROM worklist WHERE reference = ? AND outcome IS NULL",
            seconds(now),
            reference,
        )
        total, held = (int(v) for v in rows[0])
        return held, total - held

    async def reported(
        self, keys: Sequence[str]
    ) -> dict[str, tuple[CallOutcome, IdentityMethod | None]]:
        rows = await self.db.query_in(
            "SELECT key, outcome, method FROM worklist WHERE outcome IS NOT NULL AND key IN ({})",
            keys,
        )
        return {str(k): (CallOutcome(o), IdentityMethod(m) if m else None) for k, o, m in rows}

    # -------------------------------------------------------------- purge

    async def purge(self, reference: str) -> None:
        """Delete everything this store holds of an incident's people (after its retention):
        the register keeps the counts and the decisions."""
        await self.db.atomic(
            [
                (f"DELETE FROM {table} WHERE reference = ?", (reference,))
                for table in (
                    "worklist",
                    "attempts",
                    "recipients",
                    "staged",
                    "loads",
                    "letter_batches",
                )
            ]
        )

    async def drop_staged(self, before: datetime) -> int:
        """Delete pages staged before ``before`` and never loaded; how many."""
        (dropped,) = await self.db.atomic(
            [("DELETE FROM staged WHERE staged_at < ?", (seconds(before),))]
        )
        return dropped

    async def holds(self, reference: str) -> bool:
        """Whether anything of this incident's people is still here."""
        rows = await self.db.query("SELECT COUNT(*) FROM recipients WHERE reference = ?", reference)
        return bool(rows[0][0])


RECIPIENT_COLUMNS = (
    "subscriber_id, seq, person, status, calls_made, last_outcome, next_at, email_failures,"
    " reason, batch"
)
