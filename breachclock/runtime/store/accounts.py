"""Who may use the HTTP API and the console, and what they did there.

``accounts`` are people (a role, an argon2 hash of their password, or none when they
sign in through the operator's single sign-on); ``sessions`` and ``tokens`` are kept
only as SHA-256 digests of the secrets handed out, so the database cannot be used to
sign in. ``audit`` is the log of who read or changed which incident, when, and from
where: regulators ask who saw the data. It holds no personal data of subscribers.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel

from breachclock.runtime.store.db import Db, Migration, OnDb, Schema, instant, seconds

AUDIT = """CREATE TABLE audit (
    seq {seq},
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    reference TEXT,
    address TEXT NOT NULL
)"""
"""The audit log; its sequence is typed per backend."""
AUDIT_INDEX = "CREATE INDEX audit_reference ON audit (reference, seq)"

SCHEMA = Schema(
    "accounts",
    (
        Migration(
            1,
            both=(
                """CREATE TABLE accounts (
                    name TEXT PRIMARY KEY,
                    role TEXT NOT NULL,
                    password_hash TEXT,
                    created_at DOUBLE PRECISION NOT NULL
                )""",
                """CREATE TABLE sessions (
                    digest TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    csrf TEXT NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                )""",
                """CREATE TABLE tokens (
                    digest TEXT PRIMARY KEY,
                    label TEXT NOT NULL,
                    role TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL
                )""",
                "CREATE INDEX sessions_expiry ON sessions (expires_at)",
            ),
            sqlite=(AUDIT.format(seq="INTEGER PRIMARY KEY AUTOINCREMENT"), AUDIT_INDEX),
            postgresql=(AUDIT.format(seq="BIGSERIAL PRIMARY KEY"), AUDIT_INDEX),
        ),
    ),
)


def digest(secret: str) -> str:
    """What is kept of a session id or token: enough to recognise it, not to use it."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Account(BaseModel):
    name: str
    role: str
    password_hash: str | None = None


class Session(BaseModel):
    name: str
    role: str
    csrf: str
    expires_at: datetime


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    role: str
    action: str
    reference: str | None
    address: str


class AccountStore(OnDb):
    """Accounts, sessions, tokens and the audit log, over one ``Db``."""

    def __init__(self, db: Db) -> None:
        self.db = db

    # ----------------------------------------------------------- accounts

    async def add_account(self, account: Account, now: datetime) -> bool:
        """Add an account unless one has that name; True if this call added it."""
        (added,) = await self.db.atomic(
            [
                (
                    "INSERT INTO accounts (name, role, password_hash, created_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                    (account.name, account.role, account.password_hash, seconds(now)),
                )
            ]
        )
        return added == 1

    async def set_password(self, name: str, password_hash: str) -> None:
        await self.db.atomic(
            [("UPDATE accounts SET password_hash = ? WHERE name = ?", (password_hash, name))]
        )

    async def account(self, name: str) -> Account | None:
        rows = await self.db.query(
            "SELECT name, role, password_hash FROM accounts WHERE name = ?", name
        )
        return Account(name=rows[0][0], role=rows[0][1], password_hash=rows[0][2]) if rows else None

    async def accounts(self) -> int:
        rows = await self.db.query("SELECT COUNT(*) FROM accounts")
        return int(rows[0][0])

    # ----------------------------------------------------------- sessions

    async def start_session(self, secret: str, name: str, csrf: str, expires: datetime) -> None:
        await self.db.atomic(
            [
                (
                    "INSERT INTO sessions (digest, name, csrf, expires_at) VALUES (?, ?, ?, ?)",
                    (digest(secret), name, csrf, seconds(expires)),
                )
            ]
        )

    async def session(self, secret: str, now: datetime) -> Session | None:
        """The live session of ``secret``, with its account's role as it is now."""
        rows = await self.db.query(
            "SELECT s.name, a.role, s.csrf, s.expires_at FROM sessions s"
            " JOIN accounts a ON a.name = s.name WHERE s.digest = ? AND s.expires_at > ?",
            digest(secret),
            seconds(now),
        )
        if not rows:
            return None
        name, role, csrf, expires = rows[0]
        return Session(name=name, role=role, csrf=csrf, expires_at=instant(expires))

    async def end_session(self, secret: str, now: datetime) -> None:
        """End this session, and forget every one that has expired."""
        await self.db.atomic(
            [
                ("DELETE FROM sessions WHERE digest = ?", (digest(secret),)),
                ("DELETE FROM sessions WHERE expires_at <= ?", (seconds(now),)),
            ]
        )

    # ------------------------------------------------------------- tokens

    async def add_token(self, secret: str, label: str, role: str, now: datetime) -> None:
        await self.db.atomic(
            [
                (
                    "INSERT INTO tokens (digest, label, role, created_at) VALUES (?, ?, ?, ?)",
                    (digest(secret), label, role, seconds(now)),
                )
            ]
        )

    async def token(self, secret: str) -> tuple[str, str] | None:
        """(label, role) of an API token."""
        rows = await self.db.query(
            "SELECT label, role FROM tokens WHERE digest = ?", digest(secret)
        )
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    # -------------------------------------------------------------- audit

    async def audit(self, entry: AuditEntry) -> None:
        await self.db.atomic(
            [
                (
                    "INSERT INTO audit (at, actor, role, action, reference, address)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        seconds(entry.at),
                        entry.actor,
                        entry.role,
                        entry.action,
                        entry.reference,
                        entry.address,
                    ),
                )
            ]
        )

    async def audit_of(self, reference: str, limit: int = 500) -> list[AuditEntry]:
        """The latest ``limit`` entries about one incident, newest first."""
        rows = await self.db.query(
            "SELECT at, actor, role, action, reference, address FROM audit"
            " WHERE reference = ? ORDER BY seq DESC LIMIT ?",
            reference,
            limit,
        )
        return [
            AuditEntry(
                at=instant(at), actor=actor, role=role, action=action, reference=ref, address=addr
            )
            for at, actor, role, action, ref, addr in rows
        ]
