"""``make run-sms``: the engine with an SMS gateway beside it, to see SMS go and their
delivery reports come back on one machine.

Kannel's bearerbox and smsbox run in ``<data folder>/kannel`` on loopback, with the fake
SMSC from ``kannel-extras`` standing in for the operator's SMSC: it takes every message
and logs it (``fakesmsc.log``), and bearerbox reports each one delivered to the engine's
``/gateway/sms/dlr``. The report links are signed with a secret made for this start (the
gateway keeps its pending reports in memory, so none outlive it). Everything else is
``make run``'s; Ctrl-C stops the engine, then the gateway.
"""

from __future__ import annotations

import os
import secrets
import shutil

from breachclock.app.engine import run
from breachclock.runtime.config import settings_or_exit
from breachclock.runtime.kannel import Kannel, installed


def main() -> None:
    from breachclock.runtime.logs import configure

    configure()
    settings = settings_or_exit()
    if not installed():
        raise SystemExit("error: Kannel is not installed (Debian packages kannel, kannel-extras)")
    folder = settings.data_dir / "kannel"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    gateway = Kannel(folder).start()
    try:
        os.environ.update(
            {
                "BREACHCLOCK_SMS_URL": gateway.url,
                "BREACHCLOCK_SMS_USERNAME": gateway.USERNAME,
                "BREACHCLOCK_SMS_PASSWORD": gateway.PASSWORD,
                "BREACHCLOCK_SMS_DLR_URL": (
                    f"http://127.0.0.1:{settings.http_port}/gateway/sms/dlr"
                ),
                "BREACHCLOCK_SMS_DLR_SECRET": secrets.token_urlsafe(32),
            }
        )
        print(f"SMS gateway: Kannel sendsms on {gateway.url}")
        print(f"Fake SMSC: every message it takes is logged in {gateway.smsc_log}")
        run(settings_or_exit())
    finally:
        gateway.stop()


if __name__ == "__main__":
    main()
