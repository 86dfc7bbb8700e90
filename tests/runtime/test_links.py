"""A page's acknowledgement link: signed, expiring, its key owner-only in the data folder."""

from __future__ import annotations

import base64
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from breachclock.runtime.config import Settings
from breachclock.runtime.links import (
    LINK_LIFETIME,
    BadLink,
    key_for,
    link_id,
    link_key,
    sign,
    verify,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PAGE = "INC-7:page:pts:initial_report:6h"


def test_a_link_names_the_incident_and_deadline_until_it_expires(tmp_path: Path) -> None:
    key = link_key(tmp_path, create=True)
    assert stat.S_IMODE((tmp_path / "ack-link-key").stat().st_mode) == 0o600
    assert link_key(tmp_path) == key, "made once, then read"
    token = sign(key, "INC-7", "initial_report", PAGE, NOW)
    found = verify(key, token, NOW + LINK_LIFETIME - timedelta(seconds=1))
    assert (found.reference, found.deadline, found.link) == (
        "INC-7",
        "initial_report",
        link_id(PAGE),
    )
    with pytest.raises(BadLink, match="expired"):
        verify(key, token, NOW + LINK_LIFETIME)


def test_a_forged_or_altered_link_is_refused(tmp_path: Path) -> None:
    key = link_key(tmp_path, create=True)
    token = sign(key, "INC-7", "initial_report", PAGE, NOW)
    other = sign(b"k" * 32, "INC-7", "initial_report", PAGE, NOW)
    payload, signature = token.split(".")
    for bad in (other, f"{payload[:-2]}xx.{signature}", "garbage", ""):
        with pytest.raises(BadLink):
            verify(key, bad, NOW)


def test_only_the_engine_makes_the_key(tmp_path: Path) -> None:
    with pytest.raises(BadLink) as refused:
        link_key(tmp_path)
    assert refused.value.code == "link.no_key"


def test_a_shared_key_from_the_environment_signs_for_every_process(tmp_path: Path) -> None:
    """Workers and the console on Kubernetes have data folders of their own: one Secret's
    key signs in any of them and verifies in any other; none is made in a folder."""
    shared = base64.b64encode(os.urandom(32)).decode()
    worker, console = (
        Settings(BREACHCLOCK_DATA_DIR=tmp_path / name, BREACHCLOCK_LINK_KEY=shared)
        for name in ("worker", "console")
    )
    token = sign(key_for(worker, create=True), "INC-7", "initial_report", PAGE, NOW)
    assert verify(key_for(console), token, NOW).reference == "INC-7"
    assert not (tmp_path / "worker" / "ack-link-key").exists()


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_link_key_that_cannot_sign_stops_the_start(bad: str) -> None:
    with pytest.raises(ValidationError, match="BREACHCLOCK_LINK_KEY"):
        Settings(BREACHCLOCK_LINK_KEY=bad)
