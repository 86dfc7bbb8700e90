"""Text from people's input made safe to print on a terminal.

A title, an event text, a name or a reason can carry characters a terminal acts on:
escape sequences that move the cursor, recolour, retitle the window or rewrite what
was printed before (C0 controls such as ESC, BEL, CR and backspace; C1 controls such
as CSI U+009B), and BiDi overrides that make text read differently from what it is
(U+202A–U+202E, U+2066–U+2069: "Trojan Source"). ``printable`` shows each of them as
a visible ``\\uXXXX`` escape instead of passing it on, so what is on the screen is
what is in the record, and a person can see something was there. The escape is
valid JSON inside a string, so JSON output stays JSON and reads back to the same
text.
"""

from __future__ import annotations

import re

_BIDI = "\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def printable(text: str, one_line: bool = False) -> str:
    """``text`` with every terminal control character shown as ``\\uXXXX``.

    Newline and tab are kept (multi-line output is meant), unless ``one_line``: then
    they are escaped too, for a value printed within one line (a row of a table).
    A CRLF line ending counts as a newline.
    """
    pattern = _UNSAFE_ONE_LINE if one_line else _UNSAFE
    if not one_line:
        text = text.replace("\r\n", "\n")
    return pattern.sub(_escape, text)
