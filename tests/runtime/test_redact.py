"""Phone numbers and e-mail addresses do not reach the logs; what logs need stays."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from breachclock.runtime import logs
from breachclock.runtime.redact import EMAIL, PHONE, redact_personal_data, redact_text

SWEDISH = [
    "+46 70 123 45 67",
    "070-123 45 67",
    "0046701234567",
    "+46701234567",
    "0701234567",
    "070 123 45 67",
    "08-123 456 78",
    "+46 (0)70-123 45 67",
]
DANISH = ["+45 32 12 34 56", "+4532123456", "0045 32 12 34 56"]
EMAILS = ["anna.andersson@example.se", "dpo+incidents@operator.example", "x_y@sub.example.co.uk"]
KEEP = [
    "2026-03-14T09:30:00+00:00",
    "2026-03-14T09:30:00.123456Z",
    "2026-03-14T09:30:00.987654+01:00",
    "2026-03-14 09:30:00,123",
    "20260314T093000Z",
    "INC-2026-001",
    "incident-INC-2026-0042",
    "0062e6dd-4844-4354-a767-44a7445331df",
    "225e3004-f34c-4422-9824-fb45bff301fe",
    "127.0.0.1:7233",
    "localhost:8233",
    "port 7233",
    "PT72H",
    "P1DT2H30M",
    "took 4320 minutes",
    "259200s",
    "12.345678 seconds",
    "1773480600.123456",
    "attempt 3 of 5",
]


def event(**kw: Any) -> dict[str, Any]:
    return redact_personal_data(None, "info", dict(kw))  # type: ignore[return-value]


@pytest.mark.parametrize("number", SWEDISH + DANISH)
def test_phone_numbers_in_the_message(number: str) -> None:
    out = event(event=f"paged on-call at {number}, no answer")
    assert out["event"] == f"paged on-call at {PHONE}, no answer"


@pytest.mark.parametrize("address", EMAILS)
def test_email_addresses(address: str) -> None:
    out = event(event=f"sent to <{address}>", to=address)
    assert out == {"event": f"sent to <{EMAIL}>", "to": EMAIL}


def test_nested_values_are_redacted_and_others_kept() -> None:
    run_id = str(uuid.uuid4())
    out = event(
        event="notified",
        recipients=["anna@example.se", {"name": "Anna", "phone": "070-123 45 67"}],
        contact=("+45 32 12 34 56", 3),
        deep={"a": {"b": [("0046701234567", "ok")]}},
        attempt=2,
        ok=True,
        ratio=0.5,
        run_id=run_id,
        nothing=None,
    )
    assert out == {
        "event": "notified",
        "recipients": [EMAIL, {"name": "Anna", "phone": PHONE}],
        "contact": (PHONE, 3),
        "deep": {"a": {"b": [(PHONE, "ok")]}},
        "attempt": 2,
        "ok": True,
        "ratio": 0.5,
        "run_id": run_id,
        "nothing": None,
    }


def test_several_in_one_string() -> None:
    text = "Anna (anna@example.se, +46 70 123 45 67) and Bo (070-765 43 21, bo@example.dk)"
    assert redact_text(text) == (f"Anna ({EMAIL}, {PHONE}) and Bo ({PHONE}, {EMAIL})")


@pytest.mark.parametrize("text", KEEP)
def test_what_logs_need_is_untouched(text: str) -> None:
    assert redact_text(text) == text
    assert event(event=f"at {text} for INC-2026-001", value=text) == {
        "event": f"at {text} for INC-2026-001",
        "value": text,
    }


def test_many_uuids_and_timestamps_survive() -> None:
    """Danish numbers are any eight digits: fragments of UUIDs and microsecond
    timestamps look like them. None of these may be touched."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(500):
        when = start + timedelta(seconds=i * 7919.123457)
        for text in (str(uuid.uuid4()), when.isoformat(), when.isoformat().replace("+00:00", "Z")):
            assert redact_text(text) == text


def test_a_number_next_to_a_timestamp_is_still_redacted() -> None:
    assert redact_text("2026-03-14T09:30:00Z 070-123 45 67") == f"2026-03-14T09:30:00Z {PHONE}"
    assert redact_text("tel:070 123 45 67") == f"tel:{PHONE}"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    mail_level = logging.getLogger("mail.log").level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("mail.log").setLevel(mail_level)
    structlog.reset_defaults()
    structlog.configure(**config)


def test_configured_logs_carry_neither_numbers_nor_addresses(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure()
    run_id = str(uuid.uuid4())
    secrets = [
        "+46 70 123 45 67",
        "+46701234567",
        "070-123 45 67",
        "0701234567",
        "+45 32 12 34 56",
        "32 12 34 56",
        "anna.andersson@example.se",
        "bo@example.dk",
    ]

    structlog.get_logger("breachclock.test").info(
        "paging Anna at +46 70 123 45 67 / anna.andersson@example.se",
        reference="INC-2026-001",
        run_id=run_id,
        recipients=["bo@example.dk", {"phone": "+45 32 12 34 56"}],
    )
    sdk = logging.getLogger("temporalio.x")
    sdk.warning(
        "Activity failed for %s (%s)",
        "anna.andersson@example.se",
        "070-123 45 67",
        extra={
            "temporal_activity": {"phone": "0701234567", "run_id": run_id},
            "to": "bo@example.dk",
        },
    )
    try:
        raise ValueError("no answer from +4532123456 / 32 12 34 56")
    except ValueError:
        sdk.exception("paging failed", extra={"reference": "INC-2026-001"})
        structlog.get_logger("breachclock.test").exception("paging failed", number="+46701234567")

    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert len(lines) == 4, err
    for secret in secrets:
        assert secret not in err
    compact = re.sub(r"[\s()/-]", "", err)
    assert "701234567" not in compact and "32123456" not in compact

    mine, theirs, sdk_exc, mine_exc = lines
    assert mine["event"] == f"paging Anna at {PHONE} / {EMAIL}"
    assert mine["recipients"] == [EMAIL, {"phone": PHONE}]
    assert mine["reference"] == "INC-2026-001" and mine["run_id"] == run_id
    assert mine["logger"] == "breachclock.test"
    assert theirs["event"] == f"Activity failed for {EMAIL} ({PHONE})"
    assert theirs["temporal_activity"] == {"phone": PHONE, "run_id": run_id}
    assert theirs["to"] == EMAIL and theirs["logger"] == "temporalio.x"
    for line in lines:  # the timestamp is intact ISO 8601
        assert datetime.fromisoformat(line["timestamp"])
    for line in (sdk_exc, mine_exc):
        assert f"ValueError: no answer from {PHONE} / {PHONE}" in line["exception"]
    assert sdk_exc["reference"] == "INC-2026-001"
    assert mine_exc["number"] == PHONE
