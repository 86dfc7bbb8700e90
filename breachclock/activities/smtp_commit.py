"""Sending one e-mail so that a killed worker can never send it twice.

SMTP has no idempotency: the relay takes the message when it reads the line with
the lone ".", and answers 250 after. A sender that records "sent" only on the 250
(as the regulator filings do) resends if it dies between the two: RFC 1047's
duplicate window, which grows with load. For a 22,000-person campaign whose
worker may be killed at any moment that window is hit in practice (the kill test
found it), so here the order is turned round:

1. MAIL, RCPT, DATA and the whole message body, but not the final ".";
2. wait until the body has left this process (the transport's buffer is empty);
3. ``commit()``: record the e-mail as sent (with the person's new status);
4. write the final "." at once, then read the answer.

Dying before 3: the relay drops the unfinished message, the retry sends it once.
Dying after 4: recorded and delivered. Dying between 3 and 4 (a few
microseconds with SQLite, no await in between) would lose it; that window is
orders of magnitude smaller than the one it replaces. A refusal of the message
itself (5xx after the ".") is reported to ``refused``; a temporary failure to
``undo`` and raised, so the retry sends again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from email.message import Message
from email.utils import getaddresses, parseaddr

import aiosmtplib
from aiosmtplib.email import flatten_message

LINE_ENDINGS = re.compile(rb"\r\n|\n|\r(?!\n)")
LEADING_DOT = re.compile(rb"(?m)^\.")


def data_block(message: Message) -> bytes:
    """The message as DATA carries it: CRLF lines, leading dots doubled, ending in CRLF."""
    raw = LINE_ENDINGS.sub(b"\r\n", flatten_message(message, cte_type="7bit"))
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    return LEADING_DOT.sub(b"..", raw)


async def send_committed(
    smtp: aiosmtplib.SMTP,
    message: Message,
    commit: Callable[[], Awaitable[object]],
    refused: Callable[[], Awaitable[object]],
    undo: Callable[[], Awaitable[object]],
) -> bool:
    """Send ``message``, committing just before the relay can take it. True when delivered."""
    sender = parseaddr(str(message["From"]))[1]
    recipients = [address for _, address in getaddresses(message.get_all("To", []))]
    await smtp.mail(sender)
    for recipient in recipients:
        try:
            await smtp.rcpt(recipient)
        except aiosmtplib.SMTPRecipientRefused as err:
            await smtp.rset()
            if err.code >= 500:
                await refused()
                return False
            raise
    start = await smtp.execute_command(b"DATA")
    if start.code != 354:
        await smtp.rset()
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol = smtp.protocol
    transport = protocol.transport if protocol is not None else None
    if protocol is None or transport is None:
        raise aiosmtplib.SMTPServerDisconnected("connection lost before the message")
    protocol.write(data_block(message))
    while transport.get_write_buffer_size():  # type: ignore[attr-defined]  # noqa: ASYNC110 - a transport has no "drained" event to wait on
        await asyncio.sleep(0.001)
    await commit()
    answer = await protocol.execute_command(b".")  # writes before its first suspension
    if answer.code == 250:
        return True
    if answer.code >= 500:
        await refused()
        return False
    await undo()
    raise aiosmtplib.SMTPDataError(answer.code, answer.message)
