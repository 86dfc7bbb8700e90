"""A local SMTP server that keeps every message as an .eml file: the embedded default."""

from __future__ import annotations

import itertools
import socket
import time
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session


class OutboxHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._sequence = itertools.count()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in mail_key(content))[:120]
        name = f"{time.time_ns()}-{next(self._sequence):06d}-{safe}.eml"
        (self.folder / name).write_bytes(content)
        return "250 Message accepted for delivery"


def mail_key(content: bytes) -> str:
    """The message's X-Breachclock-Key as it was set: a long key comes folded onto a
    second line ("X-Breachclock-Key: \\n INC-…"), or as RFC 2047 encoded words, and
    read raw that became a file name starting "___" or "_utf-8_q_"."""
    try:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(content)
        key = str(headers.get("X-Breachclock-Key", "")).strip()
    except (ValueError, TypeError, IndexError):  # a header the parser cannot make sense of
        key = ""
    return key or "message"


class Outbox:
    """Runs the outbox on 127.0.0.1 in a thread of its own, as aiosmtpd does."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.controller = Controller(OutboxHandler(folder), hostname="127.0.0.1", port=port)

    def __enter__(self) -> Outbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return int(self.controller.port)


def free_port() -> int:
    """A loopback port nobody listens on now (aiosmtpd cannot bind port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
