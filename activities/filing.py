"""Filing a report with the regulator, and paging people: mail with a business key."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from temporalio import activity

from activities.api import (
    FILE_REPORT,
    PREPARE_FOR_PORTAL,
    SEND_PAGE,
    SEND_TAKEDOWN,
    PortalTask,
    Receipt,
)
from activities.mailer import Mailer
from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.containment import TakedownDraft
from breachclock.domain.incident.documents import Documents, render_documents
from breachclock.domain.incident.escalation import PageDraft
from breachclock.domain.incident.report import ReportDraft, subject
from breachclock.runtime import offload
from breachclock.runtime.links import LINK_LIFETIME, incident_url, sign


class MailActivities:
    """``links``: the key that signs a page's acknowledgement link and the console's
    base URL it points to (None: pages go without links)."""

    def __init__(self, mailer: Mailer, links: tuple[bytes, str] | None = None) -> None:
        self.mailer = mailer
        self.links = links

    @activity.defn(name=FILE_REPORT)
    async def file_report(self, draft: ReportDraft) -> Receipt:
        """The documents are made in the engine's worker process: laying out a PDF holds
        the GIL, and on a thread of this process it delayed the timers of every other
        incident. Meanwhile the mailer takes the key's lease and opens the relay's
        connection (an approval waits for all of it). A worker process that dies fails
        this attempt before anything is sent; the retry renders again in a fresh one,
        and the key's record decides the send."""
        return await self.mailer.send_once(
            draft.idempotency_key, filing_mail(draft), keep=draft.reference
        )

    @activity.defn(name=PREPARE_FOR_PORTAL)
    async def prepare_for_portal(self, task: PortalTask) -> Receipt:
        """The documents of a portal filing, to the people who file it: under a key of
        its own (the filing's key stays the filing's); made as a filing's are."""
        draft = task.draft
        documents = await offload.in_process(render_documents, draft)
        message = EmailMessage()
        message["To"] = ", ".join(task.to)
        message["Subject"] = task.subject
        message.set_content(self._with_console_link(task))
        message.add_attachment(
            documents.text.encode(),
            maintype="text",
            subtype="plain",
            filename=f"{draft.reference}-{draft.number}.txt",
        )
        attach_documents(message, draft, documents)
        return await self.mailer.send_once(f"{draft.idempotency_key}:portal", message)

    def _with_console_link(self, task: PortalTask) -> str:
        """The task with the incident's page in the console, where the receipt is recorded."""
        if self.links is None:
            return task.body
        url = incident_url(self.links[1], task.draft.reference)
        return f"{task.body}\n\n{Voice(task.draft.words)('page.console', url=url)}\n"

    @activity.defn(name=SEND_PAGE)
    async def send_page(self, draft: PageDraft) -> Receipt:
        message = EmailMessage()
        message["To"] = ", ".join(draft.recipients)
        message["Subject"] = draft.subject
        message.set_content(self._with_links(draft))
        return await self.mailer.send_once(draft.idempotency_key, message)

    def _with_links(self, draft: PageDraft) -> str:
        """The page with where to act on it: the incident's page in the console and, for
        a deadline, the one-time link that acknowledges it, in the reader's language."""
        if self.links is None or not draft.reference:
            return draft.body
        key, console = self.links
        w = Voice(draft.language or "en")
        lines = ["", w("page.console", url=incident_url(console, draft.reference))]
        if draft.deadline:
            now = datetime.now(UTC)
            token = sign(key, draft.reference, draft.deadline, draft.idempotency_key, now)
            url = f"{console.rstrip('/')}/ack/{token}"
            lines.append(w("page.ack_link", lifetime=LINK_LIFETIME, url=url))
        return draft.body + "\n".join(lines) + "\n"

    @activity.defn(name=SEND_TAKEDOWN)
    async def send_takedown(self, draft: TakedownDraft) -> Receipt:
        """A takedown request or reminder: the key's record decides, so an attempt that
        finds it taken sends nothing and answers with the first send's receipt."""
        message = EmailMessage()
        message["To"] = draft.to
        message["Subject"] = draft.subject
        message.set_content(draft.body)
        return await self.mailer.send_once(draft.idempotency_key, message)


async def filing_mail(draft: ReportDraft) -> EmailMessage:
    """The filing's mail to the regulator: its text, with the JSON and PDF attached."""
    documents = await offload.in_process(render_documents, draft)
    message = EmailMessage()
    message["To"] = draft.recipient
    message["Date"] = format_datetime(draft.drafted_at)
    message["Subject"] = subject(draft)
    message.set_content(documents.text)
    attach_documents(message, draft, documents)
    return message


def attach_documents(message: EmailMessage, draft: ReportDraft, documents: Documents) -> None:
    """The filing's JSON and PDF, as attachments of ``message``."""
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
