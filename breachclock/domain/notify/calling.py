"""When a notification call may be placed: a window of local wall-clock time.

The window (09:00–20:00 by default, start included, end excluded) is read on the
subscriber's own clock, in their own zone, so it moves with daylight saving time:
on the night Sweden moves its clocks, 09:00 local is a different UTC hour than
the day before. All instants in and out are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from breachclock.domain.instants import zone as _zone

CALL_START = time(9, 0)
CALL_END = time(20, 0)


def next_call_slot(
    after: datetime, zone: str, start: time = CALL_START, end: time = CALL_END
) -> datetime:
    """``after`` if it falls inside the window on the subscriber's clock, else the next window start."""
    if after.tzinfo is None:
        raise ValueError("'after' must be an aware datetime (an instant)")
    if not start < end:
        raise ValueError("the calling window must start before it ends, on the same day")
    tz = _zone(zone)
    local = after.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    if start <= wall < end:
        return after.astimezone(UTC)
    day = local.date() if wall < start else local.date() + timedelta(days=1)
    return _opening(day, start, tz)


def attempt_times(
    first: datetime,
    attempts: int,
    spacing: timedelta,
    zone: str,
    start: time = CALL_START,
    end: time = CALL_END,
) -> list[datetime]:
    """The times of ``attempts`` call attempts, each inside the window.

    The first is ``next_call_slot(first)``; each further attempt is ``spacing`` after
    the one before, moved to the next window start when that falls outside the window
    (so attempts never pile up on one morning).
    """
    if attempts < 1:
        raise ValueError("at least one attempt")
    if spacing <= timedelta(0):
        raise ValueError("spacing must be positive")
    times = [next_call_slot(first, zone, start, end)]
    while len(times) < attempts:
        times.append(next_call_slot(times[-1] + spacing, zone, start, end))
    return times


def _opening(day: date, start: time, tz: ZoneInfo) -> datetime:
    """The first instant on ``day`` whose wall clock in ``tz`` reads ``start`` or later (UTC)."""
    early = datetime.combine(day, start, tzinfo=tz)  # fold=0: the first of a repeated time
    utc = early.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == early.replace(tzinfo=None):
        return utc
    # ``start`` falls in a gap (clocks go forward past it): the window opens at the
    # transition itself. PEP 495 resolves a gap time with the offset before (fold=0)
    # and after (fold=1) the change; the transition lies between the two readings.
    low = datetime.combine(day, start, tzinfo=tz).replace(fold=1).astimezone(UTC)
    high = utc
    after_offset = high.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)
