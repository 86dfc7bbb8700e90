"""What the incident's page shows a manager beside the clocks: how long notice waits for
containment against the policy's bound, and when each missing fact is expected (the
date a filing made now would give it, and on what ground)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from breachclock.domain.incident.model import Facts, Filing, FilingKind, IncidentState
from breachclock.domain.incident.views import ExpectedFrom, expected_facts, notice_wait
from breachclock.domain.regimes import RegimeCode
from tests.domain.incident.test_pages import AWARE, incident

HOUR = timedelta(hours=1)


def filed(state: IncidentState, stage: str, at: datetime) -> None:
    """The track's ``stage`` filed at ``at``; the next stage's clock starts there."""
    track = state.tracks[0]
    state.filings.append(
        Filing(
            number=len(state.filings) + 1,
            regime=track.regime,
            kind=FilingKind.INITIAL,
            stage=stage,
            recipient="incidentrapport@pts.se",
            message_id="<m@x>",
            sent_at=at,
            due_at=None,
            late=False,
            missing=[],
            facts_version=0,
        )
    )
    track.done[stage] = at
    if stage == "initial_report":
        track.anchors["supplementary_report"] = at


def test_a_wait_for_containment_shows_its_bound_then_that_it_was_reached_and_paged() -> None:
    state = incident(RegimeCode.PTS)
    assert notice_wait(state, AWARE) is None, "no wait: nothing to show"
    n = state.notification
    n.waiting_for_containment, n.waiting_since, n.wait_bound = True, AWARE, AWARE + 24 * HOUR
    waiting = notice_wait(state, AWARE + 2 * HOUR)
    assert waiting is not None and (waiting.since, waiting.bound) == (AWARE, AWARE + 24 * HOUR)
    assert not waiting.reached and not waiting.paged
    reached = notice_wait(state, AWARE + 24 * HOUR)
    assert reached is not None and reached.reached and not reached.paged
    n.wait_pages = 1
    paged = notice_wait(state, AWARE + 25 * HOUR)
    assert paged is not None and paged.reached and paged.paged
    n.wait_bound = None  # a run from before waits were bounded: no bound to show
    assert notice_wait(state, AWARE) is None


def test_each_missing_fact_is_expected_by_its_own_date_the_next_deadline_or_the_default() -> None:
    state = incident(RegimeCode.PTS)
    state.facts = Facts(expected={"root_cause": date(2026, 12, 1)})
    rows = {e.name: e for e in expected_facts(state)}
    assert list(rows) == state.facts.missing()
    assert (rows["root_cause"].by, rows["root_cause"].ground) == (
        date(2026, 12, 1),
        ExpectedFrom.OWN,
    )
    assert (rows["systems"].by, rows["systems"].ground) == (
        AWARE + 24 * HOUR,
        ExpectedFrom.DEADLINE,
    )

    filed(state, "initial_report", AWARE + 3 * HOUR)
    rows = {e.name: e for e in expected_facts(state)}
    assert rows["systems"].by == AWARE + 75 * HOUR, "the follow-up's deadline, 72 h on"

    filed(state, "supplementary_report", AWARE + 75 * HOUR)  # filed at the mark, facts missing
    rows = {e.name: e for e in expected_facts(state)}
    assert (rows["systems"].by, rows["systems"].ground) == (
        date(2026, 11, 29),
        ExpectedFrom.DEFAULT,
    )
    assert rows["root_cause"].ground is ExpectedFrom.OWN


def test_before_discovery_no_date_is_given_but_an_own_one() -> None:
    state = incident(RegimeCode.PTS)
    state.tracks.clear()
    state.facts = Facts(expected={"root_cause": date(2026, 12, 1)})
    rows = {e.name: e for e in expected_facts(state)}
    assert rows["systems"].by is None and rows["systems"].ground is None
    assert rows["root_cause"].ground is ExpectedFrom.OWN
