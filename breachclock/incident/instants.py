"""Absolute instants from what people type.

A deadline is an instant, so every time a person gives must name one: an
ISO-8601 time with an offset (``2025-03-29T10:00+01:00``, ``…Z``), or a local
wall-clock time followed by an IANA zone (``2025-03-29 10:00 Europe/Stockholm``).
A naive time is refused, and so is a local time that the zone skips (spring
forward) or repeats (fall back): guessing there is how reports go out an hour late.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, PlainSerializer


class InstantError(ValueError):
    """A time a person gave that does not name exactly one instant."""


def zone(name: str) -> ZoneInfo:
    if len(name) > 64:  # IANA names are short; a long "a/b/c/…" makes zoneinfo's lookup recurse
        raise InstantError(f"unknown time zone {name[:64]!r}…")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InstantError(f"unknown time zone {name!r}") from err


def resolve_local(local: datetime, tz: ZoneInfo) -> datetime:
    """The one instant a naive local time names in ``tz``, or an InstantError."""
    early = local.replace(tzinfo=tz, fold=0)
    late = local.replace(tzinfo=tz, fold=1)
    # In a gap both folds differ too (PEP 495), so test for the gap first.
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local:
        raise InstantError(
            f"{local:%Y-%m-%d %H:%M} does not exist in {tz.key} (the clocks go forward that night)"
        )
    if early.utcoffset() != late.utcoffset():
        raise InstantError(
            f"{local:%Y-%m-%d %H:%M} is ambiguous in {tz.key} (the clocks go back that night); "
            "give the offset, e.g. +02:00 or +01:00"
        )
    return early.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    """Parse a person's time into an aware UTC datetime; see the module docstring."""
    text = text.strip()
    if not text:
        raise InstantError("empty time")
    head, _, tail = text.rpartition(" ")
    if head and ("/" in tail or tail == "UTC"):
        try:
            local = datetime.fromisoformat(head.strip())
        except ValueError as err:
            raise InstantError(f"cannot read {head!r} as a date and time") from err
        if local.tzinfo is not None:
            raise InstantError(f"{text!r} gives both an offset and a zone; give one")
        return resolve_local(local, zone(tail))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as err:
        raise InstantError(
            f"cannot read {text!r} as a time: use ISO-8601 with an offset "
            "(2025-03-29T10:00+01:00) or a local time and zone (2025-03-29 10:00 Europe/Stockholm)"
        ) from err
    if parsed.tzinfo is None:
        raise InstantError(
            f"{text!r} has no offset or zone, so it names no single instant: "
            "add one, e.g. +01:00, Z or ' Europe/Stockholm'"
        )
    return parsed.astimezone(UTC)


# An instant this near datetime's limits would overflow when shown in a zone.
EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=2)
LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)


def _coerce(value: Any) -> datetime:
    out_of_range = InstantError(
        f"the time is out of range: give one from {EARLIEST.date()} to {LATEST.date()} (UTC)"
    )
    try:
        instant = _read(value)
    except OverflowError as err:
        raise out_of_range from err
    if not EARLIEST <= instant <= LATEST:
        raise out_of_range
    return instant


def _read(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InstantError("a time without an offset or zone names no single instant")
        return value.astimezone(UTC)
    if isinstance(value, str):
        return parse_instant(value)
    raise InstantError(f"expected a time, got {type(value).__name__}")


Instant = Annotated[
    datetime,
    BeforeValidator(_coerce),
    PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json"),
]
"""A pydantic field type: an aware datetime kept in UTC, read from the forms above."""


def show(instant: datetime | None, tz: ZoneInfo) -> str:
    """An instant as a person in ``tz`` reads it, with the zone's abbreviation."""
    if instant is None:
        return "—"
    return instant.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def iso_local(instant: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO-8601 with the operator zone's offset, for machine-readable output."""
    return None if instant is None else instant.astimezone(tz).isoformat()


def add_calendar_month(instant: datetime) -> datetime:
    """One calendar month later (UTC), the day clamped to the month's last."""
    year, month = (
        (instant.year + 1, 1) if instant.month == 12 else (instant.year, instant.month + 1)
    )
    first_of_next = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    last_day = (first_of_next - timedelta(days=1)).day
    return instant.replace(year=year, month=month, day=min(instant.day, last_day))
