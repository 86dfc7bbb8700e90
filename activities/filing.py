"""Filing a report with the regulator, and paging people: mail with a business key."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

from temporalio import activity

from activities.api import FILE_REPORT, SEND_PAGE, Receipt
from activities.mailer import Mailer
from breachclock.domain.incident.escalation import PageDraft
from breachclock.domain.incident.pdf import render_pdf
from breachclock.domain.incident.report import ReportDraft, render_json, render_text, subject


class MailActivities:
    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer

    @activity.defn(name=FILE_REPORT)
    async def file_report(self, draft: ReportDraft) -> Receipt:
        message = EmailMessage()
        message["To"] = draft.recipient
        message["Subject"] = subject(draft)
        message.set_content(render_text(draft))
        message.add_attachment(
            render_json(draft).encode(),
            maintype="application",
            subtype="json",
            filename=f"{draft.reference}-{draft.number}.json",
        )
        message.add_attachment(
            # A long filing takes a while to lay out: off the event loop, beside other activities.
            await asyncio.to_thread(render_pdf, draft),
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
        message.set_content(draft.body)
        return await self.mailer.send_once(draft.idempotency_key, message)
