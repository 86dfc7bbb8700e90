"""The benchmarks' SMTP server on 127.0.0.1, in a process of its own.

A relay is another process in production (Postfix, the operator's MTA). Run on a
thread of the bench's process, the server shared one GIL with the engine's worker and
with the baseline's client: in a profile of campaign (b) it took a quarter of the
process's busy samples, and so counted against both sides of every SMTP ratio.

The server accepts every message and counts it, its size and its business key
(``X-Breachclock-Key``); the bench asks for the counts between phases (``take``)."""

from __future__ import annotations

import multiprocessing
import re
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

KEY_HEADER = re.compile(rb"^X-Breachclock-Key:[ \t]*(\S+)", re.MULTILINE | re.IGNORECASE)
STARTS_WITHIN = 30.0
"""Seconds the server process has to start listening."""


@dataclass
class Tally:
    messages: int = 0
    size: int = 0
    keyless: int = 0
    keys: set[bytes] = field(default_factory=set)


class Counting:
    """The server's handler: accepts every message; one regular expression over the
    bytes finds its key, so counting adds little to what the server costs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tally = Tally()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content or b""
        found = KEY_HEADER.search(content)
        with self._lock:
            self._tally.messages += 1
            self._tally.size += len(content)
            if found:
                self._tally.keys.add(found.group(1))
            else:
                self._tally.keyless += 1
        return "250 OK"

    def take(self) -> Tally:
        """What arrived since the last ``take``."""
        with self._lock:
            tally, self._tally = self._tally, Tally()
        return tally


def serve(port: int, commands: Connection) -> None:
    """The server process: listens on ``port``, answers ``take`` with the counts, ends
    at ``stop`` or when the bench's end of the pipe closes."""
    counting = Counting()
    controller = Controller(counting, hostname="127.0.0.1", port=port)
    controller.start()
    commands.send("ready")
    try:
        while commands.recv() == "take":
            commands.send(counting.take())
    except EOFError:
        pass
    finally:
        controller.stop()


class SmtpSink:
    """``with SmtpSink(port) as sink``: the server runs until the block ends."""

    def __init__(self, port: int) -> None:
        self.port = port
        context = multiprocessing.get_context("spawn")  # no copy of the bench's threads
        self._commands, theirs = context.Pipe()
        self._process = context.Process(target=serve, args=(port, theirs), daemon=True)

    def __enter__(self) -> SmtpSink:
        self._process.start()
        if not self._commands.poll(STARTS_WITHIN) or self._commands.recv() != "ready":
            self._process.kill()
            raise RuntimeError(f"the bench's SMTP server did not start on port {self.port}")
        return self

    def take(self) -> Tally:
        """What the server took since the last ``take``."""
        self._commands.send("take")
        tally: Tally = self._commands.recv()
        return tally

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._commands.send("stop")
        except OSError:
            pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
