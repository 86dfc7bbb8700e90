"""Sending one e-mail so that it is delivered at most once, whatever fails or races.

SMTP has no idempotency: the relay takes the message when it reads the line with
the lone ".", and answers 250 after. A sender that records "sent" only on the 250
(as the regulator filings do) resends if it dies between the two: RFC 1047's
duplicate window, which grows with load. For a campaign whose worker may be killed
at any moment, or whose round may run twice at once (a zombie after a heartbeat
timeout, a run that continued as new), the order is turned round:

1. MAIL, RCPT, DATA and the whole message body, but not the final ".";
2. wait until the body has left this process (the transport's buffer is empty);
3. ``commit()``: claim the e-mail's key in the store (with the person's new status);
4. if the claim was won, write the final "." at once, then read the answer; if it
   was lost (another attempt holds the key, or the person moved on), drop the
   connection instead, so the relay discards the unfinished message.

Dying before 3: the relay drops the unfinished message, the retry sends it once.
Dying after 4: recorded and delivered. Dying between 3 and 4 would lose it. With
SQLite that window is a few microseconds: the claim commits on this thread with no
await in between, and no checkpoint runs inside its COMMIT (``SqliteFile``; one did,
for milliseconds or more, and a SIGKILL test on a loaded machine lost a notice, most
likely there). With PostgreSQL it is the commit's answer crossing the loopback and
one turn of the event loop. Either is orders of magnitude smaller than the window it
replaces, and cancellation cannot fall into it (the two steps are shielded). The
answer says what happened to this one recipient, so one bad address never fails the
others: ``Refused`` (for good: a letter), ``Deferred`` (try later), or delivered. A
fault of the connection itself raises.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache

import aiosmtplib
from aiosmtplib.email import quote_address

ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})")


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class Refused:
    """The relay will never take this message for this recipient."""

    reason: str
    claimed: bool = False
    """The refusal came after the claim (to the "."): the caller corrects its record."""


@dataclass(frozen=True)
class Deferred:
    """The relay asks to try later (greylisting, a full mailbox, a busy path)."""

    reason: str
    claimed: bool = False
    """The deferral came after the claim (to the "."): the caller undoes its record."""


@dataclass(frozen=True)
class LostClaim:
    """Another attempt holds the key, or the person no longer needs this e-mail."""


@dataclass(frozen=True)
class Unconfirmed:
    """Claimed and the "." written, but the answer never came (the connection broke):
    most likely delivered; not sent again, and recorded as such."""

    reason: str


Outcome = Delivered | Refused | Deferred | LostClaim | Unconfirmed


def reply(code: int, message: str) -> str:
    """A relay's answer as a reason to record: the code and the enhanced status only.
    The text after them often quotes the address, which must not reach the store."""
    enhanced = ENHANCED.match(message or "")
    return f"{code} {enhanced.group(1)}" if enhanced else str(code)


async def _finish(
    smtp: aiosmtplib.SMTP, commit: Callable[[], Awaitable[bool]]
) -> aiosmtplib.SMTPResponse | LostClaim | Unconfirmed:
    """Steps 3 and 4: the claim, then the "." (or the dropped connection) and its answer."""
    protocol = smtp.protocol
    if not await commit():
        smtp.close()  # mid-DATA: closing is the only way to abandon the message
        return LostClaim()
    assert protocol is not None
    try:
        return await protocol.execute_command(b".")  # writes before its first suspension
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as err:
        smtp.close()
        return Unconfirmed(f"no answer to the end of the message ({type(err).__name__})")


@lru_cache(maxsize=16)
def path(sender: str, encoding: str) -> bytes:
    """The sender as MAIL FROM carries it (``<address>``), parsed once per relay."""
    return quote_address(sender).encode(encoding)


async def send_committed(
    smtp: aiosmtplib.SMTP,
    data: bytes,
    sender: str,
    recipient: str,
    commit: Callable[[], Awaitable[bool]],
) -> Outcome:
    """Send ``data`` (the message as DATA carries it, dots doubled, ending in CRLF) to one
    recipient, claiming it just before the relay can take it. ``recipient`` is a bare
    address, as a list's addresses are once validated: MAIL and RCPT are written here,
    not by ``aiosmtplib``, whose parsing of both addresses on every message took a
    twentieth of a campaign's e-mail round.

    ``commit`` claims the key and says whether this attempt won. After ``Delivered``
    the caller has nothing left to do; a ``claimed`` refusal or deferral it must set
    right in its record (the relay did not take the message it recorded as sent)."""
    utf8 = not (recipient.isascii() and sender.isascii())
    if smtp.is_ehlo_or_helo_needed:
        await smtp.ehlo()
    if utf8 and not smtp.supports_extension("smtputf8"):
        return Refused("the relay does not take internationalised addresses (no SMTPUTF8)")
    encoding = "utf-8" if utf8 else "ascii"
    options = [b"SMTPUTF8"] if utf8 else []
    taken = await smtp.execute_command(b"MAIL", b"FROM:" + path(sender, encoding), *options)
    if taken.code != 250:
        raise aiosmtplib.SMTPSenderRefused(taken.code, taken.message, sender)
    to = await smtp.execute_command(b"RCPT", b"TO:<" + recipient.encode(encoding) + b">")
    if to.code not in (250, 251):
        await smtp.rset()
        why = reply(to.code, to.message)
        if to.code >= 500:
            return Refused(f"the relay refused the address ({why})")
        return Deferred(f"the relay deferred the address ({why})")
    start = await smtp.execute_command(b"DATA")
    if start.code != 354:
        await smtp.rset()
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol = smtp.protocol
    transport = protocol.transport if protocol is not None else None
    if protocol is None or transport is None:
        raise aiosmtplib.SMTPServerDisconnected("connection lost before the message")
    protocol.write(data)
    while transport.get_write_buffer_size():  # type: ignore[attr-defined]  # noqa: ASYNC110 - a transport has no "drained" event to wait on
        await asyncio.sleep(0.001)
    # Shielded: a cancellation (the round handed over, the worker stopping) waits for
    # the claim and the "." so that a claimed e-mail is never left unsent.
    finishing = asyncio.ensure_future(_finish(smtp, commit))
    try:
        answer = await asyncio.shield(finishing)
    except asyncio.CancelledError:
        await finishing
        raise
    if isinstance(answer, LostClaim | Unconfirmed):
        return answer
    if answer.code == 250:
        return Delivered()
    why = reply(answer.code, answer.message)
    if answer.code >= 500:
        return Refused(f"the relay refused the message ({why})", claimed=True)
    return Deferred(f"the relay deferred the message ({why})", claimed=True)
