"""The figures the on-call alerts on, from incident states: bounded keys, every key
present, the nearest (and nearest unowned) deadline, overdue, failing, stalled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from breachclock.domain.incident.health import NO_DEADLINE, health, stages, states
from breachclock.domain.incident.model import (
    Acknowledgement,
    Closure,
    IncidentState,
    Policy,
    Track,
    Wave,
)
from breachclock.domain.regimes import RegimeCode

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
INITIAL = (RegimeCode.PTS, "initial_report")


def aware(hours_ago: float, **track: object) -> IncidentState:
    """A PTS incident whose initial report's clock started ``hours_ago``."""
    at = NOW - timedelta(hours=hours_ago)
    return IncidentState(
        reference=f"INC-{hours_ago}",
        title="t",
        regime=RegimeCode.PTS,
        opened_at=at,
        opened_by="x",
        policy=Policy(),
        tracks=[Track(regime=RegimeCode.PTS, aware_at=at, anchors={"initial_report": at}, **track)],
    )


def test_nothing_open_still_gives_every_series() -> None:
    found = health([], NOW)
    assert set(found.open) == {(s, r) for s in states() for r in RegimeCode}
    assert set(found.next_deadline) == set(stages()) == set(found.unowned_deadline)
    assert all(v == NO_DEADLINE for v in found.next_deadline.values())
    assert found.overdue == dict.fromkeys(RegimeCode, 0) and found.campaigns_stalled == 0


def test_the_nearest_deadline_and_the_nearest_nobody_owns() -> None:
    owned = aware(23.5, acknowledged={"initial_report": Acknowledgement(by="a", at=NOW, level=0)})
    found = health([owned, aware(20)], NOW)
    assert found.next_deadline[INITIAL] == 0.5 * 3600, "the owned one is nearer"
    assert found.unowned_deadline[INITIAL] == 4 * 3600, "the one nobody owns"
    assert found.open[("opened", RegimeCode.PTS)] == 2
    assert found.overdue[RegimeCode.PTS] == 0


def test_overdue_failing_and_stalled_are_counted_and_closed_ones_are_not() -> None:
    late = aware(25, last_error="550 relay refused")
    stalled = aware(1)
    stalled.notification.waves.append(
        Wave(number=1, first=0, end=10, started_at=NOW, finished_at=NOW, failure="ended by hand")
    )
    closed = aware(30)
    closed.closure = Closure(at=NOW, by="x", reason=None)
    found = health([late, stalled, closed], NOW)
    assert found.overdue[RegimeCode.PTS] == 1
    assert found.next_deadline[INITIAL] == -3600, "negative: an hour overdue"
    assert found.sending_failing[RegimeCode.PTS] == 1
    assert found.campaigns_stalled == 1
    assert sum(found.open.values()) == 2
