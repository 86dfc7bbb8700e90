"""``python -m breachclock.web``: the API and console as a process of their own (a
cluster deployment), with one Temporal client of their own.

``python -m breachclock.web account NAME ROLE`` adds a person (the password is read
from ``BREACHCLOCK_NEW_PASSWORD``, else made and printed once; an SSO-only account
has none: ``--sso``); ``python -m breachclock.web token LABEL ROLE`` makes an API
token for a machine (printed once; only its digest is kept)."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
from datetime import UTC, datetime

from breachclock.runtime.config import Settings, settings_or_exit
from breachclock.runtime.logs import configure
from breachclock.runtime.store import open_account_store
from breachclock.runtime.store.accounts import Account
from breachclock.web.auth import Role, hash_password
from breachclock.web.server import address, serve

USAGE = (
    "usage: python -m breachclock.web [account NAME ROLE [--sso] | token LABEL ROLE]"
    f" (ROLE: {', '.join(r.value for r in Role)})"
)


async def run(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Console and API: {address(settings)}", flush=True)
    await serve(settings, None, stop)


async def add_account(settings: Settings, name: str, role: Role, sso: bool) -> str:
    given = None if sso else os.environ.get("BREACHCLOCK_NEW_PASSWORD")
    made = None if sso or given else secrets.token_urlsafe(12)
    password = given or made
    hashed = hash_password(password) if password else None
    async with open_account_store(settings) as store:
        if not await store.add_account(
            Account(name=name, role=role, password_hash=hashed), datetime.now(UTC)
        ):
            raise SystemExit(f"error: an account {name!r} exists already")
    if made:
        return f"added {name} ({role.value}) with password {made} (shown once)"
    return f"added {name} ({role.value})" + (" for single sign-on" if sso else "")


async def add_token(settings: Settings, label: str, role: Role) -> str:
    secret = secrets.token_urlsafe(32)
    async with open_account_store(settings) as store:
        await store.add_token(secret, label, role, datetime.now(UTC))
    return f"token for {label} ({role.value}), shown once: {secret}"


def main(args: list[str]) -> None:
    settings = settings_or_exit()
    if not args:
        configure()
        asyncio.run(run(settings))
        return
    try:
        command, name, role_name, *rest = args
        role = Role(role_name)
    except ValueError:
        raise SystemExit(USAGE) from None
    if command == "account" and rest in ([], ["--sso"]):
        print(asyncio.run(add_account(settings, name, role, rest == ["--sso"])))
    elif command == "token" and not rest:
        print(asyncio.run(add_token(settings, name, role)))
    else:
        raise SystemExit(USAGE)


if __name__ == "__main__":
    main(sys.argv[1:])
