"""Sending a filing or a page once per business key.

The key's one ledger row decides: an attempt first takes the key's lease, which the
store grants in one statement only if the key is neither recorded as sent nor held by
another attempt, and the row records the send after the relay accepted the message: for a regulator's filing a lost mail is worse than a second copy, so the
one window left (a worker dying between the relay's acceptance and the ledger
write) resends, and the Message-ID, derived from the key, lets the receiving side
recognise the copy. While one attempt sends, it holds a lease on the key, so a
second attempt of the same key (a zombie whose worker was presumed dead, a run
that continued as new while the first still ran) waits instead of sending too.

A relay's permanent refusal (5xx) fails the send for good (``MailRefused``, not
retried): retrying cannot change it, and the workflow decides what follows.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.utils import format_datetime, getaddresses
from functools import lru_cache
from typing import Any

import aiosmtplib
import structlog
from opentelemetry.trace import NoOpTracer, SpanKind, Tracer
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.api import Receipt
from activities.smtp_commit import reply
from breachclock.runtime.config import Settings
from breachclock.runtime.store.records import Kept, RecordStore

log = structlog.get_logger(__name__)


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


def relay_for(settings: Settings, outbox_port: int | None = None) -> SmtpRelay:
    return SmtpRelay(
        host=settings.smtp_host or "127.0.0.1",
        port=outbox_port or settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        implicit_tls=settings.smtp_implicit_tls,
        sender=settings.mail_from,
    )


LEASE = timedelta(minutes=3)
"""How long one attempt holds a key while it sends: longer than an attempt may run
(two minutes), so a second attempt only sends once the first is surely over."""
REFUSED = "MailRefused"
"""The ``ApplicationError`` type of a permanent refusal."""


class KeyBusy(Exception):
    """Another attempt is sending this key now; Temporal retries this one shortly."""


def message_id(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@breachclock>"


class Mailer:
    """``tracer``: the send is a span in the activity's trace (see ``telemetry.client_tracer``)."""

    def __init__(self, relay: SmtpRelay, store: RecordStore, tracer: Tracer | None = None) -> None:
        self.relay = relay
        self.store = store
        self.tracer = tracer or NoOpTracer()

    async def send_once(
        self,
        key: str,
        message: EmailMessage | Awaitable[EmailMessage],
        wait: float = 0.0,
        keep: str | None = None,
    ) -> Receipt:
        """Send ``message`` unless ``key`` was sent (then its recorded receipt, marked a
        duplicate). While another attempt holds the key, poll for up to ``wait`` seconds
        (a request that has no Temporal to retry it), then raise ``KeyBusy``. ``keep``:
        the incident under which the message's bytes, as they went, are kept with the
        record of the send (a filing).

        ``message`` may still be in the making (a filing whose documents are being laid
        out, which an approval waits for): the key is leased and the relay's connection
        opened meanwhile, and nothing is sent before it is made. A key found sent, or a
        relay that cannot be reached, stops the making."""
        made = message if isinstance(message, EmailMessage) else asyncio.ensure_future(message)
        deadline = time.monotonic() + wait
        pause = 0.02
        try:
            while True:
                try:
                    return await self._send_once(key, made, keep)
                except KeyBusy:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise
                    await asyncio.sleep(min(pause, left))
                    pause = min(pause * 2, 0.5)
        finally:
            if isinstance(made, asyncio.Future):
                settle(made)

    async def _send_once(
        self, key: str, made: EmailMessage | asyncio.Future[EmailMessage], keep: str | None
    ) -> Receipt:
        holder = attempt_name()
        if not await self.store.lease(key, holder, datetime.now(UTC), LEASE):
            recorded = await self.store.sent(key)
            if recorded is not None:
                log.info("mail.already_sent", key=key)
                return Receipt.model_validate({**recorded, "duplicate": True})
            raise KeyBusy(f"another attempt is sending {key}; trying again shortly")
        try:
            with self.tracer.start_as_current_span(
                "SmtpSend",
                kind=SpanKind.CLIENT,
                attributes={
                    "breachclock.key": key,
                    "server.address": self.relay.host,
                    "server.port": self.relay.port,
                },
            ) as span:
                message, raw = await self._deliver(key, made)
                recipients = len(getaddresses(message.get_all("To", [])))
                span.set_attribute("breachclock.recipients", recipients)
        except BaseException:
            await self.store.release(key, holder)
            raise
        receipt = Receipt(
            key=key,
            message_id=message["Message-ID"],
            sent_at=datetime.now(UTC),
            recipients=recipients,
        )
        first = await self.store.record_sent(
            key,
            receipt.message_id,
            receipt.sent_at,
            receipt.model_dump(mode="json"),
            Kept(keep, raw) if keep else None,
        )
        if not first:
            log.warning("mail.sent_concurrently", key=key)
        log.info("mail.sent", key=key, recipients=receipt.recipients)
        return receipt

    async def _deliver(
        self, key: str, made: EmailMessage | asyncio.Future[EmailMessage]
    ) -> tuple[EmailMessage, bytes]:
        """Connect to the relay, then hand it the message once made, stamped for ``key``:
        the message, and the bytes the relay took."""
        client = Capturing(**smtp_options(self.relay), local_hostname=await ehlo_name())
        try:
            async with client:
                message = made if isinstance(made, EmailMessage) else await made
                stamp(message, key, self.relay.sender)
                await client.send_message(message)
            return message, client.sent
        except aiosmtplib.SMTPRecipientsRefused as err:
            codes = {e.code for e in err.recipients}
            if all(code >= 500 for code in codes):
                why = ", ".join(sorted({reply(e.code, e.message) for e in err.recipients}))
                raise refused(f"the relay refused every recipient ({why})") from None
            raise
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as err:
            if err.code >= 500:
                raise refused(
                    f"the relay refused the message ({reply(err.code, err.message)})"
                ) from None
            raise


class Capturing(aiosmtplib.SMTP):
    """An SMTP client that remembers the bytes of the message it sent, as the relay
    took them (serialised for that relay's extensions, without Bcc)."""

    sent = b""

    async def sendmail(
        self, sender: str, recipients: str | Sequence[str], message: str | bytes, **kw: Any
    ) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
        self.sent = message.encode() if isinstance(message, str) else message
        return await super().sendmail(sender, recipients, message, **kw)


def refused(message: str) -> ApplicationError:
    return ApplicationError(message, type=REFUSED, non_retryable=True)


def settle(made: asyncio.Future[EmailMessage]) -> None:
    """A message in the making that was not sent: stop it, or take its error (so that
    it is not reported as never retrieved; the send's own outcome is what counts)."""
    if not made.done():
        made.cancel()
    elif not made.cancelled():
        made.exception()


_ehlo_name: str | None = None


async def ehlo_name() -> str:
    """The name this host gives in EHLO: the machine's full name, looked up once (on a
    thread: it may ask the DNS). aiosmtplib otherwise looks it up on a thread for every
    connection, a hop each mail waited for."""
    global _ehlo_name
    if _ehlo_name is None:
        _ehlo_name = await asyncio.to_thread(socket.getfqdn)
    return _ehlo_name


def attempt_name() -> str:
    """This activity attempt, as a lease holder; a random name outside an activity."""
    if activity.in_activity():
        info = activity.info()
        return f"{info.workflow_run_id}:{info.activity_id}:{info.attempt}"
    return os.urandom(8).hex()


def sent_date() -> str:
    """The Date header: the engine's clock when this attempt was scheduled, so a mail's
    date agrees with the times its body gives where the engine's clock is not the wall's
    (the demo and tests on the time-skipping server); the wall clock outside an activity.
    A local activity's attempt is scheduled by the worker's clock: a mail that must agree
    with the engine's there (a filing) comes dated by the sender."""
    if activity.in_activity():
        return _date(activity.info().current_attempt_scheduled_time)
    return format_datetime(datetime.now(UTC))


@lru_cache(maxsize=64)
def _date(when: datetime) -> str:
    """An attempt's Date, formatted once for all the mails it sends."""
    return format_datetime(when)


def stamp(message: Message, key: str, sender: str) -> None:
    """The headers every breachclock mail carries; the Message-ID follows from the key.

    A message built with its own From (a notice, sent in the operator's name) or Date (a
    filing, dated when it was drafted, as its cover says) keeps it."""
    message["Message-ID"] = message_id(key)
    if message["From"] is None:
        message["From"] = sender
    if message["Date"] is None:
        message["Date"] = sent_date()
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
