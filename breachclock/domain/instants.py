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
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, PlainSerializer, ValidationInfo

from breachclock.domain.problems import Problem, invalid, invalid_from, problem

DEFAULT_OPERATOR_ZONE = "Europe/Stockholm"
UNIVERSAL = ("UTC", "GMT")
ABBREVIATION = re.compile(r"[A-Z]{2,5}")
_KL = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+kl\.?\s+", re.IGNORECASE)


class InstantError(ValueError):
    """A time a person gave that does not name exactly one instant; ``problem`` says why
    (its message is the English wording, for logs)."""

    def __init__(self, code: str, **params: Any) -> None:
        self.problem: Problem = problem(code, **params)
        super().__init__(str(invalid(code, **params)))


def zone(name: str) -> ZoneInfo:
    if len(name) > 64:  # IANA names are short; a long "a/b/c/…" makes zoneinfo's lookup recurse
        raise InstantError("instant.unknown_zone", zone=f"{name[:64]}…")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InstantError("instant.unknown_zone", zone=name) from err


def resolve_local_gap(local: datetime, tz: ZoneInfo) -> None:
    """Refuse a local time ``tz`` skips (the clocks go forward over it)."""
    early = local.replace(tzinfo=tz, fold=0)
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local:
        raise InstantError("instant.gap", local=f"{local:%Y-%m-%d %H:%M}", zone=tz.key)


def resolve_local(local: datetime, tz: ZoneInfo) -> datetime:
    """The one instant a naive local time names in ``tz``, or an InstantError."""
    early = local.replace(tzinfo=tz, fold=0)
    late = local.replace(tzinfo=tz, fold=1)
    # In a gap both folds differ too (PEP 495), so test for the gap first.
    resolve_local_gap(local, tz)
    if early.utcoffset() != late.utcoffset():
        raise InstantError("instant.ambiguous", local=f"{local:%Y-%m-%d %H:%M}", zone=tz.key)
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
        raise InstantError(
            "instant.abbreviation_ambiguous", local=when, abbreviation=abbreviation, zone=tz.key
        )
    used = " or ".join(sorted({local.replace(tzinfo=tz, fold=f).tzname() or "" for f in (0, 1)}))
    if abbreviation in _zone_abbreviations(tz, local.year):
        raise InstantError(
            "instant.wrong_abbreviation",
            local=when,
            used=used,
            zone=tz.key,
            abbreviation=abbreviation,
        )
    raise InstantError(
        "instant.unknown_abbreviation",
        abbreviation=abbreviation,
        zone=tz.key,
        local=when,
        used=used,
    )


def parse_instant(text: str, operator_zone: str = DEFAULT_OPERATOR_ZONE) -> datetime:
    """Parse a person's time into an aware UTC datetime; see the module docstring.

    ``operator_zone`` is the zone an abbreviation such as CET is read in."""
    text = _KL.sub(r"\1 ", text.strip())
    if not text:
        raise InstantError("instant.empty")
    head, _, tail = text.rpartition(" ")
    if head and ("/" in tail or ABBREVIATION.fullmatch(tail)):
        try:
            local = datetime.fromisoformat(head.strip())
        except ValueError as err:
            raise InstantError("instant.unreadable_local", text=head) from err
        if local.tzinfo is not None:
            raise InstantError("instant.offset_and_zone", text=text)
        if "/" in tail:
            return resolve_local(local, zone(tail))
        if tail in UNIVERSAL:
            return local.replace(tzinfo=UTC)
        return resolve_abbreviation(local, tail, zone(operator_zone))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as err:
        raise InstantError("instant.unreadable", text=text) from err
    if parsed.tzinfo is None:
        raise InstantError("instant.naive", text=text)
    return parsed.astimezone(UTC)


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
"""No incident is older: an earlier time is a typo in the year."""
LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)
"""An instant nearer datetime's end would overflow when shown in a zone."""
AHEAD = timedelta(days=366)
"""How far ahead a time may be at the CLI's edge (``not_far_ahead``)."""


def _coerce(value: Any, info: ValidationInfo) -> datetime:
    """An ``Instant`` field's value; a refusal carries its problem's code to pydantic."""
    operator_zone = (info.context or {}).get("operator_zone", DEFAULT_OPERATOR_ZONE)
    try:
        return instant_in_range(value, operator_zone)
    except InstantError as err:
        raise invalid_from(err.problem) from None


def instant_in_range(value: Any, operator_zone: str = DEFAULT_OPERATOR_ZONE) -> datetime:
    """What a person gave, as an instant from 1970 to a few days before datetime's end."""
    out_of_range = InstantError(
        "instant.out_of_range", earliest=EARLIEST.date(), latest=LATEST.date()
    )
    try:
        instant = _read(value, operator_zone)
    except OverflowError as err:
        raise out_of_range from err
    if instant < EARLIEST:
        raise InstantError("instant.too_early", date=instant.date(), earliest=EARLIEST.date())
    if instant > LATEST:
        raise out_of_range
    return instant


def _read(value: Any, operator_zone: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InstantError("instant.naive_datetime")
        return value.astimezone(UTC)
    if isinstance(value, str):
        return parse_instant(value, operator_zone)
    raise InstantError("instant.not_a_time")


def day_over(day: date, tz: ZoneInfo, now: datetime) -> bool:
    """Whether ``day`` has ended in ``tz`` by the instant ``now``: the next day's first
    instant (its midnight; where the clocks skip midnight, the moment they jump) is not
    after ``now``."""
    if day >= date.max:
        return False
    ends = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return ends.astimezone(UTC) <= now.astimezone(UTC)  # instants, whatever zone ``now`` is in


def far_ahead_problem(instant: datetime | None, now: datetime, field: str) -> Problem | None:
    """``instant`` more than a year after ``now``: a typo in the year, which the workflow
    would refuse anyway, said before anything is sent."""
    if instant is None or instant <= now + AHEAD:
        return None
    return problem("instant.far_ahead", field, at=instant)


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
