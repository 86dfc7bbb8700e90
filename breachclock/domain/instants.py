"""Absolute instants from what people type.

A deadline is an instant, so every time a person gives must name one: an
ISO-8601 time with an offset (``2025-03-29T10:00+01:00``, ``…Z``), a local
wall-clock time followed by an IANA zone (``2025-03-29 10:00 Europe/Stockholm``),
or a local time followed by the abbreviation the tool itself prints
(``2026-12-02 05:00 CET``, ``2026-07-01 10:00 CEST``; ``UTC`` and ``GMT`` too).
An abbreviation is read against the operator's zone and must be the one that
zone uses at that local time: ``CEST`` in December is refused, and so are
abbreviations of other zones (``EST`` names three different offsets around the
world). ``kl.`` between the date and the time is allowed (``2026-12-02 kl. 05:00 CET``).
A naive time is refused, and so is a local time that the zone skips (spring
forward) or repeats (fall back) unless the abbreviation or offset says which:
guessing there is how reports go out an hour late.

Instants run from 1970-01-01T00:00Z (no incident is older; earlier is a typo in
the year) to a few days before datetime's end (later would overflow when shown).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, PlainSerializer, ValidationInfo

DEFAULT_OPERATOR_ZONE = "Europe/Stockholm"
UNIVERSAL = ("UTC", "GMT")
ABBREVIATION = re.compile(r"[A-Z]{2,5}")
_KL = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+kl\.?\s+", re.IGNORECASE)


class InstantError(ValueError):
    """A time a person gave that does not name exactly one instant."""


def zone(name: str) -> ZoneInfo:
    if len(name) > 64:  # IANA names are short; a long "a/b/c/…" makes zoneinfo's lookup recurse
        raise InstantError(f"unknown time zone {name[:64]!r}…")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InstantError(f"unknown time zone {name!r}") from err


def resolve_local_gap(local: datetime, tz: ZoneInfo) -> None:
    """Refuse a local time ``tz`` skips (the clocks go forward over it)."""
    early = local.replace(tzinfo=tz, fold=0)
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local:
        raise InstantError(
            f"{local:%Y-%m-%d %H:%M} does not exist in {tz.key} (the clocks go forward that night)"
        )


def resolve_local(local: datetime, tz: ZoneInfo) -> datetime:
    """The one instant a naive local time names in ``tz``, or an InstantError."""
    early = local.replace(tzinfo=tz, fold=0)
    late = local.replace(tzinfo=tz, fold=1)
    # In a gap both folds differ too (PEP 495), so test for the gap first.
    resolve_local_gap(local, tz)
    if early.utcoffset() != late.utcoffset():
        raise InstantError(
            f"{local:%Y-%m-%d %H:%M} is ambiguous in {tz.key} (the clocks go back that night); "
            "give the offset, e.g. +02:00 or +01:00"
        )
    return early.astimezone(UTC)


def _zone_abbreviations(tz: ZoneInfo, year: int) -> set[str]:
    """What the zone is called in winter and in summer that year (CET, CEST)."""
    year = min(max(year, 2), 9998)
    return {datetime(year, month, 15, 12, tzinfo=tz).tzname() or "" for month in (1, 7)}


def resolve_abbreviation(local: datetime, abbreviation: str, tz: ZoneInfo) -> datetime:
    """The instant ``local`` names in ``tz`` when ``tz`` calls that time ``abbreviation``.

    The abbreviation settles the repeated hour of autumn (02:30 CEST, then 02:30 CET);
    a time the zone skips, or an abbreviation the zone does not use then, is refused
    with what to write instead."""
    when = f"{local:%Y-%m-%d %H:%M}"
    resolve_local_gap(local, tz)
    candidates = {
        c.utcoffset(): c
        for c in (local.replace(tzinfo=tz, fold=0), local.replace(tzinfo=tz, fold=1))
        if c.tzname() == abbreviation
    }
    if len(candidates) == 1:
        return next(iter(candidates.values())).astimezone(UTC)
    if candidates:
        raise InstantError(f"{when} {abbreviation} is ambiguous in {tz.key}; give the offset")
    used = " or ".join(sorted({local.replace(tzinfo=tz, fold=f).tzname() or "" for f in (0, 1)}))
    if abbreviation in _zone_abbreviations(tz, local.year):
        raise InstantError(
            f"{when} is {used} in {tz.key}, not {abbreviation}: write {when} {used}, "
            f"or give the offset or the zone ({when} {tz.key})"
        )
    raise InstantError(
        f"unknown zone abbreviation {abbreviation!r}: in {tz.key} it is {when} {used} "
        "(UTC and GMT are read too); for another zone give its offset "
        "(2026-12-02T05:00-05:00) or its name (2026-12-02 05:00 America/New_York)"
    )


def parse_instant(text: str, operator_zone: str = DEFAULT_OPERATOR_ZONE) -> datetime:
    """Parse a person's time into an aware UTC datetime; see the module docstring.

    ``operator_zone`` is the zone an abbreviation such as CET is read in."""
    text = _KL.sub(r"\1 ", text.strip())
    if not text:
        raise InstantError("empty time")
    head, _, tail = text.rpartition(" ")
    if head and ("/" in tail or ABBREVIATION.fullmatch(tail)):
        try:
            local = datetime.fromisoformat(head.strip())
        except ValueError as err:
            raise InstantError(f"cannot read {head!r} as a date and time") from err
        if local.tzinfo is not None:
            raise InstantError(f"{text!r} gives both an offset and a zone; give one")
        if "/" in tail:
            return resolve_local(local, zone(tail))
        if tail in UNIVERSAL:
            return local.replace(tzinfo=UTC)
        return resolve_abbreviation(local, tail, zone(operator_zone))
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


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""No incident is older: an earlier time is a typo in the year."""
LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)
"""An instant nearer datetime's end would overflow when shown in a zone."""
AHEAD = timedelta(days=366)
"""How far ahead a time may be at the CLI's edge (``not_far_ahead``)."""


def _coerce(value: Any, info: ValidationInfo) -> datetime:
    out_of_range = InstantError(
        f"the time is out of range: give one from {EARLIEST.date()} to {LATEST.date()} (UTC)"
    )
    operator_zone = (info.context or {}).get("operator_zone", DEFAULT_OPERATOR_ZONE)
    try:
        instant = _read(value, operator_zone)
    except OverflowError as err:
        raise out_of_range from err
    if instant < EARLIEST:
        raise InstantError(
            f"the time is out of range: {instant:%Y-%m-%d} is before {EARLIEST.date()}, "
            "and no incident is that old; check the year"
        )
    if instant > LATEST:
        raise out_of_range
    return instant


def _read(value: Any, operator_zone: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InstantError("a time without an offset or zone names no single instant")
        return value.astimezone(UTC)
    if isinstance(value, str):
        return parse_instant(value, operator_zone)
    raise InstantError(f"expected a time, got {type(value).__name__}")


def not_far_ahead(instant: datetime, now: datetime, what: str = "the time") -> None:
    """Refuse ``instant`` more than a year after ``now``: a typo in the year, which the
    workflow would refuse anyway, said before anything is sent."""
    if instant > now + AHEAD:
        raise InstantError(
            f"{what} {instant:%Y-%m-%d %H:%M} UTC is more than a year ahead; check the year"
        )


Instant = Annotated[
    datetime,
    BeforeValidator(_coerce),
    PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json"),
]
"""A pydantic field type: an aware datetime kept in UTC, read from the forms above.
Validation context ``{"operator_zone": "Europe/Stockholm"}`` says which zone an
abbreviation (CET) is read in; that is the default."""


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


def span(length: timedelta) -> str:
    """A length of time as a person says it: "15 min", "6 h", "1 d 2 h", "2 h 30 min"."""
    minutes = int(abs(length.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{mins} min" if mins else "",
    ]
    return " ".join(p for p in parts if p) or "0 min"


def countdown(due: datetime, now: datetime) -> str:
    """How long until ``due`` in words a person scans ("due in 23 h 40 min", "overdue by
    2 h 5 min"): the minutes, rounded down, with days once past two of them."""
    seconds = (due - now).total_seconds()
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        span = f"{days} d {hours} h"
    elif minutes >= 60:
        span = f"{days * 24 + hours} h {mins} min"
    else:
        span = f"{minutes} min"
    return f"due in {span}" if seconds >= 0 else f"overdue by {span}"
