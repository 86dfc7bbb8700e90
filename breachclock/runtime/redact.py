"""Keep phone numbers and e-mail addresses out of the logs.

A structlog processor: every string in the event (the message, every value, through
nested dicts, lists and tuples) has e-mail addresses replaced by ``[email]`` and phone
numbers by ``[phone]``. Phone numbers are found with libphonenumber's matcher, at
leniency VALID, as Swedish and Danish numbers (and international ``+…``/``00…`` ones).

Danish numbers are eight digits with no trunk prefix, so almost any run of eight
digits is a valid Danish number, and so are fragments of what logs are full of:
timestamps, UUIDs, durations. Such tokens are recognised first and a phone match that
lies within one is left alone. The protected shapes are kept narrow: a bare run of digits
that could be someone's number is redacted, since a lost log detail costs less than a
leaked number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import Any

import phonenumbers
from structlog.processors import format_exc_info

PHONE = "[phone]"
EMAIL = "[email]"
REGIONS = ("SE", "DK")

EMAIL_RE = re.compile(
    r"[\w.!#$%&'*+/=?^`{|}~-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}",
)

# Tokens that contain digit groups shaped like phone numbers but are not.
_PROTECTED = re.compile(
    "|".join(
        (
            # UUIDs (run ids, task queues)
            r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            # ISO 8601 dates and date-times, extended and basic
            r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}(?::?\d{2})?)?)?",
            r"\d{8}T\d{4,6}(?:[.,]\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?",
            # times of day, with or without a fraction or zone
            r"\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}(?::?\d{2})?)?",
            # incident references: INC-2026-001
            r"\b[A-Z][A-Z0-9]*-\d{4}-\d+\b",
            # IPv4 addresses with an optional port; host:port
            r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b",
            r"(?<=[\w\]]):\d{1,5}\b",
            # ISO 8601 durations (PT72H, P1DT2H30M0.5S)
            r"\bP(?:\d+(?:[.,]\d+)?[YMWD])*(?:T(?:\d+(?:[.,]\d+)?[HMS])+)?\b",
            # decimal numbers (epoch seconds, float durations): one point, no more
            r"(?<![\d.])\d+\.\d+(?![\d.])",
            # numbers with a unit of time or size
            r"\b\d+(?:[.,]\d+)?\s?(?:ns|us|µs|ms|s|sec|secs|seconds?|m|min|mins|minutes?"
            r"|h|hrs?|hours?|d|days?|w|weeks?|B|kB|KB|KiB|MB|MiB|GB|GiB)\b",
        )
    )
)

# Fewer digits than this cannot be a phone number in either region; skip the matcher.
_MIN_DIGITS = 7
_DIGIT = re.compile(r"\d")


def _phone_spans(text: str) -> list[tuple[int, int]]:
    protected = [m.span() for m in _PROTECTED.finditer(text)]
    spans: list[tuple[int, int]] = []
    for region in REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        ):
            # Only a match wholly inside a protected token is spared: one that merely
            # touches a timestamp or a port is still redacted.
            if any(s <= match.start and match.end <= e for s, e in protected):
                continue
            start, end = match.start, match.end
            # "(070-123 45 67)": the matcher takes the opening bracket, not the closing one.
            while text[start] == "(" and text.count("(", start, end) > text.count(")", start, end):
                start += 1
            spans.append((start, end))
    return _merge(spans)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact_text(text: str) -> str:
    """``text`` with e-mail addresses and phone numbers replaced."""
    if "@" in text:
        text = EMAIL_RE.sub(EMAIL, text)
    if len(_DIGIT.findall(text)) < _MIN_DIGITS:
        return text
    spans = _phone_spans(text)
    if not spans:
        return text
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], PHONE]
        last = end
    parts.append(text[last:])
    return "".join(parts)


def redact_value(value: Any) -> Any:
    """Strings redacted, through dicts, lists and tuples; anything else as it is."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if type(value) is tuple:  # not named tuples, nor exc_info's contents
        redacted = tuple(redact_value(v) for v in value)
        return value if all(a is b for a, b in zip(redacted, value, strict=True)) else redacted
    return value


def redact_personal_data(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: phone numbers → ``[phone]``, e-mail addresses → ``[email]``.

    An exception's message can hold either, so ``exc_info`` is rendered here (as
    structlog's ``format_exc_info`` does, into ``exception``) and redacted with the rest.
    """
    if event_dict.get("exc_info"):
        event_dict = format_exc_info(logger, method_name, event_dict)
    for key, value in event_dict.items():
        if key.startswith("_"):  # structlog's own (_record, _from_structlog)
            continue
        event_dict[key] = redact_value(value)
    return event_dict
