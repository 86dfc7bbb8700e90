"""Every filing as it was sent: the console shows the mail's headers and text, its JSON
and its PDF, each the very bytes the SMTP server received; a filing without a kept
copy says so plainly."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from markupsafe import escape
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.catalogue import LANGUAGES
from breachclock.runtime.store import open_store
from breachclock.web.auth import Role
from tests.conftest import SmtpSink, unique
from tests.web.support import element, web
from tests.web.test_console import NAMES
from tests.web.test_console import page as foreign_words


async def test_the_console_shows_a_filing_exactly_as_the_server_received_it(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w, await w.bearer(Role.MANAGER) as api:
        ref = unique("SENT")
        await w.h.discovered(ref)
        approved = await api.post(f"/api/incidents/{ref}/approvals", json={})
        assert approved.status_code == 200, approved.text
        await w.h.wait_for(lambda: any(ref in str(m["Subject"]) for m in smtp.messages))
        (raw,) = [
            r for r, m in zip(smtp.raw, smtp.messages, strict=True) if ref in str(m["Subject"])
        ]
        received = message_from_bytes(raw, policy=policy.default)
        assert isinstance(received, EmailMessage)
        parts = {p.get_content_type(): p.get_content() for p in received.iter_attachments()}
        body = received.get_body(("plain",))
        assert body is not None

        async with w.client() as maria:
            maria.cookies.set("bc_lang", "en")
            await w.sign_in(maria, "maria", Role.MANAGER)
            overview = await maria.get(f"/incidents/{ref}")
            assert f'href="/incidents/{ref}/filings/1"' in overview.text
            page = await maria.get(f"/incidents/{ref}/filings/1")
            assert page.status_code == 200, page.text
            for name in ("From", "To", "Date", "Subject"):
                assert f"<dd data-document>{escape(str(received[name]))}</dd>" in page.text, name
            assert element(page.text, "mail-body") == escape(body.get_content())
            shown_json = element(page.text, "mail-json")
            assert shown_json == escape(parts["application/json"].decode())
            for kind, expected in (
                ("pdf", parts["application/pdf"]),
                ("json", parts["application/json"]),
                ("eml", raw),
            ):
                got = await maria.get(f"/incidents/{ref}/filings/1/sent.{kind}")
                assert got.status_code == 200 and got.content == expected, kind
            assert parts["application/pdf"].startswith(b"%PDF")

            known = [ref, "maria", "manager-bot", f"{ref}-1.json", f"{ref}-1.pdf", *NAMES]
            for language in LANGUAGES:
                maria.cookies.set("bc_lang", language)
                assert await foreign_words(maria, f"/incidents/{ref}/filings/1", known) == []
            maria.cookies.set("bc_lang", "en")

            async with open_store(w.h.settings) as store:
                assert await store.forget_copies(ref) == 1
            gone = await maria.get(f"/incidents/{ref}/filings/1")
            assert "No copy of this filing was kept" in (element(gone.text, "not-kept") or "")
            assert (await maria.get(f"/incidents/{ref}/filings/1/sent.pdf")).status_code == 404
            unknown = await maria.get(f"/incidents/{ref}/filings/9")
            assert unknown.status_code == 404 and f"{ref} has no filing number 9" in unknown.text
