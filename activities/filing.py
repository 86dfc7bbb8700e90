"""Filing a report with the regulator, and paging people: mail with a business key."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

from temporalio import activity

from activities.api import FILE_REPORT, SEND_PAGE, SEND_TAKEDOWN, Receipt
from activities.mailer import Mailer
from breachclock.domain.incident.containment import TakedownDraft
from breachclock.domain.incident.documents import render_documents
from breachclock.domain.incident.escalation import PageDraft
from breachclock.domain.incident.report import ReportDraft, subject
from breachclock.domain.instants import span
from breachclock.runtime import offload
from breachclock.runtime.links import LINK_LIFETIME, sign


class MailActivities:
    """``links``: the key that signs a page's acknowledgement link and the console's
    base URL it points to (None: pages carry the command only)."""

    def __init__(self, mailer: Mailer, links: tuple[bytes, str] | None = None) -> None:
        self.mailer = mailer
        self.links = links

    @activity.defn(name=FILE_REPORT)
    async def file_report(self, draft: ReportDraft) -> Receipt:
        """The documents are made in the engine's worker process: laying out a PDF holds
        the GIL, and on a thread of this process it delayed the timers of every other
        incident. A worker process that dies fails this attempt before anything is sent;
        the retry renders again in a fresh one, and the key's record decides the send."""
        documents = await offload.in_process(render_documents, draft)
        message = EmailMessage()
        message["To"] = draft.recipient
        message["Subject"] = subject(draft)
        message.set_content(documents.text)
        message.add_attachment(
            documents.json.encode(),
            maintype="application",
            subtype="json",
            filename=f"{draft.reference}-{draft.number}.json",
        )
        message.add_attachment(
            documents.pdf,
            maintype="application",
            subtype="pdf",
            filename=f"{draft.reference}-{draft.number}.pdf",
        )
        return await self.mailer.send_once(draft.idempotency_key, message)

    @activity.defn(name=SEND_PAGE)
    async def send_page(self, draft: PageDraft) -> Receipt:
        message = EmailMessage()
        message["To"] = ", ".join(draft.recipients)
        message["Subject"] = draft.subject
        body = draft.body
        if self.links is not None and draft.reference and draft.deadline:
            key, console = self.links
            token = sign(
                key, draft.reference, draft.deadline, draft.idempotency_key, datetime.now(UTC)
            )
            body += (
                f"\nOr acknowledge in the console (one use, valid {span(LINK_LIFETIME)}):\n"
                f"  {console.rstrip('/')}/ack/{token}\n"
            )
        message.set_content(body)
        return await self.mailer.send_once(draft.idempotency_key, message)

    @activity.defn(name=SEND_TAKEDOWN)
    async def send_takedown(self, draft: TakedownDraft) -> Receipt:
        """A takedown request or reminder: the key's record decides, so an attempt that
        finds it taken sends nothing and answers with the first send's receipt."""
        message = EmailMessage()
        message["To"] = draft.to
        message["Subject"] = draft.subject
        message.set_content(draft.body)
        return await self.mailer.send_once(draft.idempotency_key, message)
