"""What the CLI prints from people's input cannot drive the terminal it is printed on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from breachclock.cli.common import emit
from breachclock.runtime.terminal import printable
from tests.cli_support import offline

RETITLE = "\x1b]0;owned\x07"  # OSC: sets the window title
RECOLOUR = "\x1b[31m"  # CSI
C1_CSI = "\x9b2J"  # the one-character CSI: clears the screen on some terminals
REVERSED = "\u202etxt.exe"  # right-to-left override: reads as "exe.txt"
ISOLATE = "\u2066x\u2069"
BACKSPACES = "paid\x08\x08\x08\x08late"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u2069", "\x08", "\r")


def assert_inert(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} reached the terminal: {text!r}"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        (RETITLE, "\\u001b]0;owned\\u0007"),
        (RECOLOUR + "red", "\\u001b[31mred"),
        (C1_CSI, "\\u009b2J"),
        (REVERSED, "\\u202etxt.exe"),
        (ISOLATE, "\\u2066x\\u2069"),
        (BACKSPACES, "paid\\u0008\\u0008\\u0008\\u0008late"),
        ("over\rwrite", "over\\u000dwrite"),
        ("del\x7f", "del\\u007f"),
        ("lines\r\nand\ttabs\nstay", "lines\nand\ttabs\nstay"),
        ("Jörg Ångström, 東京 ✓", "Jörg Ångström, 東京 ✓"),
    ],
)
def test_controls_are_shown_as_escapes(given: str, shown: str) -> None:
    assert printable(given) == shown


def test_one_line_escapes_newlines_and_tabs_too() -> None:
    assert (
        printable("Anna\nS999 Forged row\t", one_line=True) == "Anna\\u000aS999 Forged row\\u0009"
    )


def test_every_control_and_override_is_escaped() -> None:
    every = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F)]))
    every += "".join(map(chr, range(0x2066, 0x206A)))
    assert set(printable(every)) <= set("\\u0123456789abcdef\n\t")
    assert set(printable(every, one_line=True)) <= set("\\u0123456789abcdef")


def test_emit_prints_text_and_json_inert(capsys: pytest.CaptureFixture[str]) -> None:
    title = f"Numbers shown {RETITLE}{C1_CSI}{REVERSED}"
    emit(False, {}, f"title: {title}\nstate: opened")
    text = capsys.readouterr().out
    assert_inert(text)
    assert text.splitlines()[1] == "state: opened"
    emit(True, {"title": title, "events": [{"what": ISOLATE}]}, "")
    out = capsys.readouterr().out
    assert_inert(out)
    assert json.loads(out) == {"title": title, "events": [{"what": ISOLATE}]}, "the same data"


def test_a_refusal_quoting_a_file_name_is_inert(tmp_path: Path) -> None:
    name = tmp_path / f"facts{RETITLE}{REVERSED}.json"  # absent: the refusal names it
    run = offline("facts", "INC-2026-001", "--file", str(name))
    assert run.returncode == 1
    assert_inert(run.stderr)
    assert "\\u001b]0;owned\\u0007" in run.stderr and len(run.stderr.splitlines()) == 1
