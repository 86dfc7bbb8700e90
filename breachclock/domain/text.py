"""Text people hand in, read as data: JSON whose every failure is one plain line.

JSON that nests too deeply for the parser, a number longer than Python's limit for
integers (``sys.get_int_max_str_digits``) and NaN or Infinity (not JSON) are refused,
as are the shapes they would otherwise crash on.
"""

from __future__ import annotations

import json
import sys
from typing import Any


class InputFileError(ValueError):
    """A file that cannot be used as input; the message is one line for a person.

    ``reason`` is the same without the file's name, for a line of a file that is
    reported by line (JSON Lines); ``code`` is the reason as a problem's code, where
    one is known (``json.too_deep``)."""

    def __init__(self, message: str, reason: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message
        self.code = code


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity: Python's json reads them, JSON has no such numbers."""


def _not_json_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON number")


def loads(text: str, where: str) -> Any:
    """``json.loads`` whose every failure is one line naming ``where``."""
    try:
        return json.loads(text, parse_constant=_not_json_constant)
    except json.JSONDecodeError as err:
        message = f"{where} is not valid JSON: {err.msg} at line {err.lineno}"
        raise InputFileError(message, "not valid JSON", "json.invalid") from err
    except RecursionError as err:
        reason = "nests too deeply to be read"
        raise InputFileError(f"{where} {reason}", reason, "json.too_deep") from err
    except _NotJson as err:
        raise InputFileError(f"{where}: {err}", str(err), "json.not_a_number") from err
    except ValueError as err:
        # int() refuses a number thousands of digits long (CVE-2020-10735)
        reason = f"holds a number longer than {sys.get_int_max_str_digits()} digits"
        raise InputFileError(f"{where} {reason}", reason, "json.number_too_long") from err
