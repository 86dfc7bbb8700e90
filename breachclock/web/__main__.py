"""``python -m breachclock.web``: the API and console as a process of their own (a
cluster deployment), with one Temporal client of their own."""

from __future__ import annotations

import asyncio
import signal

from breachclock.runtime.config import Settings
from breachclock.runtime.logs import configure
from breachclock.web.server import address, serve


async def main() -> None:
    settings = Settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Console and API: {address(settings)}", flush=True)
    await serve(settings, None, stop)


if __name__ == "__main__":
    configure()
    asyncio.run(main())
