"""Calling hours on the subscriber's own clock, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from breachclock.domain.notify.calling import attempt_times, next_call_slot

STHLM = "Europe/Stockholm"


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (utc(2025, 6, 2, 7, 0), utc(2025, 6, 2, 7, 0)),  # 09:00 CEST: start is inside
        (utc(2025, 6, 2, 6, 59), utc(2025, 6, 2, 7, 0)),  # 08:59: wait for 09:00
        (utc(2025, 6, 2, 17, 59, 59), utc(2025, 6, 2, 17, 59, 59)),  # 19:59:59 inside
        (utc(2025, 6, 2, 18, 0), utc(2025, 6, 3, 7, 0)),  # 20:00: end is outside
        (utc(2025, 6, 2, 22, 30), utc(2025, 6, 3, 7, 0)),  # 00:30 next local day
        (utc(2025, 1, 15, 8, 0), utc(2025, 1, 15, 8, 0)),  # 09:00 CET
        (utc(2025, 1, 15, 7, 59), utc(2025, 1, 15, 8, 0)),
        (utc(2025, 1, 15, 19, 0), utc(2025, 1, 16, 8, 0)),  # 20:00 CET
    ],
)
def test_window_edges(after: datetime, expected: datetime) -> None:
    assert next_call_slot(after, STHLM) == expected


def test_spring_forward_2025_03_30() -> None:
    # 21:00 CET on the 29th; 09:00 on the 30th is CEST (07:00Z), not 08:00Z.
    assert next_call_slot(utc(2025, 3, 29, 20, 0), STHLM) == utc(2025, 3, 30, 7, 0)
    # During the night of the change (03:30 CEST, 01:30Z).
    assert next_call_slot(utc(2025, 3, 30, 1, 30), STHLM) == utc(2025, 3, 30, 7, 0)
    # The evening of the change day: 19:59 CEST inside, 20:00 CEST (18:00Z) out.
    assert next_call_slot(utc(2025, 3, 30, 17, 59), STHLM) == utc(2025, 3, 30, 17, 59)
    assert next_call_slot(utc(2025, 3, 30, 18, 0), STHLM) == utc(2025, 3, 31, 7, 0)
    # 19:00Z on the 29th is 20:00 CET: closed (under CEST it would read 21:00, also closed,
    # but the next opening is still the CEST one).
    assert next_call_slot(utc(2025, 3, 29, 19, 0), STHLM) == utc(2025, 3, 30, 7, 0)


def test_fall_back_2025_10_26() -> None:
    # 20:30 CEST on the 25th; 09:00 on the 26th is CET (08:00Z), not 07:00Z.
    assert next_call_slot(utc(2025, 10, 25, 18, 30), STHLM) == utc(2025, 10, 26, 8, 0)
    # 07:30Z on the 26th is 08:30 CET: still closed (it would be 09:30 under CEST).
    assert next_call_slot(utc(2025, 10, 26, 7, 30), STHLM) == utc(2025, 10, 26, 8, 0)
    # 19:00Z on the 26th is 20:00 CET: closed; on the 25th 18:59Z was 20:59 CEST.
    assert next_call_slot(utc(2025, 10, 26, 19, 0), STHLM) == utc(2025, 10, 27, 8, 0)
    assert next_call_slot(utc(2025, 10, 26, 18, 59), STHLM) == utc(2025, 10, 26, 18, 59)


def test_subscriber_in_another_zone() -> None:
    # 08:30 in Stockholm is 09:30 in Helsinki: open there, not here.
    at = utc(2025, 6, 2, 6, 30)
    assert next_call_slot(at, "Europe/Helsinki") == at
    assert next_call_slot(at, STHLM) == utc(2025, 6, 2, 7, 0)
    # New York changed its clocks on 9 March 2025, three weeks before Sweden:
    # on 20 March 09:00 EDT is 13:00Z.
    assert next_call_slot(utc(2025, 3, 20, 2, 0), "America/New_York") == utc(2025, 3, 20, 13, 0)
    # A zone without DST and a half-hour offset: 09:00 IST is 03:30Z.
    assert next_call_slot(utc(2025, 6, 2, 15, 0), "Asia/Kolkata") == utc(2025, 6, 3, 3, 30)


def test_custom_window_and_result_is_utc() -> None:
    slot = next_call_slot(
        datetime.fromisoformat("2025-06-02T17:00+02:00"), STHLM, start=time(10), end=time(16)
    )
    assert slot == utc(2025, 6, 3, 8, 0)
    assert slot.tzinfo is UTC


def test_window_start_in_the_spring_gap_opens_at_the_change() -> None:
    # 02:30 does not exist on 30 March; the clock reads 03:00 CEST at 01:00Z.
    assert next_call_slot(utc(2025, 3, 29, 20, 0), STHLM, start=time(2, 30)) == utc(
        2025, 3, 30, 1, 0
    )


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_call_slot(datetime(2025, 6, 2, 10, 0), STHLM)
    with pytest.raises(ValueError, match="start before"):
        next_call_slot(utc(2025, 6, 2, 10, 0), STHLM, start=time(20), end=time(9))
    with pytest.raises(ValueError, match="unknown time zone"):
        next_call_slot(utc(2025, 6, 2, 10, 0), "Europe/Stockhlom")


def test_attempts_across_the_night_and_the_spring_change() -> None:
    # YouSee-style: five calls three hours apart, from 15:00 CET on 29 March.
    times = attempt_times(utc(2025, 3, 29, 14, 0), 5, timedelta(hours=3), STHLM)
    assert times == [
        utc(2025, 3, 29, 14, 0),  # 15:00 CET
        utc(2025, 3, 29, 17, 0),  # 18:00 CET
        utc(2025, 3, 30, 7, 0),  # 21:00 CET is closed: 09:00 CEST
        utc(2025, 3, 30, 10, 0),  # 12:00 CEST
        utc(2025, 3, 30, 13, 0),  # 15:00 CEST
    ]


def test_attempts_start_outside_window_and_never_pile_up() -> None:
    times = attempt_times(
        utc(2025, 10, 25, 21, 0), 3, timedelta(minutes=30), STHLM, time(9), time(10)
    )
    assert times == [utc(2025, 10, 26, 8, 0), utc(2025, 10, 26, 8, 30), utc(2025, 10, 27, 8, 0)]
    assert len(set(times)) == len(times)
    with pytest.raises(ValueError):
        attempt_times(utc(2025, 6, 2, 8, 0), 0, timedelta(hours=1), STHLM)
    with pytest.raises(ValueError):
        attempt_times(utc(2025, 6, 2, 8, 0), 2, timedelta(0), STHLM)
