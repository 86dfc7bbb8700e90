"""Who is asking, and may they: accounts with roles, sessions, API tokens, single
sign-on through a trusted reverse proxy, CSRF on every write from a browser, and the
audit log of who read or changed which incident. The roles and accounts themselves are
the service's (``breachclock.service.accounts``).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from fastapi import Request

from breachclock.domain.problems import problem
from breachclock.runtime.config import Settings
from breachclock.runtime.store.accounts import AccountStore, AuditEntry
from breachclock.runtime.store.throttle import Throttle
from breachclock.service import signin
from breachclock.service.accounts import Role, create_account, hash_password
from breachclock.service.engine import Refused
from breachclock.web.forwarded import client_address, networks
from breachclock.web.problems import HttpProblem

__all__ = ["Role", "hash_password"]

SESSION_COOKIE = "bc_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
FIRST_ACCOUNT = "admin"


class Action(StrEnum):
    READ = "read"
    """An incident's status, timeline, report, people, audit log; the register."""
    RESPOND = "respond"
    """Discovery, events, acknowledging a page: what the on-call does at night."""
    MANAGE = "manage"
    """Every other change: facts, filings, telling subscribers, closing."""
    CALL = "call"
    """The agents' worklist."""
    INTAKE = "intake"
    """Monitoring's alerts (Alertmanager's webhook): open an incident, page the on-call."""


ALLOWED: dict[Role, frozenset[Action]] = {
    Role.MANAGER: frozenset(Action),
    Role.ONCALL: frozenset({Action.READ, Action.RESPOND}),
    Role.AGENT: frozenset({Action.CALL}),
    Role.AUDITOR: frozenset({Action.READ}),
    Role.INTAKE: frozenset({Action.INTAKE}),
}


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    csrf: str | None
    """The session's CSRF token; None for an API token (not sent by a browser by itself)."""
    holder: str = ""
    """Who holds a call: the account's name, or a token's unique id (labels may repeat)."""

    def __post_init__(self) -> None:
        if not self.holder:
            object.__setattr__(self, "holder", self.name)

    def may(self, action: Action) -> bool:
        return action in ALLOWED[self.role]


class Auth:
    """The accounts store and the rules for reading a request's principal."""

    def __init__(self, settings: Settings, store: AccountStore) -> None:
        self.settings = settings
        self.store = store
        self.proxies = networks(settings.sso_proxies)
        self.forwarders = networks(settings.trusted_proxies)
        self.throttle = Throttle(store.db)

    async def first_run(self) -> str | None:
        """With no account yet: make the ``admin`` manager; its password is returned
        (once, to be printed) unless it was given in the environment."""
        if await self.store.accounts():
            return None
        given = self.settings.web_admin_password
        password = given.get_secret_value() if given else secrets.token_urlsafe(12)
        try:
            await create_account(
                self.store, FIRST_ACCOUNT, Role.MANAGER, datetime.now(UTC), password=password
            )
        except Refused:  # another process made it first
            return None
        return password if given is None else None

    async def sign_in(self, request: Request, name: str, password: str) -> tuple[str, str] | None:
        """(session secret, CSRF token) for a good name and password; ``Throttled``
        while the account or the caller's address is out of tries."""
        account = await signin.sign_in(
            self.store, self.throttle, name, password, self.address(request)
        )
        return None if account is None else await self.new_session(account.name)

    async def sign_out(self, request: Request, who: Principal, secret: str) -> None:
        await self.store.end_session(secret, datetime.now(UTC))
        await self.record(who, request, "audit.sign_out", None)

    async def new_session(self, name: str) -> tuple[str, str]:
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(hours=self.settings.session_hours)
        await self.store.start_session(secret, name, csrf, expires)
        return secret, csrf

    def address(self, request: Request) -> str:
        """Where a request came from, as the audit log and the sign-in throttle know it:
        the client's address, also behind the trusted reverse proxies (``forwarded``)."""
        header = self.settings.forwarded_header
        return client_address(
            request.client.host if request.client else None,
            header,
            request.headers.getlist(header),
            self.forwarders,
        )

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
        (only from a configured proxy address, and only for the account mapped to that
        identity). Through the proxy, a page asked for without a session signs in (one
        session, set as a cookie); other requests act without one, and a write then
        fails its CSRF check until a page has been loaded."""
        now = datetime.now(UTC)
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            token = await self.store.token(bearer[7:].strip(), now, self.address(request))
            if token is None:
                return None
            return Principal(token.label, Role(token.role), None, f"token:{token.id}")
        subject = self.sso_subject(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            session = await self.store.session(cookie, now)
            if session is not None and subject in (None, session.name):
                return Principal(session.name, Role(session.role), session.csrf)
        account = await self.store.account_by_sso(subject) if subject else None
        if account is None:
            return None
        if request.method == "GET" and not request.url.path.startswith("/api/"):
            secret, csrf = await self.new_session(account.name)
            request.state.new_session = secret
            return Principal(account.name, Role(account.role), csrf)
        return Principal(account.name, Role(account.role), secrets.token_urlsafe(32))

    def sso_subject(self, request: Request) -> str | None:
        """The identity the trusted proxy vouches for; a header given twice is refused
        (which one would the proxy have meant?)."""
        if not self.from_proxy(request):
            return None
        assert self.settings.sso_header is not None
        given = request.headers.getlist(self.settings.sso_header)
        if len(given) > 1:
            header = self.settings.sso_header
            raise HttpProblem(400, problem("auth.sso_repeated", header=header))
        return given[0].strip() if given and given[0].strip() else None

    async def record(
        self, who: Principal, request: Request, action: str, reference: str | None
    ) -> None:
        await self.store.audit(
            AuditEntry(
                at=datetime.now(UTC),
                actor=who.name,
                role=who.role.value,
                action=action,
                reference=reference,
                address=self.address(request),
            )
        )


def check_csrf(who: Principal, sent: str | None) -> None:
    """A browser's write must carry its session's CSRF token (header or form field)."""
    if who.csrf is None:
        return
    if sent is None or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
        raise HttpProblem(403, problem("auth.csrf"))
