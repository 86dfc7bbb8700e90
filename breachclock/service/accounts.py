"""Accounts and API tokens, as a manager keeps them: create, change a role, disable,
revoke. The HTTP API and the console call these, over the app's one accounts store.

Roles:

- ``manager``: everything;
- ``oncall``: read, record discovery and events (and acknowledge pages);
- ``agent``: only the call worklist, the call they hold;
- ``auditor``: read everything, change nothing;
- ``intake``: only the monitoring intake (Alertmanager's webhook), for a token.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from breachclock.domain.problems import problem
from breachclock.runtime import offload
from breachclock.runtime.store.accounts import Account, AccountStore, Token
from breachclock.service.engine import Refused


class Role(StrEnum):
    MANAGER = "manager"
    ONCALL = "oncall"
    AGENT = "agent"
    AUDITOR = "auditor"
    INTAKE = "intake"


HASHER = PasswordHasher()
UNKNOWN_HASH = HASHER.hash(secrets.token_urlsafe(16))
"""Checked against when the name is unknown, so a wrong name costs what a wrong password does."""


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_ok(account: Account | None, password: str) -> bool:
    """The password is the account's, and the account may sign in with one."""
    try:
        HASHER.verify(
            account.password_hash if account and account.password_hash else UNKNOWN_HASH,
            password,
        )
    except (VerificationError, InvalidHashError):
        return False
    return account is not None and account.password_hash is not None and not account.disabled


async def create_account(
    store: AccountStore,
    name: str,
    role: Role,
    now: datetime,
    *,
    password: str | None = None,
    sso: str | None = None,
) -> str | None:
    """A new account; signed in through single sign-on as ``sso``, else with ``password``
    (made here when not given, and returned to be shown once)."""
    made = None if sso or password else secrets.token_urlsafe(12)
    given = password or made
    hashed = await offload.in_low_thread(hash_password, given) if given else None  # off the loop
    account = Account(name=name, role=role, password_hash=hashed, sso=sso)
    if not await store.add_account(account, now):
        raise Refused(problem("account.exists", "name", name=name))
    return made


async def set_role(store: AccountStore, name: str, role: Role, by: str) -> None:
    """Another role for an account; never one's own, and never the last enabled
    manager's (the deployment would have no one to keep it)."""
    if name == by:
        raise Refused(problem("account.self", "role"))
    if not await store.set_role(name, role, Role.MANAGER):
        raise await _why_not(store, name, "role")


async def disable_account(store: AccountStore, name: str, by: str, now: datetime) -> None:
    """Disable an account: its sessions end and its tokens stop at once. Disabling one
    already disabled is the same (done once); one's own, or the last enabled manager,
    is refused."""
    if name == by:
        raise Refused(problem("account.self", "name"))
    if not await store.disable(name, now, Role.MANAGER):
        found = await store.account(name)
        if found is None or not found.disabled:
            raise await _why_not(store, name, "name")


async def enable_account(store: AccountStore, name: str) -> None:
    """Let a disabled account sign in again; the sessions and tokens that stopped when it
    was disabled stay stopped. Enabling one already enabled is the same."""
    if not await store.enable(name) and await store.account(name) is None:
        raise Refused(problem("account.unknown", "name", name=name))


async def _why_not(store: AccountStore, name: str, field: str) -> Refused:
    """Why the store left an account as it was, after its statement decided: unknown,
    or the last enabled manager."""
    if await store.account(name) is None:
        return Refused(problem("account.unknown", "name", name=name))
    return Refused(problem("account.last_manager", field, name=name))


async def create_token(
    store: AccountStore,
    label: str,
    role: Role,
    owner: str | None,
    now: datetime,
    valid_for: timedelta | None = None,
) -> tuple[str, str]:
    """A new API token: (its id, its secret; the secret is shown once and never kept).
    Its ``owner`` is an enabled account: the token stops when that account is disabled."""
    if owner is not None:
        found = await store.account(owner)
        if found is None or found.disabled:
            raise Refused(problem("account.unknown", "owner", name=owner))
    secret = secrets.token_urlsafe(32)
    expires = now + valid_for if valid_for else None
    token_id = await store.add_token(secret, label, role, now, owner=owner, expires=expires)
    return token_id, secret


async def revoke_token(store: AccountStore, token_id: str, now: datetime) -> None:
    if not await store.revoke_token(token_id, now):
        raise Refused(problem("token.unknown", "id", id=token_id))


async def tokens(store: AccountStore) -> list[Token]:
    return await store.tokens()


async def accounts(store: AccountStore) -> list[Account]:
    return await store.all_accounts()
