"""``python -m breachclock.web``: the API and console as a process of their own (a
cluster deployment), with one Temporal client of their own.

``python -m breachclock.web account NAME ROLE`` adds a person (the password is read
from ``BREACHCLOCK_NEW_PASSWORD``, else made and printed once; an SSO-only account
has none: ``--sso``); ``python -m breachclock.web token LABEL ROLE`` makes an API
token for a machine (printed once; only its digest is kept)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime

from breachclock.runtime.config import Settings, settings_or_exit
from breachclock.runtime.logs import configure
from breachclock.runtime.store import open_account_store
from breachclock.service import accounts
from breachclock.service.accounts import Role
from breachclock.service.engine import Refused
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
    await serve(settings, None, stop, lambda: listening(settings))


def listening(settings: Settings) -> None:
    """Said once the port takes connections (the engine that started this process, and a
    person, can act on it then)."""
    print(f"Console and API: {address(settings)} (pid {os.getpid()})", flush=True)


async def add_account(settings: Settings, name: str, role: Role, sso: bool) -> str:
    """An account through the service (``--sso``: signed in by the proxy's header as
    ``name``, no password)."""
    given = None if sso else os.environ.get("BREACHCLOCK_NEW_PASSWORD")
    async with open_account_store(settings) as store:
        try:
            made = await accounts.create_account(
                store, name, role, datetime.now(UTC), password=given, sso=name if sso else None
            )
        except Refused:
            raise SystemExit(f"error: an account {name!r} exists already") from None
    if made:
        return f"added {name} ({role.value}) with password {made} (shown once)"
    return f"added {name} ({role.value})" + (" for single sign-on" if sso else "")


async def add_token(settings: Settings, label: str, role: Role) -> str:
    async with open_account_store(settings) as store:
        token_id, secret = await accounts.create_token(store, label, role, None, datetime.now(UTC))
    return f"token {token_id} for {label} ({role.value}), shown once: {secret}"


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
