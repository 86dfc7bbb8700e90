"""The notice e-mail, written straight as the bytes SMTP's DATA carries.

A campaign's e-mail rate is bound by the worker's one Python thread, and the email
package spent most of each notice's CPU on generic work: re-folding every header of
every part, searching for the shortest header encoding, building MIME objects only
to flatten them again. A notice has one fixed shape (text and HTML alternatives,
each base64 in UTF-8), so it is written directly; what is the same for every person
of a campaign (From, the Subject of each language) is encoded once. The result is
an ordinary RFC 5322 / MIME message that any mail client reads.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from functools import lru_cache

from temporalio.exceptions import ApplicationError

from activities.mailer import REFUSED, Mailer, message_id, sent_date
from breachclock.domain.notify.notice import IncidentNotice, Notice, Operator, render_notice
from breachclock.domain.notify.plan import Delivery
from breachclock.domain.notify.subscribers import Subscriber

LEADING_DOT = b"\r\n."


@lru_cache(maxsize=64)
def from_header(name: str, sender: str) -> str:
    """``"Operator name" <sender>`` (a bare address with no name), once per campaign."""
    return formataddr((name, parseaddr(sender)[1] or sender), charset="utf-8")


@lru_cache(maxsize=64)
def subject_header(subject: str) -> str:
    """The Subject encoded and folded knowing its name (no empty first line), once per
    language of a campaign."""
    charset = "us-ascii" if subject.isascii() else "utf-8"
    encoded = Header(subject, charset, header_name="Subject").encode()
    return encoded.replace("\n", "\r\n")


def _part(content_type: str, text: str) -> bytes:
    body = base64.encodebytes(text.encode()).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\n'
        "MIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + body


def notice_wire(notice: Notice, to: str, sender: str, key: str) -> bytes:
    """The notice to ``to`` as DATA carries it: CRLF lines, leading dots doubled, the
    headers every breachclock mail has (Message-ID from ``key``, the key itself), in
    UTF-8 where an internationalised address needs it (SMTPUTF8, RFC 6532)."""
    boundary = f"=_breachclock_{hashlib.sha256(key.encode()).hexdigest()[:24]}"
    headers = [
        f"To: {to}",
        f"From: {from_header(notice.sender_name or '', sender)}",
        *([f"Reply-To: {notice.reply_to}"] if notice.reply_to else []),
        f"Subject: {subject_header(notice.subject)}",
        f"Message-ID: {message_id(key)}",
        f"Date: {sent_date()}",
        f"X-Breachclock-Key: {key}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"',
    ]
    separator = f"--{boundary}\r\n".encode()
    raw = b"".join(
        [
            "\r\n".join(headers).encode(),
            b"\r\n\r\n",
            separator,
            _part("text/plain", notice.text),
            separator,
            _part("text/html", notice.html),
            f"--{boundary}--\r\n".encode(),
        ]
    )
    return raw.replace(LEADING_DOT, b"\r\n..")


class EmailChannel:
    """The e-mail step of a plan (``plan_runner.Channel``): the notice in the person's
    language, once per key through the mailer's ledger. A relay that took the message
    is as far as e-mail reports: delivered; a permanent refusal: failed."""

    at_once = 16
    """Connections to the relay a round opens at once (each send is one)."""

    def __init__(self, mailer: Mailer, incident: IncidentNotice, operator: Operator) -> None:
        self.mailer = mailer
        self.incident = incident
        self.operator = operator

    async def send(self, key: str, person: Subscriber) -> Delivery:
        if person.email is None:
            return Delivery.FAILED
        notice = render_notice(self.incident, person, self.operator)
        message = EmailMessage()
        message["To"] = person.email
        message["From"] = from_header(notice.sender_name or "", self.mailer.relay.sender)
        message["Subject"] = notice.subject
        message.set_content(notice.text)
        message.add_alternative(notice.html, subtype="html")
        try:
            await self.mailer.send_once(key, message)
        except ApplicationError as err:
            if err.type == REFUSED:
                return Delivery.FAILED
            raise
        return Delivery.DELIVERED

    async def statuses(self, keys: Sequence[str]) -> dict[str, Delivery]:
        return dict.fromkeys(await self.mailer.store.sent_among(keys), Delivery.DELIVERED)
