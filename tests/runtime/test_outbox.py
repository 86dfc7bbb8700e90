"""The local outbox names each .eml after the message's key, however the header was folded."""

from __future__ import annotations

from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import aiosmtplib
import pytest

from activities.mailer import stamp
from breachclock.runtime.outbox import Outbox, free_port, mail_key

LONG_KEY = "INC-2026-0001-SECRET-NUMBERS-PUBLISHED:filing:pts:supplementary:12:S000123-extra"


def compat32() -> Message:
    message = MIMEMultipart("alternative")
    message.attach(MIMEText("text", "plain", "utf-8"))
    return message


def modern() -> Message:
    message = EmailMessage()
    message.set_content("text")
    return message


def the_one_saved(folder: Path) -> tuple[str, bytes]:
    (saved,) = folder.glob("*.eml")
    return saved.name, saved.read_bytes()


@pytest.mark.parametrize("build", [compat32, modern], ids=["compat32", "EmailMessage"])
async def test_a_long_key_names_the_file_as_it_is(tmp_path: Path, build: object) -> None:
    assert callable(build)
    message: Message = build()
    message["To"] = "pts@example.org"
    message["Subject"] = "report"
    stamp(message, LONG_KEY, "breachclock@operator.example")
    with Outbox(tmp_path, free_port()) as outbox:
        await aiosmtplib.send(message, hostname="127.0.0.1", port=outbox.port)
    name, content = the_one_saved(tmp_path)
    assert f"X-Breachclock-Key: {LONG_KEY}".encode() not in content, "folded"
    assert name.split("-", 2)[2] == LONG_KEY.replace(":", "_") + ".eml"  # after time and number


def test_a_message_without_a_key_is_called_message() -> None:
    assert mail_key(b"Subject: hi\r\n\r\nbody") == "message"
    assert mail_key(b"X-Breachclock-Key: \r\n\r\n") == "message"
    assert mail_key(b"\xff\xfe garbage") == "message"
