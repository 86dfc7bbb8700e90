"""Filing a report with the regulator, and paging people: mail with a business key."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from datetime import UTC, datetime
from email.message import EmailMessage

from temporalio import activity

from activities.api import (
    FILE_REPORT,
    LAY_OUT_AHEAD,
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

KEPT_AHEAD = 64 * 1024 * 1024
"""Bytes of documents laid out ahead that a worker keeps (at most; the oldest go first)."""
KEPT_FOR = 10 * 60.0
"""Seconds documents laid out ahead are kept for the filing that sends them."""


class LaidOut:
    """Filings' documents laid out ahead, in this process's memory only (they hold
    personal data: never in a payload or the store), by the digest of the whole draft
    they were made from. A filing finds them only if its draft is the same in every
    field (the same state, number and stated instant): the documents of a draft are
    always the same (``render_documents``), so what goes is what would have been laid
    out at the deadline. Bounded by bytes and age; a miss is laid out again."""

    def __init__(self, limit: int = KEPT_AHEAD, kept_for: float = KEPT_FOR) -> None:
        self.limit = limit
        self.kept_for = kept_for
        self._kept: OrderedDict[str, tuple[float, Documents]] = OrderedDict()
        self._bytes = 0

    def keep(self, draft: ReportDraft, documents: Documents) -> None:
        key = digest(draft)
        self._drop(key)
        self._kept[key] = (time.monotonic(), documents)
        self._bytes += size(documents)
        while self._bytes > self.limit or (
            self._kept and next(iter(self._kept.values()))[0] < time.monotonic() - self.kept_for
        ):
            self._drop(next(iter(self._kept)))

    def take(self, draft: ReportDraft) -> Documents | None:
        """The documents laid out for ``draft``, handed over once (then forgotten)."""
        kept = self._drop(digest(draft))
        return None if kept is None else kept[1]

    def _drop(self, key: str) -> tuple[float, Documents] | None:
        kept = self._kept.pop(key, None)
        if kept is not None:
            self._bytes -= size(kept[1])
        return kept

    def __len__(self) -> int:
        return len(self._kept)


def digest(draft: ReportDraft) -> str:
    return hashlib.sha256(draft.model_dump_json().encode()).hexdigest()


def size(documents: Documents) -> int:
    return len(documents.text) + len(documents.json) + len(documents.pdf)


class MailActivities:
    """``links``: the key that signs a page's acknowledgement link and the console's
    base URL it points to (None: pages go without links)."""

    def __init__(self, mailer: Mailer, links: tuple[bytes, str] | None = None) -> None:
        self.mailer = mailer
        self.links = links
        self.laid_out = LaidOut()

    @activity.defn(name=FILE_REPORT)
    async def file_report(self, draft: ReportDraft) -> Receipt:
        """The documents are made in the engine's worker process: laying out a PDF holds
        the GIL, and on a thread of this process it delayed the timers of every other
        incident. Meanwhile the mailer takes the key's lease and opens the relay's
        connection (an approval waits for all of it). A worker process that dies fails
        this attempt before anything is sent; the retry renders again in a fresh one,
        and the key's record decides the send. Documents laid out ahead for this very
        draft (``lay_out_ahead``) go as they are: an automatic filing then costs no
        layout at its deadline."""
        laid_out = self.laid_out.take(draft)
        return await self.mailer.send_once(
            draft.idempotency_key, filing_mail(draft, laid_out), keep=draft.reference
        )

    @activity.defn(name=LAY_OUT_AHEAD)
    async def lay_out_ahead(self, draft: ReportDraft) -> None:
        """Lay out an automatic filing's documents before it falls due (its draft states
        the instant it is planned to go) and keep them for its ``file_report``. Sends
        nothing: a filing that does not find them lays them out itself."""
        self.laid_out.keep(draft, await offload.in_process(render_documents, draft))

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


async def filing_mail(draft: ReportDraft, laid_out: Documents | None = None) -> EmailMessage:
    """The filing's mail to the regulator: its text, with the JSON and PDF attached
    (``laid_out``: the draft's documents, made already)."""
    documents = (
        laid_out if laid_out is not None else await offload.in_process(render_documents, draft)
    )
    message = EmailMessage()
    message["To"] = draft.recipient
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
