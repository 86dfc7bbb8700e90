"""Signing in with a password: throttled before the password is checked, checked off the
event loop, and every outcome in the audit log.

A try is claimed from the account's and the client address's counts first
(``runtime.store.throttle``): a locked key, or one whose tries are all in flight, is
refused without an argon2 check, so a flood of guesses costs the engine almost nothing
and a correct password during a lock is refused like a wrong one. The audit log gets
the sign-in and the failure, each in the transaction that counts it, and the lock (who,
when, from where; the name only when it is an account's, since a name typed may be a
misplaced password; never the password).
"""

from __future__ import annotations

from datetime import UTC, datetime

from breachclock.domain.problems import problem
from breachclock.runtime import offload
from breachclock.runtime.store.accounts import Account, AccountStore, AuditEntry, audit_statement
from breachclock.runtime.store.throttle import Throttle
from breachclock.service.accounts import password_ok
from breachclock.service.engine import Refused

BUSY_WAIT = 5
"""Seconds to wait when the hashes already queued are as many as may wait."""
UNKNOWN_ACTOR = "?"
"""The actor of a failed sign-in with a name no account has."""


class Throttled(Refused):
    """Too many tries: refused until ``retry_after`` seconds have passed."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(problem("auth.throttled", seconds=retry_after))
        self.retry_after = retry_after


async def sign_in(
    store: AccountStore, throttle: Throttle, name: str, password: str, address: str
) -> Account | None:
    """The account ``name`` names if ``password`` is its password; None for a wrong name
    or password; ``Throttled`` while the account or the address is out of tries."""
    account_key, address_key = keys = throttle.keys(name, address)
    if not await throttle.claim(keys, datetime.now(UTC)):
        raise Throttled(await throttle.wait(keys, datetime.now(UTC)))
    account = await store.account(name)
    if offload.low_thread_full():  # a flood from many places: refuse, do not queue
        await throttle.give_back(keys)
        raise Throttled(BUSY_WAIT)
    ok = await offload.in_low_thread(password_ok, account, password)  # argon2, off the loop
    now = datetime.now(UTC)
    if ok and account is not None:
        signed = entry(account, "audit.sign_in", address, now)
        await throttle.succeeded(account_key, (address_key,), [audit_statement(signed)])
        return account
    failed = entry(account, "audit.sign_in.failed", address, now)
    if await throttle.failed(keys, now, [audit_statement(failed)]):
        await store.audit(entry(account, "audit.sign_in.locked", address, now))
    return None


def entry(account: Account | None, action: str, address: str, now: datetime) -> AuditEntry:
    return AuditEntry(
        at=now,
        actor=account.name if account else UNKNOWN_ACTOR,
        role=account.role if account else "",
        action=action,
        reference=None,
        address=address,
    )
