"""Reading the files people hand the CLI: JSON inputs and subscriber lists.

Every refusal is one plain line naming the file (and the line, where it is known),
raised as ``InputFileError``:

- only regular files are read: a FIFO, a device such as ``/dev/zero``, a directory or
  a socket is refused at once, from ``os.stat``, before anything is opened (a FIFO
  would block the open, ``/dev/zero`` would never end); the open itself is
  non-blocking as a second guard against a file swapped in between;
- a file larger than its limit is refused, naming the limit: ``MAX_JSON_BYTES`` for a
  JSON input (facts, an assessment, a notice), ``MAX_LIST_BYTES`` for a subscriber list;
- a UTF-8 byte-order mark is accepted (Excel and Notepad write one), other non-UTF-8
  bytes are refused with their line;
- JSON that nests too deeply for the parser, a number longer than Python's limit for
  integers (``sys.get_int_max_str_digits``) and NaN or Infinity (not JSON) are refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from breachclock.domain.text import InputFileError, loads

MAX_JSON_BYTES = 1024 * 1024
"""A facts, assessment or notice file: 1 MiB is some fifty times the longest one written."""
MAX_LIST_BYTES = 200 * 1024 * 1024
"""A subscriber list: 200 MiB holds about a million rows of a CRM export."""

BOM = "\ufeff"


def _mebibytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _check(path: Path, status: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise InputFileError(f"{path} is {_kind(status.st_mode)}, not a file that can be read")
    if status.st_size > limit:
        raise InputFileError(
            f"{path} is {_mebibytes(status.st_size)}, more than the limit of {_mebibytes(limit)}"
        )


def open_input(path: Path, limit: int) -> BinaryIO:
    """``path`` opened for reading in binary, once it is known to be a regular file within
    ``limit`` bytes; the caller still reads at most ``limit`` bytes (a file may grow)."""
    try:
        _check(path, os.stat(path), limit)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise InputFileError(f"cannot read {path}: {err.strerror or err}") from err
    try:
        _check(path, os.fstat(fd), limit)  # what was opened, should it have been swapped
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _too_large(path: Path, limit: int) -> InputFileError:
    return InputFileError(f"{path} grew past the limit of {_mebibytes(limit)} while being read")


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    """The JSON value in ``path`` (any type: the caller checks the shape)."""
    with open_input(path, limit) as handle:
        try:
            raw = handle.read(limit + 1)
        except OSError as err:
            raise InputFileError(f"cannot read {path}: {err.strerror or err}") from err
    if len(raw) > limit:
        raise _too_large(path, limit)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputFileError(
            f"{path} is not UTF-8 text: {err.reason} at line {_line_of(raw, err.start)}"
        ) from err
    return loads(text, str(path))


def text_lines(path: Path, limit: int = MAX_LIST_BYTES) -> Iterator[str]:
    """The file's lines as text, line endings kept, a leading byte-order mark dropped.

    A line that is not UTF-8, or holds a NUL byte, raises ``InputFileError`` naming it;
    so does reading past ``limit`` bytes. For ``csv.reader`` and for JSON Lines, which both take lines.
    """
    total = 0
    with open_input(path, limit) as handle:
        for number, raw in enumerate(handle, start=1):
            total += len(raw)
            if total > limit:
                raise _too_large(path, limit)
            if b"\0" in raw:  # csv reads NUL since Python 3.11; a database may not store it
                raise InputFileError(
                    f"{path.name}: line {number} holds a NUL byte: not a text export "
                    "(a spreadsheet saved as .xlsx?)"
                )
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise InputFileError(
                    f"{path.name}: line {number} is not UTF-8 text ({err.reason}); "
                    "export the file as UTF-8 (in Excel: CSV UTF-8)"
                ) from err
            yield line.removeprefix(BOM) if number == 1 else line
