"""The console and API in a process of their own beside the engine (``make run``).

Served on the engine's event loop, the web stalled it: twenty sign-ins at once (argon2,
even on a thread of its own: the GIL, and two cores) made the timers' and activities'
p95 three to six times idle. In a process of its own, at a lower priority (``NICENESS``),
the kernel gives the engine the CPU first, and the web's work waits instead.

The engine supervises it: starts it (on the engine's settings, wherever they came from),
waits until it answers (``START_WITHIN``), asks it every ``CHECK_EVERY`` whether it
still does, starts it again when it dies or stops answering (after ``FIRST_DELAY``, twice as long each time in
a row up to ``LONGEST_DELAY``), and stops it when the engine stops. Its process id is in
the engine's record of children (``engine_lock``): after a ``kill -9`` of the engine, the
next ``run`` or ``stop`` ends it. It has a session of its own, so a Ctrl-C in the terminal
reaches the engine alone, which stops it (a console that stopped by itself meanwhile
would be started again).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable

from breachclock.runtime import engine_lock
from breachclock.runtime.config import Settings

WHAT = "console and API"
NICENESS = 5
"""How much nicer than the engine the console runs: the engine is served first when both
want a core."""
START_WITHIN = 90.0
"""Seconds a console has to answer after it starts (imports, the accounts store)."""
CHECK_EVERY = 10.0
CHECK_TIMEOUT = 5.0
MISSES = 3
"""Checks in a row it may miss (busy hashing, on a loaded machine) before it is taken
for stuck and killed."""
FIRST_DELAY = 1.0
LONGEST_DELAY = 30.0
STEADY = 60.0
"""A console that ran this long before it died is started again after ``FIRST_DELAY``."""
STOP_WITHIN = 10.0


def loopback(settings: Settings) -> str:
    """Where the engine reaches the console: its address, or loopback where it listens
    on every address."""
    host = settings.http_host
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    return "::1" if host == "::" else host


async def sign_in_page_answers(host: str, port: int) -> bool:
    """GET /login answered 200 within ``CHECK_TIMEOUT`` (as a readiness probe asks; one
    plain request, logged by nobody: a check every ten seconds is no news)."""
    writer = None
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(
                f"GET /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
            )
            status = await reader.readline()
        return status.split(b" ")[1:2] == [b"200"]
    except (OSError, TimeoutError):
        return False
    finally:
        if writer is not None:
            writer.close()


class Console:
    """One console process at a time, on ``settings``; ``say`` prints a line for people."""

    def __init__(self, settings: Settings, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.say = say
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the console process, recorded as the engine's child, at lower priority."""
        env = {
            **os.environ,
            **self.settings.environment(),
            # The engine's Temporal (its own dev server, or the cluster).
            "TEMPORAL_ADDRESS": self.settings.address,
        }
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "breachclock.web", env=env, start_new_session=True
        )
        pid = self.process.pid
        # Right after exec, before the interpreter has started a thread: every thread it
        # starts takes the main thread's niceness.
        with contextlib.suppress(OSError):
            os.setpriority(
                os.PRIO_PROCESS, pid, min(os.getpriority(os.PRIO_PROCESS, 0) + NICENESS, 19)
            )
        engine_lock.record_children(self.settings.data_dir, WHAT, [pid])

    async def answers(self) -> bool:
        """The console answered its sign-in page (as a readiness probe asks it)."""
        return await sign_in_page_answers(loopback(self.settings), self.settings.http_port)

    async def ready(self, within: float = START_WITHIN) -> bool:
        """Wait until the console answers; False if it exits or ``within`` s pass first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if self.process is None or self.process.returncode is not None:
                return False
            if await self.answers():
                return True
            await asyncio.sleep(0.2)
        return False

    async def watch(self) -> str:
        """Until the console dies, or does not answer after its start or later (then it
        is killed); what happened."""
        assert self.process is not None
        process = self.process
        exited = asyncio.ensure_future(process.wait())
        try:
            if not await self.ready():
                if process.returncode is not None:
                    return f"exited with status {process.returncode}"
                process.kill()
                await process.wait()
                return f"did not answer within {START_WITHIN:.0f} s of its start and was killed"
            misses = 0
            while True:
                done, _ = await asyncio.wait({exited}, timeout=CHECK_EVERY)
                if done:
                    return f"exited with status {process.returncode}"
                misses = 0 if await self.answers() else misses + 1
                if misses >= MISSES:
                    process.kill()
                    await process.wait()
                    return f"did not answer {MISSES} checks in a row and was killed"
        finally:
            exited.cancel()

    async def supervise(self) -> None:
        """Start the console again each time it dies, for as long as the engine runs."""
        loop = asyncio.get_running_loop()
        delay = FIRST_DELAY
        while True:
            began = loop.time()
            assert self.process is not None
            pid = self.process.pid
            what = await self.watch()
            engine_lock.forget_children(self.settings.data_dir, [pid])
            if loop.time() - began > STEADY:
                delay = FIRST_DELAY
            self.say(f"The {WHAT} (pid {pid}) {what}; starting it again in {delay:.0f} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, LONGEST_DELAY)
            await self.start()

    async def stop(self) -> None:
        """Stop the console (SIGTERM, as ``make stop``; SIGKILL after ``STOP_WITHIN``)."""
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_WITHIN)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        engine_lock.forget_children(self.settings.data_dir, [process.pid])


def say(line: str) -> None:
    print(line, flush=True)


@contextlib.asynccontextmanager
async def console_process(settings: Settings) -> AsyncIterator[None]:
    """The console's process, started and supervised while inside
    (``BREACHCLOCK_HTTP_PORT``; 0: none). Nothing waits for it: the worker's timers do
    not wait for a page; it says ``Console and API: …`` when it listens."""
    if not settings.http_port:
        yield
        return
    console = Console(settings, say)
    supervisor = None
    try:
        await console.start()
        supervisor = asyncio.create_task(console.supervise())
        yield
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await console.stop()
