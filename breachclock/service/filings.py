"""Every filing as it was sent: the mail's bytes that the relay took, kept sealed with
the record of the send (``RecordStore.copy_of``), read back as a person checks it: the
headers, the text, the JSON and the PDF, each exactly as they went."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from breachclock.domain.incident.model import Filing
from breachclock.domain.incident.report import filing_key
from breachclock.service.engine import Engine, Refused


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes


@dataclass(frozen=True)
class SentFiling:
    """A filing's mail as sent; ``raw`` is None when no copy was kept (sent before
    copies were kept, or deleted once the incident's retention passed)."""

    filing: Filing
    raw: bytes | None
    headers: dict[str, str]
    """From, To, Date, Subject, Message-ID as the mail gave them."""
    body: str
    json: Attachment | None
    pdf: Attachment | None


HEADERS = ("From", "To", "Date", "Subject", "Message-ID")


async def sent_filing(engine: Engine, reference: str, number: int) -> SentFiling:
    """Filing ``number`` of ``reference`` as it was sent."""
    state = await engine.state(reference)
    filing = next((f for f in state.filings if f.number == number), None)
    if filing is None:
        raise Refused.of("filing.unknown", "number", reference=reference, number=number)
    async with engine.records() as store:
        raw = await store.copy_of(filing_key(reference, number))
    if raw is None:
        return SentFiling(filing, None, {}, "", None, None)
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    text = mail.get_body(("plain",))
    found = {
        part.get_content_type(): Attachment(part.get_filename() or "", part.get_content())
        for part in mail.iter_attachments()
    }
    return SentFiling(
        filing,
        raw,
        {name: str(mail[name]) for name in HEADERS if mail[name] is not None},
        text.get_content() if text is not None else "",
        found.get("application/json"),
        found.get("application/pdf"),
    )
