"""A notice against the assessment (611/2013 Annex II): where the assessment finds a
likely effect on the person, the notice must recommend what they can do, or it is
refused with the reason beside its recommendations field."""

from __future__ import annotations

from datetime import UTC, datetime

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.notice_checks import notice_problems
from breachclock.domain.notify.assessment import Assessment
from tests.notify_support import HARMFUL, notice
from tests.states import incident_state

AT = datetime(2026, 2, 26, 9, 0, tzinfo=UTC)


def incident(assessment: dict[str, object] | None) -> IncidentState:
    state = incident_state("INC-3", AT)
    if assessment is not None:
        state.notification.assessment = Assessment.model_validate(assessment)
    return state


def test_a_notice_saying_nothing_can_be_done_is_refused_when_harm_is_likely() -> None:
    silent = notice("INC-3").model_copy(update={"recommendations": None})
    (found,) = notice_problems(incident(HARMFUL), silent)
    assert found.code == "notice.recommendations_needed"
    assert found.field == "recommendations", "beside the field"
    words = found.words(Voice("sv"))
    assert "fysisk skada" in words and "rekommenderade åtgärder" in words


def test_a_notice_with_recommendations_or_no_likely_effect_passes() -> None:
    assert notice_problems(incident(HARMFUL), notice("INC-3")) == []
    none = {**HARMFUL, "consequences": ["none_identified"]}
    silent = notice("INC-3").model_copy(update={"recommendations": None})
    assert notice_problems(incident(none), silent) == []
    assert notice_problems(incident(None), silent) == [], "not assessed yet: checked later"
