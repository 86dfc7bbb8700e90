"""An incident's state as the domain tests start from: opened, its clocks started."""

from __future__ import annotations

from datetime import datetime

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import IncidentState, Policy, Track
from breachclock.domain.regimes import RegimeCode


def incident_state(
    reference: str,
    aware_at: datetime,
    policy: Policy | None = None,
    code: RegimeCode = RegimeCode.PTS,
) -> IncidentState:
    """Incident ``reference`` under ``code``, aware at ``aware_at``, its track started."""
    track = Track(regime=code, aware_at=aware_at)
    lifecycle.start_track(track)
    return IncidentState(
        reference=reference,
        title="Hemliga nummer",
        regime=code,
        opened_at=aware_at,
        opened_by="Anna",
        policy=policy or Policy(),
        tracks=[track],
    )
