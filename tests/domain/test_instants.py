"""Instants: parsing what people type, DST-safe deadlines, calendar months, the pydantic type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import (
    Discover,
    Filing,
    FilingKind,
    IncidentState,
    Policy,
    Track,
)
from breachclock.domain.instants import (
    EARLIEST,
    InstantError,
    add_calendar_month,
    far_ahead_problem,
    iso_local,
    parse_instant,
    resolve_local,
    show,
)
from breachclock.domain.regimes import RegimeCode, regime
from tests.cli_support import offline

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PTS = regime(RegimeCode.PTS)
INITIAL, SUPPLEMENTARY = PTS.stages


# --- the two DST cases from the domain notes -------------------------------------------------


def test_initial_report_due_across_spring_forward() -> None:
    aware_at = parse_instant("2025-03-29T10:00+01:00")
    due = INITIAL.due(aware_at)
    assert due == datetime(2025, 3, 30, 9, 0, tzinfo=UTC)
    assert due is not None and due - aware_at == timedelta(hours=24)
    assert show(due, STOCKHOLM) == "2025-03-30 11:00 CEST"
    assert iso_local(due, STOCKHOLM) == "2025-03-30T11:00:00+02:00"


def test_initial_report_due_across_fall_back() -> None:
    aware_at = parse_instant("2025-10-25T10:00+02:00")
    due = INITIAL.due(aware_at)
    assert due == datetime(2025, 10, 26, 8, 0, tzinfo=UTC)
    assert due is not None and due - aware_at == timedelta(hours=24)
    assert show(due, STOCKHOLM) == "2025-10-26 09:00 CET"
    assert iso_local(due, STOCKHOLM) == "2025-10-26T09:00:00+01:00"


def test_zone_form_gives_the_same_deadlines_as_offset_form() -> None:
    spring = parse_instant("2025-03-29 10:00 Europe/Stockholm")
    autumn = parse_instant("2025-10-25 10:00 Europe/Stockholm")
    assert spring == parse_instant("2025-03-29T10:00+01:00")
    assert autumn == parse_instant("2025-10-25T10:00+02:00")
    assert show(INITIAL.due(spring), STOCKHOLM) == "2025-03-30 11:00 CEST"
    assert show(INITIAL.due(autumn), STOCKHOLM) == "2025-10-26 09:00 CET"


# --- parse_instant: accepted forms -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-29T10:00+01:00", datetime(2025, 3, 29, 9, 0, tzinfo=UTC)),
        ("2025-03-29T10:00Z", datetime(2025, 3, 29, 10, 0, tzinfo=UTC)),
        ("2025-03-29T10:00:00+00:00", datetime(2025, 3, 29, 10, 0, tzinfo=UTC)),
        ("2025-03-29 10:00 Europe/Stockholm", datetime(2025, 3, 29, 9, 0, tzinfo=UTC)),
        ("2025-07-01 10:00 Europe/Stockholm", datetime(2025, 7, 1, 8, 0, tzinfo=UTC)),
        ("  2025-03-29T10:00+01:00  ", datetime(2025, 3, 29, 9, 0, tzinfo=UTC)),
        ("2025-03-29 10:00 UTC", datetime(2025, 3, 29, 10, 0, tzinfo=UTC)),
        # Either side of the October repetition with an explicit offset is unambiguous.
        ("2025-10-26T02:30+02:00", datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
        ("2025-10-26T02:30+01:00", datetime(2025, 10, 26, 1, 30, tzinfo=UTC)),
    ],
)
def test_parse_instant_accepts(text: str, expected: datetime) -> None:
    parsed = parse_instant(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


# --- parse_instant: refused forms, with messages a person understands ------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2025-03-29T10:00", ["no offset or zone", "+01:00"]),
        ("2025-03-29 10:00", ["no offset or zone"]),
        ("", ["empty"]),
        ("   ", ["empty"]),
        ("2025-03-29 10:00 Mars/Olympus_Mons", ["unknown time zone", "Mars/Olympus_Mons"]),
        ("next tuesday", ["cannot read", "ISO-8601"]),
        ("2025-13-45T10:00+01:00", ["cannot read"]),
        ("yesterday Europe/Stockholm", ["cannot read", "yesterday"]),
        ("2025-03-29T10:00+01:00 Europe/Stockholm", ["both an offset and a zone"]),
        ("2025-10-26 02:30 Europe/Stockholm", ["ambiguous", "Europe/Stockholm", "offset"]),
        ("2025-03-30 02:30 Europe/Stockholm", ["does not exist", "Europe/Stockholm"]),
    ],
)
def test_parse_instant_refuses(text: str, words: list[str]) -> None:
    with pytest.raises(InstantError) as caught:
        parse_instant(text)
    for word in words:
        assert word in str(caught.value)


def test_nonexistent_spring_time_says_it_does_not_exist() -> None:
    with pytest.raises(InstantError) as caught:
        parse_instant("2025-03-30 02:30 Europe/Stockholm")
    message = str(caught.value)
    assert "does not exist" in message
    assert "forward" in message
    assert "ambiguous" not in message


def test_ambiguous_autumn_time_explains_the_clocks_go_back() -> None:
    with pytest.raises(InstantError) as caught:
        resolve_local(datetime(2025, 10, 26, 2, 30), STOCKHOLM)
    assert "ambiguous" in str(caught.value)
    assert "go back" in str(caught.value)


def test_resolve_local_on_an_ordinary_time_is_the_one_instant() -> None:
    assert resolve_local(datetime(2025, 10, 26, 3, 30), STOCKHOLM) == datetime(
        2025, 10, 26, 2, 30, tzinfo=UTC
    )
    assert resolve_local(datetime(2025, 3, 30, 3, 0), STOCKHOLM) == datetime(
        2025, 3, 30, 1, 0, tzinfo=UTC
    )


# --- every Europe/Stockholm transition 2020-2035 ---------------------------------------------


@cache
def transitions() -> tuple[datetime, ...]:
    """The UTC instants at which Europe/Stockholm's offset changes, 2020-2035 (scanned)."""
    found = []
    at = datetime(2020, 1, 1, tzinfo=UTC)
    end = datetime(2036, 1, 1, tzinfo=UTC)
    before = at.astimezone(STOCKHOLM).utcoffset()
    while at < end:
        nxt = at + timedelta(hours=1)
        after = nxt.astimezone(STOCKHOLM).utcoffset()
        if after != before:
            found.append(nxt)
        at, before = nxt, after
    return tuple(found)


def offset(instant: datetime) -> timedelta:
    value = instant.astimezone(STOCKHOLM).utcoffset()
    assert value is not None
    return value


def local_arithmetic(start: datetime, hours: int) -> datetime:
    """The naive way: add hours to the Stockholm wall clock (what aware ZoneInfo maths does)."""
    return (start.astimezone(STOCKHOLM) + timedelta(hours=hours)).astimezone(UTC)


def wall_time_exists(instant_local: datetime) -> bool:
    """Whether a (tz-aware, fold=0) Stockholm wall-clock time is one that the clocks show."""
    naive = instant_local.replace(tzinfo=None)
    return instant_local.astimezone(UTC).astimezone(STOCKHOLM).replace(tzinfo=None) == naive


def test_transitions_are_two_a_year_alternating() -> None:
    found = transitions()
    assert len(found) == 2 * 16
    for spring, autumn in zip(found[::2], found[1::2], strict=True):
        assert spring.month == 3 and autumn.month == 10
        assert spring.year == autumn.year
        assert offset(spring) - offset(spring - timedelta(hours=1)) == timedelta(hours=1)
        assert offset(autumn) - offset(autumn - timedelta(hours=1)) == timedelta(hours=-1)
        # The EU rule: the last Sunday of the month at 01:00 UTC.
        for change in (spring, autumn):
            assert change.weekday() == 6 and (change + timedelta(days=7)).month != change.month
            assert (change.hour, change.minute) == (1, 0)


def lossless(instant: datetime) -> None:
    local = instant.astimezone(STOCKHOLM)
    assert local.astimezone(UTC) == instant
    text = iso_local(instant, STOCKHOLM)
    assert text is not None
    assert parse_instant(text) == instant
    # The wall clock plus fold (set by astimezone in the repeated hour) is also lossless.
    wall = local.replace(tzinfo=None)
    assert wall.replace(tzinfo=STOCKHOLM).astimezone(UTC) == instant


@settings(max_examples=200, deadline=None)
@given(
    change=st.sampled_from(transitions()),
    minutes=st.integers(min_value=-48 * 60, max_value=48 * 60),
    filing_delay=st.integers(min_value=0, max_value=24 * 60),
)
def test_deadlines_are_elapsed_hours_around_every_transition(
    change: datetime, minutes: int, filing_delay: int
) -> None:
    aware_at = change + timedelta(minutes=minutes)
    # Through the lifecycle: the supplementary clock anchors on the initial filing.
    state = IncidentState(
        reference="DST-1",
        title="around a clock change",
        regime=RegimeCode.PTS,
        opened_at=aware_at,
        opened_by="tester",
        policy=Policy(),
    )
    track = Track(regime=RegimeCode.PTS, aware_at=aware_at)
    lifecycle.start_track(track)
    state.tracks.append(track)
    initial_due = lifecycle.stage_due(track, INITIAL)
    assert initial_due == INITIAL.due(aware_at)
    sent_at = aware_at + timedelta(minutes=filing_delay)
    lifecycle.record_filing(
        state,
        0,
        Filing(
            number=1,
            regime=RegimeCode.PTS,
            kind=FilingKind.INITIAL,
            stage=INITIAL.name,
            recipient="incidentrapport@pts.se",
            message_id="<1@test>",
            sent_at=sent_at,
            due_at=initial_due,
            late=False,
            missing=["root_cause"],
            facts_version=0,
        ),
    )
    assert lifecycle.current_stage(track) == SUPPLEMENTARY
    supplementary_due = lifecycle.stage_due(track, SUPPLEMENTARY)
    assert initial_due is not None and supplementary_due is not None

    for start, due, hours in ((aware_at, initial_due, 24), (sent_at, supplementary_due, 72)):
        assert due - start == timedelta(hours=hours)
        assert due.timestamp() - start.timestamp() == hours * 3600
        lossless(start)
        lossless(due)
        # Wall-clock arithmetic is off by the offset change it steps over (when the wall
        # time it lands on exists at all), so it is wrong whenever the offsets differ.
        naive_local = start.astimezone(STOCKHOLM) + timedelta(hours=hours)
        if wall_time_exists(naive_local):
            naive = naive_local.astimezone(UTC)
            assert naive - due == offset(start) - offset(naive)
            if offset(due) != offset(start):
                assert naive != due
                assert abs(naive - due) == timedelta(hours=1)
            else:
                assert naive == due


@pytest.mark.parametrize("change", transitions(), ids=lambda c: c.date().isoformat())
def test_local_arithmetic_is_wrong_on_every_transition_day(change: datetime) -> None:
    """For awareness on the local change day itself, wall-clock +24h/+72h misses by an hour."""
    day = change.astimezone(STOCKHOLM).date()
    start = datetime(day.year, day.month, day.day, tzinfo=STOCKHOLM).astimezone(UTC)
    spring = offset(change) > offset(change - timedelta(hours=1))
    for hours in (24, 72):
        wrong = []
        at = start
        while at.astimezone(STOCKHOLM).date() == day:
            due = INITIAL.due(at) if hours == 24 else SUPPLEMENTARY.due(at)
            assert due is not None and due - at == timedelta(hours=hours)
            naive = local_arithmetic(at, hours)
            if naive != due:
                wrong.append(at)
                assert abs(naive - due) == timedelta(hours=1)
                if not spring:
                    # In autumn the naive deadline is an hour after the real one: late.
                    assert naive > due
            at += timedelta(minutes=15)
        assert wrong, f"local arithmetic was right all of {day} for {hours} h"
        # The times before the change (on its day) are those the naive sum gets wrong.
        assert all(w < change for w in wrong)


@pytest.mark.parametrize("change", transitions(), ids=lambda c: c.date().isoformat())
def test_gap_and_repeated_wall_times_are_refused_on_every_transition(change: datetime) -> None:
    before = (change - timedelta(minutes=30)).astimezone(STOCKHOLM).replace(tzinfo=None)
    after = (change + timedelta(minutes=30)).astimezone(STOCKHOLM).replace(tzinfo=None)
    spring = after - before > timedelta(hours=1)
    # Spring: the wall clock jumps 02:00 -> 03:00, so 02:30 never happens.
    # Autumn: 03:00 -> 02:00, so 02:30 happens twice.
    troublesome = before.replace(hour=2, minute=30)
    text = f"{troublesome:%Y-%m-%d %H:%M} Europe/Stockholm"
    with pytest.raises(InstantError) as caught:
        parse_instant(text)
    message = str(caught.value)
    if spring:
        assert "does not exist" in message and "forward" in message
        assert "ambiguous" not in message
    else:
        assert "ambiguous" in message and "go back" in message
    # An hour later is an ordinary time in both seasons.
    later = troublesome + timedelta(hours=1)
    assert parse_instant(f"{later:%Y-%m-%d %H:%M} Europe/Stockholm") == resolve_local(
        later, STOCKHOLM
    )


# --- calendar months -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2025, 1, 31, 9, 30, tzinfo=UTC), datetime(2025, 2, 28, 9, 30, tzinfo=UTC)),
        (datetime(2024, 1, 31, 9, 30, tzinfo=UTC), datetime(2024, 2, 29, 9, 30, tzinfo=UTC)),
        (datetime(2025, 12, 15, 8, 0, tzinfo=UTC), datetime(2026, 1, 15, 8, 0, tzinfo=UTC)),
        (datetime(2025, 12, 31, 8, 0, tzinfo=UTC), datetime(2026, 1, 31, 8, 0, tzinfo=UTC)),
        (datetime(2025, 3, 31, 8, 0, tzinfo=UTC), datetime(2025, 4, 30, 8, 0, tzinfo=UTC)),
        (datetime(2025, 11, 30, 8, 0, tzinfo=UTC), datetime(2025, 12, 30, 8, 0, tzinfo=UTC)),
        (datetime(2025, 2, 28, 8, 0, tzinfo=UTC), datetime(2025, 3, 28, 8, 0, tzinfo=UTC)),
    ],
)
def test_add_calendar_month(start: datetime, expected: datetime) -> None:
    assert add_calendar_month(start) == expected


# --- the pydantic Instant type ---------------------------------------------------------------


def test_discover_refuses_naive_string() -> None:
    with pytest.raises(ValidationError) as caught:
        Discover(at="2025-03-29T10:00", by="Alice", how="SOC alert")
    assert "no offset or zone" in str(caught.value)


def test_discover_refuses_naive_datetime_and_non_times() -> None:
    with pytest.raises(ValidationError):
        Discover(at=datetime(2025, 3, 29, 10, 0), by="Alice", how="SOC alert")
    with pytest.raises(ValidationError):
        Discover(at=1743238800, by="Alice", how="SOC alert")
    with pytest.raises(ValidationError):
        Discover(at="2025-10-26 02:30 Europe/Stockholm", by="Alice", how="SOC alert")


@pytest.mark.parametrize(
    "given_at",
    [
        "2025-03-29T10:00+01:00",
        "2025-03-29T09:00Z",
        "2025-03-29 10:00 Europe/Stockholm",
        datetime(2025, 3, 29, 10, 0, tzinfo=STOCKHOLM),
        datetime(2025, 3, 29, 9, 0, tzinfo=UTC),
    ],
)
def test_discover_stores_utc(given_at: str | datetime) -> None:
    found = Discover(at=given_at, by="Alice", how="SOC alert")
    assert found.at == datetime(2025, 3, 29, 9, 0, tzinfo=UTC)
    assert found.at.utcoffset() == timedelta(0)
    assert found.at.tzinfo is UTC
    assert found.model_dump(mode="json")["at"] == "2025-03-29T09:00:00+00:00"
    assert Discover.model_validate_json(found.model_dump_json()) == found


# --- the times the tool prints, typed back ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-02 05:00 CET", datetime(2026, 12, 2, 4, 0, tzinfo=UTC)),
        ("2026-07-01 10:00 CEST", datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        ("2026-12-02 kl. 05:00 CET", datetime(2026, 12, 2, 4, 0, tzinfo=UTC)),
        ("2026-12-02 kl 05:00 Europe/Stockholm", datetime(2026, 12, 2, 4, 0, tzinfo=UTC)),
        ("2026-12-02 05:00 GMT", datetime(2026, 12, 2, 5, 0, tzinfo=UTC)),
        ("2026-12-02 05:00:30 UTC", datetime(2026, 12, 2, 5, 0, 30, tzinfo=UTC)),
        # The abbreviation says which of the repeated hour: as an offset would.
        ("2025-10-26 02:30 CEST", datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
        ("2025-10-26 02:30 CET", datetime(2025, 10, 26, 1, 30, tzinfo=UTC)),
    ],
)
def test_the_tools_own_times_are_read_back(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)
    )
)
def test_every_time_shown_reads_back_as_the_same_instant(instant: datetime) -> None:
    assert parse_instant(show(instant, STOCKHOLM)) == instant


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "2026-12-02 05:00 CEST",
            "2026-12-02 05:00 is CET in Europe/Stockholm, not CEST: write 2026-12-02 05:00 CET",
        ),
        ("2026-07-01 10:00 CET", "is CEST in Europe/Stockholm, not CET"),
        ("2026-12-02 05:00 EST", "unknown zone abbreviation 'EST'"),
        ("2026-12-02 05:00 EST", "America/New_York"),
        ("2025-03-30 02:30 CET", "does not exist in Europe/Stockholm"),
        ("2025-03-30 02:30 CEST", "does not exist in Europe/Stockholm"),
        ("2026-12-02T05:00+01:00 CET", "both an offset and a zone"),
        ("2026-12-32 05:00 CET", "cannot read '2026-12-32 05:00'"),
    ],
)
def test_abbreviations_that_do_not_fit_are_refused(text: str, words: str) -> None:
    with pytest.raises(InstantError) as caught:
        parse_instant(text)
    assert words in str(caught.value)


def test_abbreviations_are_read_in_the_operators_zone() -> None:
    assert parse_instant("2026-12-02 05:00 EST", "America/New_York") == datetime(
        2026, 12, 2, 10, 0, tzinfo=UTC
    )
    with pytest.raises(InstantError, match="unknown zone abbreviation 'CET'"):
        parse_instant("2026-12-02 05:00 CET", "America/New_York")
    context = {"operator_zone": "Europe/London"}
    found = Discover.model_validate(
        {"at": "2026-07-01 10:00 BST", "by": "A", "how": "h"}, context=context
    )
    assert found.at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def test_instants_start_in_1970() -> None:
    assert Discover(at="1970-01-01T00:00Z", by="A", how="h").at == EARLIEST
    with pytest.raises(ValidationError) as caught:
        Discover(at="1969-12-31T23:59Z", by="A", how="h")
    assert "1969-12-31 is before 1970-01-01" in str(caught.value)
    with pytest.raises(ValidationError, match="before 1970-01-01, and no incident"):
        Discover(at="0202-11-23 09:00 Europe/Stockholm", by="A", how="h")  # a typo in the year


def test_a_year_ahead_is_refused_early() -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert far_ahead_problem(now + timedelta(days=300), now, "at") is None
    found = far_ahead_problem(now + timedelta(days=366, minutes=1), now, "at")
    assert found is not None
    assert (found.code, found.field) == ("instant.far_ahead", "at")
    assert (
        found.words(Voice("en")) == "2027-12-03 12:01 UTC is more than a year ahead; check the year"
    )


def test_the_cli_refuses_a_year_ahead_before_sending_anything() -> None:
    ahead = f"{datetime.now(UTC).year + 2}-01-10 09:00 CET"
    for args in (
        ("discover", "INC-2026-001", "--at", ahead, "--how", "x"),
        ("event", "INC-2026-001", "--at", ahead, "--what", "x"),
        ("security", "INC-2026-001", "--aware-at", ahead),
    ):
        run = offline(*args)
        assert run.returncode == 1, run.stderr
        assert "is more than a year ahead; check the year" in run.stderr
        assert len(run.stderr.splitlines()) == 1
