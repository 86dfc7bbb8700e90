"""What the on-call alerts on, read from the open incidents: how many in each state,
how close the nearest deadline is (and the nearest nobody owns), what is overdue, which
regulator's sending fails, which campaigns stopped short.

Every figure is keyed by bounded values only (state, regime, stage): never by an
incident, so a metric's series stay few however many incidents there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import cast, get_args, get_type_hints

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import IncidentState
from breachclock.domain.regimes import RegimeCode, regime, regimes

NO_DEADLINE = float("inf")
"""Seconds to a deadline nobody has: Prometheus reads ``+Inf``, no ``<`` rule fires."""

StateLabel = str
Stage = tuple[RegimeCode, str]


def states() -> tuple[StateLabel, ...]:
    """Every state an incident's label can take (the ``Literal`` it is typed with)."""
    label = cast(property, vars(IncidentState)["state_label"])
    found: tuple[StateLabel, ...] = get_args(get_type_hints(label.fget)["return"])
    return found


def stages() -> list[Stage]:
    """Every (regime, stage) a deadline can be for."""
    return [(code, stage.name) for r in regimes() for code in (r.code,) for stage in r.stages]


@dataclass
class Health:
    """The figures of one look at the open incidents."""

    open: dict[tuple[StateLabel, RegimeCode], int] = field(default_factory=dict)
    next_deadline: dict[Stage, float] = field(default_factory=dict)
    """Seconds until the nearest deadline not yet met, per stage (negative: overdue)."""
    unowned_deadline: dict[Stage, float] = field(default_factory=dict)
    """The same, over deadlines nobody has approved a filing for or acknowledged."""
    overdue: dict[RegimeCode, int] = field(default_factory=dict)
    """Deadlines passed with no filing."""
    sending_failing: dict[RegimeCode, int] = field(default_factory=dict)
    """Tracks whose last filing attempt failed (the relay or the regulator refused)."""
    campaigns_stalled: int = 0
    """Incidents whose latest campaign wave ended without finishing (ended by hand, or
    failed) and no later wave was started: people are left untold until a person acts."""


def health(open_states: list[IncidentState], now: datetime) -> Health:
    """The figures for ``open_states`` at ``now``, every bounded key present (zero or
    ``NO_DEADLINE``), so a series never vanishes and the first change is not lost."""
    found = Health(
        open={(s, r): 0 for s in states() for r in RegimeCode},
        next_deadline=dict.fromkeys(stages(), NO_DEADLINE),
        unowned_deadline=dict.fromkeys(stages(), NO_DEADLINE),
        overdue=dict.fromkeys(RegimeCode, 0),
        sending_failing=dict.fromkeys(RegimeCode, 0),
    )
    for state in open_states:
        if state.closure is not None:
            continue
        found.open[(state.state_label, state.regime)] += 1
        for track in state.tracks:
            found.sending_failing[track.regime] += track.last_error is not None
            for stage in regime(track.regime).stages:
                due = lifecycle.stage_due(track, stage)
                if due is None or stage.name in track.done:
                    continue
                key = (track.regime, stage.name)
                left = (due - now).total_seconds()
                found.next_deadline[key] = min(found.next_deadline[key], left)
                if track.approve is None and stage.name not in track.acknowledged:
                    found.unowned_deadline[key] = min(found.unowned_deadline[key], left)
                found.overdue[track.regime] += left < 0
        waves = state.notification.waves
        if waves and waves[-1].failure is not None:
            found.campaigns_stalled += 1
    return found
