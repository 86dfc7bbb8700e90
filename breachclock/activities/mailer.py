"""Sending mail exactly once per business key.

The ledger is checked before sending and written after the relay accepted the
message. The Message-ID is derived from the key, so in the narrow window where a
worker dies between the relay's acceptance and the ledger write, the resend
carries the same Message-ID and the receiving side can recognise it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.utils import format_datetime, getaddresses
from typing import Any

import aiosmtplib
import structlog
from opentelemetry.trace import NoOpTracer, SpanKind, Tracer
from pydantic import BaseModel

from breachclock.store import RecordStore

log = structlog.get_logger(__name__)


class Receipt(BaseModel):
    key: str
    message_id: str
    sent_at: datetime
    recipients: int
    duplicate: bool = False
    """True when the key had been sent before: this call sent nothing."""


class SmtpRelay(BaseModel):
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    sender: str

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def message_id(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@breachclock>"


class Mailer:
    """``tracer``: the send is a span in the activity's trace (see ``telemetry.client_tracer``)."""

    def __init__(self, relay: SmtpRelay, store: RecordStore, tracer: Tracer | None = None) -> None:
        self.relay = relay
        self.store = store
        self.tracer = tracer or NoOpTracer()

    async def send_once(self, key: str, message: EmailMessage) -> Receipt:
        recorded = await self.store.sent(key)
        if recorded is not None:
            log.info("mail.already_sent", key=key)
            return Receipt.model_validate({**recorded, "duplicate": True})
        stamp(message, key, self.relay.sender)
        recipients = getaddresses(message.get_all("To", []))
        with self.tracer.start_as_current_span(
            "SmtpSend",
            kind=SpanKind.CLIENT,
            attributes={
                "breachclock.key": key,
                "breachclock.recipients": len(recipients),
                "server.address": self.relay.host,
                "server.port": self.relay.port,
            },
        ):
            await self._deliver(message)
        receipt = Receipt(
            key=key,
            message_id=message["Message-ID"],
            sent_at=datetime.now(UTC),
            recipients=len(recipients),
        )
        first = await self.store.record_sent(
            key, receipt.message_id, receipt.sent_at, receipt.model_dump(mode="json")
        )
        if not first:
            # Another worker sent this key at the same time and recorded it first; the
            # Message-ID is the same, so the receiving side can drop the second copy.
            log.warning("mail.sent_concurrently", key=key)
        log.info("mail.sent", key=key, recipients=receipt.recipients)
        return receipt

    async def _deliver(self, message: EmailMessage) -> None:
        await aiosmtplib.send(message, **smtp_options(self.relay))


def stamp(message: Message, key: str, sender: str) -> None:
    """The headers every breachclock mail carries; the Message-ID follows from the key.

    A message built with its own From (a notice, sent in the operator's name) keeps it."""
    message["Message-ID"] = message_id(key)
    if message["From"] is None:
        message["From"] = sender
    message["Date"] = format_datetime(datetime.now(UTC))
    message["X-Breachclock-Key"] = key


def smtp_options(relay: SmtpRelay) -> dict[str, Any]:
    """Connection options for aiosmtplib: TLS (STARTTLS or implicit) to anything but loopback."""
    tls = not relay.is_loopback
    return {
        "hostname": relay.host,
        "port": relay.port,
        "username": relay.username,
        "password": relay.password,
        "use_tls": tls and relay.implicit_tls,
        "start_tls": True if tls and not relay.implicit_tls else None,
        "tls_context": ssl.create_default_context() if tls else None,
        "timeout": 30,
    }
