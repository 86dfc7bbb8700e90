"""The notice e-mail as it leaves for the relay: its headers, byte for byte."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from activities.mailer import message_id, stamp
from activities.notice_mail import notice_wire
from breachclock.domain.notify.notice import IncidentNotice, Operator, render_notice
from breachclock.domain.notify.subscribers import Subscriber

SENDER = "breachclock@operator.example"
OPERATOR = Operator(name="Example Telecom AB", phone="+46 771 00 00 00", email="dpo@telco.example")


def incident() -> IncidentNotice:
    return IncidentNotice.model_validate(
        {
            "reference": "INC-2025-042",
            "access_from": "2025-06-01T10:00Z",
            "what_happened": {"sv": "Något hände.", "en": "Something happened.", "da": "Noget."},
            "consequences": {"sv": "Det betyder.", "en": "It means.", "da": "Det betyder."},
            "measures_taken": [{"what": {"sv": "Åtgärd.", "en": "Measure.", "da": "Tiltag."}}],
        }
    )


def wire(operator: Operator, language: str, sender: str = SENDER) -> tuple[bytes, Any]:
    """The message's bytes in DATA, and the message read back from them."""
    person = Subscriber(
        id="c1", email="anna@example.se", language=language, affected_items=["adress"]
    )
    notice = render_notice(incident(), person, operator)
    raw = notice_wire(notice, "anna@example.se", sender, "INC-2025-042:c1:email")
    return raw, message_from_bytes(raw, policy=policy.default)


@pytest.mark.parametrize("language", ["sv", "en", "da"])
def test_the_subject_is_folded_without_a_leading_space(language: str) -> None:
    raw, read = wire(OPERATOR, language)
    subject_line = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert subject_line.startswith(b"Subject: ") and subject_line != b"Subject: "
    assert not subject_line.startswith(b"Subject:  ")
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n"))
    expected = render_notice(
        incident(),
        Subscriber(id="c1", email="a@b.se", language=language, affected_items=["x"]),
        OPERATOR,
    ).subject
    assert read["Subject"] == expected, "read back exactly, no space in front"


def test_it_comes_from_the_operator_by_name_with_replies_to_its_contact() -> None:
    raw, read = wire(OPERATOR, "sv")
    assert b"\r\nFrom: Example Telecom AB <breachclock@operator.example>\r\n" in raw
    assert b"\r\nReply-To: dpo@telco.example\r\n" in raw
    assert raw.count(b"\r\nFrom:") == 1, "one From"
    assert read["From"].addresses[0].display_name == "Example Telecom AB"
    assert read["From"].addresses[0].addr_spec == SENDER


def test_a_name_outside_ascii_and_a_sender_with_its_own_name() -> None:
    operator = Operator(name="Bredbånd Øst A/S", web="https://bredband.example")
    _, read = wire(operator, "da", sender="Breachclock <noreply@bredband.example>")
    (address,) = read["From"].addresses
    assert (address.display_name, address.addr_spec) == (
        "Bredbånd Øst A/S",
        "noreply@bredband.example",
    )
    assert read["Reply-To"] is None, "no contact address: no Reply-To"


@pytest.mark.parametrize("contact", ["ring oss", "dpo@telco.example\r\nBcc: x@evil.example"])
def test_a_contact_that_is_no_address_gives_no_reply_to(contact: str) -> None:
    operator = Operator(name="Example Telecom AB\nBcc: x@evil.example", email=contact)
    raw, read = wire(operator, "en")
    headers = raw.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert not [line for line in headers if line.lower().startswith(b"bcc")], "no header injected"
    assert read["Bcc"] is None and read["Reply-To"] is None


def test_it_reads_back_whole_and_as_filings_do_carries_key_and_message_id() -> None:
    raw, read = wire(OPERATOR, "sv")
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    assert read["X-Breachclock-Key"] == "INC-2025-042:c1:email"
    assert read["Message-ID"] == message_id("INC-2025-042:c1:email")
    parts = {p.get_content_type(): p.get_content() for p in read.walk() if not p.is_multipart()}
    assert "Något hände." in parts["text/plain"] and "Något hände." in parts["text/html"]
    filing = EmailMessage()
    filing["To"] = "incidentrapport@pts.se"
    filing.set_content("report")
    stamp(filing, "INC-2025-042:filing:1", SENDER)
    assert filing["From"] == SENDER and filing.get_all("From") == [SENDER]
