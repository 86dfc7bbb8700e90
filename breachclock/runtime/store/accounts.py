"""Who may use the HTTP API and the console, and what they did there.

``accounts`` are people (a role, an argon2 hash of their password, or none when they
sign in through the operator's single sign-on; ``sso`` is the single sign-on identity
mapped to the account, so a password account cannot be taken over through the proxy's
header); ``sessions`` and ``tokens`` are kept only as SHA-256 digests of the secrets
handed out, so the database cannot be used to sign in. A token has its own id (labels
may repeat), an owner, an expiry, a revocation and the time it was last used; a
disabled account's sessions and tokens stop at once (every read joins the account).
``request_keys`` remembers which body an ``Idempotency-Key`` came with. ``audit`` is the log of who read or changed which incident, when, and from
where: regulators ask who saw the data. It holds no personal data of subscribers.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from breachclock.runtime.store.db import (
    Db,
    Migration,
    OnDb,
    Schema,
    Statement,
    instant,
    seconds,
)

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
        Migration(
            2,
            both=(
                "ALTER TABLE accounts ADD COLUMN sso TEXT",
                "ALTER TABLE accounts ADD COLUMN disabled_at DOUBLE PRECISION",
                "UPDATE accounts SET sso = name WHERE password_hash IS NULL",
                "CREATE UNIQUE INDEX accounts_sso ON accounts (sso)",
                "ALTER TABLE tokens ADD COLUMN id TEXT",
                "ALTER TABLE tokens ADD COLUMN owner TEXT",
                "ALTER TABLE tokens ADD COLUMN expires_at DOUBLE PRECISION",
                "ALTER TABLE tokens ADD COLUMN revoked_at DOUBLE PRECISION",
                "ALTER TABLE tokens ADD COLUMN last_used_at DOUBLE PRECISION",
                "UPDATE tokens SET id = substr(digest, 1, 16)",
                "CREATE UNIQUE INDEX tokens_id ON tokens (id)",
                """CREATE TABLE request_keys (
                    key TEXT PRIMARY KEY,
                    body TEXT NOT NULL,
                    at DOUBLE PRECISION NOT NULL
                )""",
            ),
        ),
        Migration(
            3,
            both=(
                """CREATE TABLE sign_in_throttle (
                    key TEXT PRIMARY KEY,
                    tries INTEGER NOT NULL,
                    window_start DOUBLE PRECISION NOT NULL,
                    locked_until DOUBLE PRECISION NOT NULL,
                    lock_seconds DOUBLE PRECISION NOT NULL
                )""",
                "CREATE INDEX sign_in_throttle_window ON sign_in_throttle (window_start)",
                "ALTER TABLE tokens ADD COLUMN audited_at DOUBLE PRECISION",
            ),
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
    sso: str | None = None
    """The single sign-on identity that signs in as this account (None: not through SSO)."""
    disabled: bool = False


class Session(BaseModel):
    name: str
    role: str
    csrf: str
    expires_at: datetime


class Token(BaseModel):
    """An API token as its manager sees it: never its secret."""

    id: str
    label: str
    role: str
    owner: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    role: str
    action: str
    reference: str | None
    address: str


NOT_LAST = (
    "(role <> ? OR disabled_at IS NOT NULL OR EXISTS (SELECT 1 FROM accounts other"
    " WHERE other.role = accounts.role AND other.disabled_at IS NULL"
    " AND other.name <> accounts.name))"
)
"""The account (of ``accounts``, in an UPDATE) is not the last enabled one of the role
given as the parameter."""

ROLES_LOCK = 0x62636163  # "bcac"
"""The PostgreSQL advisory lock that changes to roles and access take in turn."""

TOKEN_AUDIT_EVERY = 3600.0
"""A token's use is logged once an hour, not at every request (an integration calls often)."""
TOKEN_USED = "audit.token.used"
ACCOUNT_COLUMNS = "name, role, password_hash, sso, disabled_at"
TOKEN_COLUMNS = "id, label, role, owner, created_at, expires_at, revoked_at, last_used_at"


def audit_statement(entry: AuditEntry) -> Statement:
    """The audit entry as a statement, to commit with what it records."""
    return (
        "INSERT INTO audit (at, actor, role, action, reference, address) VALUES (?, ?, ?, ?, ?, ?)",
        (
            seconds(entry.at),
            entry.actor,
            entry.role,
            entry.action,
            entry.reference,
            entry.address,
        ),
    )


def account_of(row: tuple[Any, ...]) -> Account:
    name, role, password_hash, sso, disabled_at = row
    return Account(
        name=name, role=role, password_hash=password_hash, sso=sso, disabled=disabled_at is not None
    )


def token_of(row: tuple[Any, ...]) -> Token:
    tid, label, role, owner, created, expires, revoked, used = row
    return Token(
        id=tid,
        label=label,
        role=role,
        owner=owner,
        created_at=instant(created),
        expires_at=instant(expires),
        revoked_at=instant(revoked),
        last_used_at=instant(used),
    )


class AccountStore(OnDb):
    """Accounts, sessions, tokens and the audit log, over one ``Db``."""

    def __init__(self, db: Db) -> None:
        self.db = db

    # ----------------------------------------------------------- accounts

    async def add_account(self, account: Account, now: datetime) -> bool:
        """Add an account unless one has that name (or its SSO identity is another's);
        True if this call added it."""
        (added,) = await self.db.atomic(
            [
                (
                    "INSERT INTO accounts (name, role, password_hash, sso, created_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (account.name, account.role, account.password_hash, account.sso, seconds(now)),
                )
            ]
        )
        return added == 1

    async def set_password(self, name: str, password_hash: str) -> None:
        await self.db.atomic(
            [("UPDATE accounts SET password_hash = ? WHERE name = ?", (password_hash, name))]
        )

    async def account(self, name: str) -> Account | None:
        rows = await self.db.query(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = ?", name)
        return account_of(rows[0]) if rows else None

    async def account_by_sso(self, subject: str) -> Account | None:
        """The enabled account mapped to a single sign-on identity."""
        rows = await self.db.query(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE sso = ? AND disabled_at IS NULL",
            subject,
        )
        return account_of(rows[0]) if rows else None

    async def accounts(self) -> int:
        rows = await self.db.query("SELECT COUNT(*) FROM accounts")
        return int(rows[0][0])

    async def all_accounts(self, limit: int = 1000) -> list[Account]:
        rows = await self.db.query(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY name LIMIT ?", limit
        )
        return [account_of(row) for row in rows]

    async def set_role(self, name: str, role: str, keep: str) -> bool:
        """Give an account another role, unless it is the last enabled one with role
        ``keep`` and would lose it (the UPDATE itself decides, no read before it):
        True if changed."""
        guard, params = ("", (role, name)) if role == keep else (NOT_LAST, (role, name, keep))
        sql = "UPDATE accounts SET role = ? WHERE name = ?" + (f" AND {guard}" if guard else "")
        (changed,) = await self._one_at_a_time([(sql, params)])
        return changed == 1

    async def disable(self, name: str, now: datetime, keep: str) -> bool:
        """Disable an account unless it is the last enabled one with role ``keep`` and,
        in the same transaction, end its sessions and revoke the tokens it made: True if
        this call disabled it."""
        at = seconds(now)
        gone = "SELECT name FROM accounts WHERE name = ? AND disabled_at IS NOT NULL"
        changed, _, _ = await self._one_at_a_time(
            [
                (
                    "UPDATE accounts SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL"
                    f" AND {NOT_LAST}",
                    (at, name, keep),
                ),
                (f"DELETE FROM sessions WHERE name IN ({gone})", (name,)),
                (
                    "UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL"
                    f" AND owner IN ({gone})",
                    (at, name),
                ),
            ]
        )
        return changed == 1

    async def _one_at_a_time(self, statements: list[Statement]) -> list[int]:
        """Changes that take someone's role or access away, one after another: SQLite
        has one writer at a time; on PostgreSQL, read committed lets two transactions
        each see the other manager still there, so they first take one transaction
        lock, and each statement then reads what the other committed."""
        if self.db.dialect != "postgresql":
            return await self.db.atomic(statements)
        lock = (f"SELECT pg_advisory_xact_lock({ROLES_LOCK})", ())
        return (await self.db.atomic([lock, *statements]))[1:]

    async def enable(self, name: str) -> bool:
        """Let a disabled account sign in again (its old sessions and tokens stay
        ended): True if it was disabled."""
        (changed,) = await self.db.atomic(
            [
                (
                    "UPDATE accounts SET disabled_at = NULL WHERE name = ?"
                    " AND disabled_at IS NOT NULL",
                    (name,),
                )
            ]
        )
        return changed == 1

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
        """The live session of ``secret``, with its account's role as it is now (none for
        a disabled account)."""
        rows = await self.db.query(
            "SELECT s.name, a.role, s.csrf, s.expires_at FROM sessions s"
            " JOIN accounts a ON a.name = s.name WHERE s.digest = ? AND s.expires_at > ?"
            " AND a.disabled_at IS NULL",
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

    async def add_token(
        self,
        secret: str,
        label: str,
        role: str,
        now: datetime,
        *,
        owner: str | None = None,
        expires: datetime | None = None,
    ) -> str:
        """Keep a new token's digest; its id (unique, shown to managers, never secret)."""
        token_id = digest(secret)[:16]
        await self.db.atomic(
            [
                (
                    "INSERT INTO tokens (digest, id, label, role, owner, created_at, expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        digest(secret),
                        token_id,
                        label,
                        role,
                        owner,
                        seconds(now),
                        seconds(expires) if expires else None,
                    ),
                )
            ]
        )
        return token_id

    async def token(self, secret: str, now: datetime, address: str) -> Token | None:
        """The live token of ``secret`` (not revoked, not expired, not made by an account
        since disabled), its last use now recorded; its first use in an hour goes in the
        audit log (label and id, the caller's address), in the same transaction: the
        first statement holds the token's row, so requests at once write one entry."""
        live = (
            "digest = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"
            " AND NOT EXISTS (SELECT 1 FROM accounts a"
            " WHERE a.name = tokens.owner AND a.disabled_at IS NOT NULL)"
        )
        key, at = digest(secret), seconds(now)
        due = "digest = ? AND last_used_at = ? AND (audited_at IS NULL OR audited_at <= ?)"
        when = (key, at, at - TOKEN_AUDIT_EVERY)
        used, _, _ = await self.db.atomic(
            [
                (f"UPDATE tokens SET last_used_at = ? WHERE {live}", (at, key, at)),
                (
                    "INSERT INTO audit (at, actor, role, action, reference, address)"
                    " SELECT CAST(? AS DOUBLE PRECISION), label || ' (' || id || ')', role, ?,"
                    f" NULL, ? FROM tokens WHERE {due}",
                    (at, TOKEN_USED, address, *when),
                ),
                (f"UPDATE tokens SET audited_at = ? WHERE {due}", (at, *when)),
            ]
        )
        if not used:
            return None
        rows = await self.db.query(f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE digest = ?", key)
        return token_of(rows[0]) if rows else None

    async def tokens(self, limit: int = 1000) -> list[Token]:
        rows = await self.db.query(
            f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id LIMIT ?", limit
        )
        return [token_of(row) for row in rows]

    async def revoke_token(self, token_id: str, now: datetime) -> bool:
        """True if the token was live and is now revoked."""
        (changed,) = await self.db.atomic(
            [
                (
                    "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (seconds(now), token_id),
                )
            ]
        )
        return changed == 1

    # ------------------------------------------------------ request keys

    async def request_body(self, key: str, body: str, now: datetime) -> str:
        """The body digest an ``Idempotency-Key`` first came with: ``body`` if this is its
        first use (one statement decides, so two requests at once agree)."""
        await self.db.atomic(
            [
                (
                    "INSERT INTO request_keys (key, body, at) VALUES (?, ?, ?)"
                    " ON CONFLICT (key) DO NOTHING",
                    (key, body, seconds(now)),
                )
            ]
        )
        rows = await self.db.query("SELECT body FROM request_keys WHERE key = ?", key)
        return str(rows[0][0])

    # -------------------------------------------------------------- audit

    async def audit(self, entry: AuditEntry) -> None:
        await self.db.atomic([audit_statement(entry)])

    async def audit_about(self, kinds: tuple[str, ...], limit: int = 50) -> list[AuditEntry]:
        """The latest ``limit`` entries about kinds of things other than incidents
        (references ``kind:…``, such as ``account:sara``; an incident's reference has no
        colon), newest first."""
        which = " OR ".join("substr(reference, 1, ?) = ?" for _ in kinds)
        params = [p for kind in kinds for p in (len(kind) + 1, kind + ":")]
        rows = await self.db.query(
            f"SELECT {AUDIT_COLUMNS} FROM audit WHERE {which} ORDER BY seq DESC LIMIT ?",
            *params,
            limit,
        )
        return [audit_entry(row) for row in rows]

    async def audit_of(self, reference: str | None, limit: int = 500) -> list[AuditEntry]:
        """The latest ``limit`` entries about one incident, newest first; with None, those
        about none (signing in and out, token use, lists and accounts)."""
        which = (
            ("reference = ?", (reference,)) if reference is not None else ("reference IS NULL", ())
        )
        rows = await self.db.query(
            f"SELECT {AUDIT_COLUMNS} FROM audit WHERE {which[0]} ORDER BY seq DESC LIMIT ?",
            *which[1],
            limit,
        )
        return [audit_entry(row) for row in rows]


AUDIT_COLUMNS = "at, actor, role, action, reference, address"


def audit_entry(row: tuple[Any, ...]) -> AuditEntry:
    at, actor, role, action, reference, address = row
    return AuditEntry(
        at=instant(at), actor=actor, role=role, action=action, reference=reference, address=address
    )
