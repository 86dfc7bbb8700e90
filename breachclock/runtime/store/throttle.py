"""How many sign-in tries an account or a client address has left, in the accounts store.

A try is claimed *before* the password is checked, by one statement per key that
either counts it or refuses it: fifty wrong passwords sent at once get as many argon2
checks as the limit allows, not fifty (a check-then-count would let them all through).
After ``limit`` failures within ``window`` the key is locked, first for ``first_lock``,
then twice as long each time up to ``longest_lock``; a lock ends by itself, and a day
after the last one ended the back-off starts again from the first. A success clears the
account's count; the address keeps its failures (one good account must not launder a
spray of guesses from the same place).

Keys are digests: a name typed into the form may be a password typed in the wrong
field, and it must not be kept. Rows no try has touched for ``forgiven`` are deleted
with each failure, so the table stays as large as the last day's failures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from breachclock.runtime.store.db import Db, Statement, seconds


@dataclass(frozen=True)
class Policy:
    per_account: int = 5
    """Tries an account has within ``window`` (OWASP's usual five)."""
    per_address: int = 20
    """Tries one client address has within ``window``, over all the names it tries
    (an office behind one NAT address signs in more than one person)."""
    window: timedelta = timedelta(minutes=15)
    first_lock: timedelta = timedelta(minutes=1)
    longest_lock: timedelta = timedelta(hours=1)
    forgiven: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class Key:
    """One thing counted: an account's name or a client's address, as its digest."""

    digest: str
    limit: int

    @classmethod
    def of(cls, kind: str, value: str, limit: int) -> Key:
        return cls(hashlib.sha256(f"{kind}:{value}".encode()).hexdigest(), limit)


TABLE = "sign_in_throttle"
CLAIM = f"""INSERT INTO {TABLE} (key, tries, window_start, locked_until, lock_seconds)
    VALUES (?, 1, ?, 0, 0)
    ON CONFLICT (key) DO UPDATE SET
        tries = CASE WHEN {TABLE}.window_start <= ? THEN 1 ELSE {TABLE}.tries + 1 END,
        window_start = CASE WHEN {TABLE}.window_start <= ? THEN ? ELSE {TABLE}.window_start END,
        lock_seconds = CASE WHEN {TABLE}.locked_until <= ? THEN 0 ELSE {TABLE}.lock_seconds END
    WHERE {TABLE}.locked_until <= ? AND ({TABLE}.tries < ? OR {TABLE}.window_start <= ?)"""
"""Count a try unless the key is locked or has used its tries in the window (then no row
changes: the caller is refused without a password check)."""
NEXT_LOCK = (
    "CASE WHEN lock_seconds = 0 THEN ? WHEN lock_seconds * 2 > ? THEN ? ELSE lock_seconds * 2 END"
)
LOCK = f"""UPDATE {TABLE} SET lock_seconds = {NEXT_LOCK}, locked_until = ? + {NEXT_LOCK},
        tries = 0, window_start = ?
    WHERE key = ? AND tries >= ? AND locked_until <= ?"""
"""After a failure: a key out of tries is locked, once (a second failure in flight finds
it locked already)."""
RELEASE = f"UPDATE {TABLE} SET tries = tries - 1 WHERE key = ? AND tries > 0"
FORGET = f"DELETE FROM {TABLE} WHERE window_start < ? AND locked_until < ?"


class Throttle:
    """The sign-in counts of one accounts database, under one policy."""

    def __init__(self, db: Db, policy: Policy | None = None) -> None:
        self.db = db
        self.policy = policy or Policy()

    def keys(self, name: str, address: str) -> tuple[Key, Key]:
        return (
            Key.of("account", name, self.policy.per_account),
            Key.of("address", address, self.policy.per_address),
        )

    async def claim(self, keys: tuple[Key, ...], now: datetime) -> bool:
        """Take one try from every key, or from none (a key that refuses gives back
        what the others took)."""
        at = seconds(now)
        window = at - self.policy.window.total_seconds()
        forgiven = at - self.policy.forgiven.total_seconds()
        counted = await self.db.atomic(
            [
                (CLAIM, (k.digest, at, window, window, at, forgiven, at, k.limit, window))
                for k in keys
            ]
        )
        if all(counted):
            return True
        await self.give_back(tuple(k for k, c in zip(keys, counted, strict=True) if c))
        return False

    async def give_back(self, keys: tuple[Key, ...]) -> None:
        """Return a try each key gave for a password not checked after all."""
        if keys:
            await self.db.atomic([(RELEASE, (k.digest,)) for k in keys])

    async def failed(
        self, keys: tuple[Key, ...], now: datetime, also: Sequence[Statement] = ()
    ) -> bool:
        """A wrong password: lock the keys out of tries, and ``also`` (its audit entry) in
        the same transaction; True if this failure locked one."""
        at = seconds(now)
        first = self.policy.first_lock.total_seconds()
        longest = self.policy.longest_lock.total_seconds()
        gone = at - self.policy.forgiven.total_seconds()
        lock_args = (first, longest, longest)
        statements: list[Statement] = [
            (LOCK, (*lock_args, at, *lock_args, at, k.digest, k.limit, at)) for k in keys
        ]
        statements.append((FORGET, (gone, gone)))
        counts = await self.db.atomic([*statements, *also])
        return any(counts[: len(keys)])

    async def succeeded(
        self, account: Key, others: tuple[Key, ...], also: Sequence[Statement] = ()
    ) -> None:
        """The right password: the account starts afresh, the others give back the try,
        and ``also`` (its audit entry) commits with them."""
        await self.db.atomic(
            [
                (f"DELETE FROM {TABLE} WHERE key = ?", (account.digest,)),
                *((RELEASE, (k.digest,)) for k in others),
                *also,
            ]
        )

    async def wait(self, keys: tuple[Key, ...], now: datetime) -> int:
        """Whole seconds until the keys' locks end (at least one: tries in flight)."""
        marks = ", ".join("?" * len(keys))
        rows = await self.db.query(
            f"SELECT MAX(locked_until) FROM {TABLE} WHERE key IN ({marks})",
            *(k.digest for k in keys),
        )
        until = rows[0][0] if rows and rows[0][0] is not None else 0.0
        return max(1, int(float(until) - seconds(now) + 0.999))
