"""Who is asking, and may they: accounts with roles, sessions, API tokens, single
sign-on through a trusted reverse proxy, CSRF on every write from a browser, and the
audit log of who read or changed which incident.

Roles:

- ``manager``: everything;
- ``oncall``: read, record discovery and events (and acknowledge pages);
- ``agent``: only the call worklist, the call they hold;
- ``auditor``: read everything, change nothing.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request

from breachclock.runtime import offload
from breachclock.runtime.config import Settings
from breachclock.runtime.store.accounts import Account, AccountStore, AuditEntry

SESSION_COOKIE = "bc_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
FIRST_ACCOUNT = "admin"


class Role(StrEnum):
    MANAGER = "manager"
    ONCALL = "oncall"
    AGENT = "agent"
    AUDITOR = "auditor"


class Action(StrEnum):
    READ = "read"
    """An incident's status, timeline, report, people, audit log; the register."""
    RESPOND = "respond"
    """Discovery, events, acknowledging a page: what the on-call does at night."""
    MANAGE = "manage"
    """Every other change: facts, filings, telling subscribers, closing."""
    CALL = "call"
    """The agents' worklist."""


ALLOWED: dict[Role, frozenset[Action]] = {
    Role.MANAGER: frozenset(Action),
    Role.ONCALL: frozenset({Action.READ, Action.RESPOND}),
    Role.AGENT: frozenset({Action.CALL}),
    Role.AUDITOR: frozenset({Action.READ}),
}

HASHER = PasswordHasher()
UNKNOWN_HASH = HASHER.hash(secrets.token_urlsafe(16))
"""Checked against when the name is unknown, so a wrong name costs what a wrong password does."""


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_ok(account: Account | None, password: str) -> bool:
    try:
        HASHER.verify(
            account.password_hash if account and account.password_hash else UNKNOWN_HASH,
            password,
        )
    except (VerificationError, InvalidHashError):
        return False
    return account is not None and account.password_hash is not None


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    csrf: str | None
    """The session's CSRF token; None for an API token (not sent by a browser by itself)."""

    def may(self, action: Action) -> bool:
        return action in ALLOWED[self.role]


class Auth:
    """The accounts store and the rules for reading a request's principal."""

    def __init__(self, settings: Settings, store: AccountStore) -> None:
        self.settings = settings
        self.store = store
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in settings.sso_proxies]

    async def first_run(self) -> str | None:
        """With no account yet: make the ``admin`` manager; its password is returned
        (once, to be printed) unless it was given in the environment."""
        if await self.store.accounts():
            return None
        given = self.settings.web_admin_password
        password = given.get_secret_value() if given else secrets.token_urlsafe(12)
        hashed = await offload.in_thread(hash_password, password)
        account = Account(name=FIRST_ACCOUNT, role=Role.MANAGER, password_hash=hashed)
        added = await self.store.add_account(account, datetime.now(UTC))
        return password if added and given is None else None

    async def sign_in(self, name: str, password: str) -> tuple[str, str] | None:
        """(session secret, CSRF token) for a good name and password."""
        account = await self.store.account(name)
        if not await offload.in_thread(password_ok, account, password):  # off the loop
            return None
        return await self.new_session(name)

    async def new_session(self, name: str) -> tuple[str, str]:
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(hours=self.settings.session_hours)
        await self.store.start_session(secret, name, csrf, expires)
        return secret, csrf

    def from_proxy(self, request: Request) -> bool:
        host = request.client.host if request.client else None
        if host is None or self.settings.sso_header is None:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self.proxies)

    async def principal(self, request: Request) -> Principal | None:
        """The caller: an API token, else a session cookie, else the SSO proxy's header
        (only from a configured proxy address, and only for a known account)."""
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            found = await self.store.token(bearer[7:].strip())
            return Principal(found[0], Role(found[1]), None) if found else None
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            session = await self.store.session(cookie, datetime.now(UTC))
            if session is not None:
                return Principal(session.name, Role(session.role), session.csrf)
        if self.from_proxy(request):
            assert self.settings.sso_header is not None
            user = request.headers.get(self.settings.sso_header)
            account = await self.store.account(user) if user else None
            if account is not None:
                secret, csrf = await self.new_session(account.name)
                request.state.new_session = secret
                return Principal(account.name, Role(account.role), csrf)
        return None

    async def record(
        self, who: Principal, request: Request, action: str, reference: str | None
    ) -> None:
        host = request.client.host if request.client else "unknown"
        await self.store.audit(
            AuditEntry(
                at=datetime.now(UTC),
                actor=who.name,
                role=who.role.value,
                action=action,
                reference=reference,
                address=host,
            )
        )


def check_csrf(who: Principal, sent: str | None) -> None:
    """A browser's write must carry its session's CSRF token (header or form field)."""
    if who.csrf is None:
        return
    if sent is None or not hmac.compare_digest(sent, who.csrf):
        raise HTTPException(
            403, "the form's CSRF token is missing or not this session's: reload the page"
        )
