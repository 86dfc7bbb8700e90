"""The CLI's edge, fuzzed: every input is a valid model or one plain line saying why.

The commands end in ``os._exit``, so click's CliRunner cannot drive them; the edge
functions they call are fuzzed directly instead: the reference check (and the click
callback around it), ``model(...)`` with each input model and arbitrary option values,
and ``read_json`` on arbitrary file contents. Properties:

- an input gives a valid value, or ``Refused`` (``BadParameter`` for a reference)
  with a non-empty message of one line, never a traceback or another exception;
- names and free text hide their input in errors: a phone number or e-mail address
  put in one never appears in the message.

A handful of fixed nasty command lines then run ``starter.py`` as a subprocess
against the dev server: each exits 1 (refused) or 2 (malformed) with a single
``error:`` line, or click's usage text, on stderr and no traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from temporalio.testing import WorkflowEnvironment

from breachclock.cli import cli
from breachclock.cli.common import model, read_json
from breachclock.domain.incident.model import (
    Approve,
    Close,
    Discover,
    FactsPatch,
    Justify,
    OpenIncident,
    OpenSecurityReport,
    TimelineInput,
    clean_reference,
)
from breachclock.service.engine import Refused
from tests.cli_support import address
from tests.conftest import SmtpSink, harness, unique

ROOT = Path(__file__).resolve().parents[2]

settings.register_profile(
    "fuzz-cli",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("fuzz-cli-ci", parent=settings.get_profile("fuzz-cli"), derandomize=True)
FUZZ = settings.get_profile("fuzz-cli-ci" if os.environ.get("CI") else "fuzz-cli")


def assert_one_plain_line(message: str) -> None:
    assert message.strip(), "a refusal says why"
    assert "\n" not in message and "\r" not in message, f"one line: {message[:500]!r}"
    for marker in ("Traceback", "<class ", " object at 0x"):
        assert marker not in message, f"not for a person: {message[:500]!r}"


# --- references ------------------------------------------------------------------------------

PHONES = st.one_of(
    st.sampled_from(["070-123 45 67", "+46 70 123 45 67", "0046701234567", "+45 20 12 34 56"]),
    st.from_regex(r"07[0236]-?\d{7}", fullmatch=True),
    st.from_regex(r"\+46 ?7[0236] ?\d{3} ?\d{2} ?\d{2}", fullmatch=True),
)
EMAILS = st.one_of(st.sampled_from(["anna.svensson@example.se", "ole@firma.dk"]), st.emails())
PERSONAL_DATA = st.one_of(PHONES, EMAILS)

REFERENCE_PATTERN: str = OpenIncident.model_json_schema()["properties"]["reference"]["pattern"]
REFERENCES = st.one_of(
    st.text(),
    st.from_regex(REFERENCE_PATTERN, fullmatch=True),
    st.sampled_from(["", "x", "INC-2026-001", "INC 1", "-INC", "a" * 64, "a" * 65, "ÅÄÖ-1"]),
    PERSONAL_DATA,
)

REFERENCE_CHECK = next(p for p in cli.commands["status"].params if p.name == "reference")


@FUZZ
@given(REFERENCES)
def test_reference_is_clean_or_refused(text: str) -> None:
    try:
        OpenIncident(reference=text, title="t", opened_by="x")
        valid = True
    except ValueError:
        valid = False
    try:
        cleaned = clean_reference(text)
    except ValueError as err:
        assert_one_plain_line(str(err))
        assert not valid, "the CLI refuses only what the model refuses"
    else:
        assert cleaned == text and valid, "the CLI passes only what the model takes"

    callback = REFERENCE_CHECK.callback
    assert callback is not None
    context = click.Context(cli.commands["status"])
    try:
        assert callback(context, REFERENCE_CHECK, text) == text
    except click.BadParameter as err:
        assert_one_plain_line(err.format_message())


# --- the input models, option by option ------------------------------------------------------


def _time_text(at: datetime, form: str) -> str:
    if form == "iso":
        return at.isoformat()
    if form == "space":
        return at.isoformat(sep=" ")
    if form == "minutes":
        return at.isoformat(timespec="minutes")
    if form == "z":
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{at.replace(tzinfo=None):%Y-%m-%d %H:%M} {form}"  # a wall-clock time and a zone


TIMES = st.one_of(
    st.builds(
        _time_text,
        st.datetimes(
            timezones=st.sampled_from(
                [None, UTC, ZoneInfo("Europe/Stockholm"), timezone(timedelta(hours=-11))]
            )
        ),
        st.sampled_from(
            ["iso", "space", "minutes", "z", "Europe/Stockholm", "UTC", "Europe/Atlantis", "Etc/"]
        ),
    ),
    st.sampled_from(
        [
            "2026-03-29 02:30 Europe/Stockholm",
            "2026-10-25 02:30 Europe/Stockholm",
            "2026-01-10T09:00+01:00 Europe/Stockholm",
            "0001-01-01T00:00+01:00",
            "9999-12-31T23:59-01:00",
            "2026-01-10 09:00 Europe/Stockholm" + "/x" * 400,
            "now",
            "",
        ]
    ),
    st.text(),
)
NAMES = st.one_of(st.sampled_from(["On-call", "", "x" * 201]), st.text())
TEXTS = st.one_of(st.sampled_from(["customer call", "x" * 19, "x" * 20_001]), st.text())
JSONISH: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)
FACT_FIELDS = st.dictionaries(
    st.one_of(
        st.sampled_from(["affected_count", "circumstances", "occurred", "unknown_because"]),
        st.text(max_size=10),
    ),
    JSONISH,
    max_size=4,
)
KINDS: dict[str, st.SearchStrategy[Any]] = {
    "time": TIMES,
    "name": NAMES,
    "text": TEXTS,
    "track": st.one_of(st.sampled_from(["pts", "imy", "dk", "nis2", "PTS"]), st.text()),
    "regime": st.one_of(st.sampled_from(["pts", "imy", "dk", "nis2"]), JSONISH),
    "reference": REFERENCES,
    "facts": st.one_of(FACT_FIELDS, JSONISH),
}
PERSONAL_KINDS = {"name": 200, "text": 20_000, "title": 300}
"""Fields that may hold a name or free text, and their greatest length."""


@dataclass(frozen=True)
class Form:
    """An input model and the options the CLI fills it from, each with its kind of value."""

    model: type[BaseModel]
    options: dict[str, str]

    def __repr__(self) -> str:
        return self.model.__name__


FORMS = [
    Form(Discover, {"at": "time", "by": "name", "how": "text"}),
    Form(TimelineInput, {"at": "time", "what": "text", "by": "name", "how_established": "text"}),
    Form(Approve, {"by": "name", "late_reason": "text", "track": "track"}),
    Form(Justify, {"by": "name", "text": "text", "track": "track"}),
    Form(OpenSecurityReport, {"by": "name", "aware_at": "time"}),
    Form(Close, {"by": "name", "reason": "text"}),
    Form(
        OpenIncident,
        {
            "reference": "reference",
            "title": "title",
            "regime": "regime",
            "opened_by": "name",
            "facts": "facts",
        },
    ),
    Form(FactsPatch, {"changes": "facts"}),
]


def embedded(limit: int) -> st.SearchStrategy[tuple[str, str]]:
    """Free text with a phone number or e-mail address in it, now and then too long or short."""
    return st.builds(
        lambda before, token, after, pad: (f"{before}{token}{after}{'x' * pad}", token),
        st.text(max_size=10),
        PERSONAL_DATA,
        st.sampled_from([" ", " is the contact", ""]),
        st.sampled_from([0, 0, limit]),
    )


def personal_facts(draw_token: Callable[[int], str]) -> dict[str, Any]:
    """Facts that name a person in their free text, and one fact that is wrong."""
    return {
        "circumstances": draw_token(20_000),
        "services": [draw_token(200)],
        "subscriber_notice": {"notified": False, "means": draw_token(200)},
        "affected_count": -1,
    }


@pytest.mark.parametrize("form", FORMS, ids=[f.model.__name__ for f in FORMS])
@FUZZ
@given(data=st.data())
def test_options_give_a_model_or_one_plain_refusal(form: Form, data: st.DataObject) -> None:
    tokens: list[str] = []

    def draw_token(limit: int) -> str:
        text, token = data.draw(embedded(limit))
        tokens.append(token)
        return text

    options: dict[str, Any] = {}
    for option, kind in form.options.items():
        if data.draw(st.integers(0, 4), label=f"{option} given") == 0:
            continue  # the option not given: None, as click passes it
        if kind in PERSONAL_KINDS and data.draw(st.booleans(), label=f"{option} personal"):
            options[option] = draw_token(PERSONAL_KINDS[kind])
        elif kind == "facts" and data.draw(st.booleans(), label="personal facts"):
            options[option] = personal_facts(draw_token)
        else:
            strategy = KINDS.get(kind, TEXTS)
            options[option] = data.draw(strategy, label=option)
    try:
        made = model(form.model, **options)
    except Refused as err:
        message = str(err)
        assert_one_plain_line(message)
        for token in tokens:
            assert token not in message, "a name or free text is never repeated in an error"
    else:
        assert isinstance(made, form.model)


# --- files -----------------------------------------------------------------------------------

FILE_CONTENTS = st.one_of(
    st.binary(max_size=200),
    JSONISH.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda v, cut: json.dumps(v).encode()[:cut], FACT_FIELDS, st.integers(0, 40)
    ),  # cut short
    FACT_FIELDS.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-16")),
    FACT_FIELDS.map(lambda v: b"\xef\xbb\xbf" + json.dumps(v).encode()),  # a byte-order mark
    st.sampled_from(
        [
            b"",
            b"   ",
            b"NaN",
            b'{"affected_count": NaN, "x": Infinity}',
            b'{"a": 1e999}',
            b'{"a": "\\ud800"}',
            b"\xff\xfe{}",
            b'{"caf\xe9": 1}',  # latin-1, not UTF-8
            b"[" * 100_000,
            b'{"a": ' * 50_000,
            b'{"a": ' + b"1" * 5_000 + b"}",
            b'{"a": 1, "a": 2}',
        ]
    ),
)


@FUZZ
@given(FILE_CONTENTS)
def test_a_file_is_a_json_object_or_one_plain_refusal(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    try:
        data = read_json(path)
    except Refused as err:
        assert_one_plain_line(str(err))
    else:
        assert isinstance(data, dict)


def test_a_missing_file_or_a_folder_is_one_plain_refusal(tmp_path: Path) -> None:
    for path in (tmp_path / "absent.json", tmp_path):
        with pytest.raises(Refused) as refused:
            read_json(path)
        assert_one_plain_line(str(refused.value))


# --- the command line, as a person would type it ---------------------------------------------


async def starter(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python starter.py ARGS`` in a fresh interpreter, by the script's path (the other
    CLI tests fork theirs from one that imported it: ``tests/cli_fork.py``)."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(ROOT / "starter.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_nasty_command_lines_end_in_one_plain_error(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(dev_server, tmp_path, smtp) as h:
        ref = unique("NASTY")
        await h.open(ref)
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address(dev_server),
            "BREACHCLOCK_TASK_QUEUE": h.settings.task_queue,
            "BREACHCLOCK_DATA_DIR": str(h.settings.data_dir),
        }
        not_utf8 = tmp_path / "latin1.json"
        not_utf8.write_bytes(b'{"circumstances": "caf\xe9"}')
        deep = tmp_path / "deep.json"
        deep.write_bytes(b"[" * 100_000)
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        cases: list[tuple[tuple[str, ...], int, str]] = [
            (("discover", ref, "--at", "garbage", "--how", "x"), 1, "cannot read"),
            (("discover", ref, "--at", "0001-01-01T00:00+01:00", "--how", "x"), 1, "out of range"),
            (
                ("discover", ref, "--at", "2026-03-29 02:30 Europe/Stockholm", "--how", "x"),
                1,
                "does not exist",
            ),
            (
                ("event", ref, "--at", "2026-01-10 09:00 Europe" + "/x" * 400, "--what", "x"),
                1,
                "unknown time zone",
            ),
            (("event", ref, "--at", future, "--what", "x"), 1, "in the future"),
            (("facts", ref, "--file", str(not_utf8)), 1, "not UTF-8"),
            (("facts", ref, "--file", str(deep)), 1, "nests too deeply"),
            (("justify", ref, "--text", "ring 070-123 45 67"), 1, "at least 20 characters"),
            (("close", ref, "--by", ""), 1, "at least 1 character"),
            (("open", "name with spaces", "--title", "x"), 2, "not a reference"),
            (("approve", ref, "--track", "nis3"), 2, "nis3"),
        ]
        done = await asyncio.gather(*(starter(env, *args) for args, _, _ in cases))
    for (args, code, expected), run in zip(cases, done, strict=True):
        where = f"{args[0]} {args[2:]!r}"[:200]
        assert "Traceback" not in run.stderr, f"{where}: {run.stderr[-2000:]}"
        assert run.returncode == code, f"{where}: exit {run.returncode}: {run.stderr[:500]}"
        assert expected in run.stderr, f"{where}: {run.stderr[:500]}"
        # Refused (1) or malformed (2): one plain line either way, never click's block.
        assert run.stderr.startswith("error: "), f"{where}: {run.stderr[:500]}"
        assert len(run.stderr.strip().splitlines()) == 1, f"{where}: one line"
        if code == 2:
            assert "--help)" in run.stderr, f"{where}: points to the command's help"
        assert "070-123 45 67" not in run.stderr, "free text is not repeated back"
