"""Never silent at a deadline (issue 20), the pure rules: the follow-up filed at the
3-day mark says what it is and when each missing fact is expected, and on what ground;
notice waiting for containment is bounded, escalated at the bound, and the filing
states the wait and its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from breachclock.domain.incident.containment import PageWait, wait_step
from breachclock.domain.incident.escalation import containment_wait_page
from breachclock.domain.incident.model import Policy
from breachclock.domain.incident.report import render_text, subject
from breachclock.domain.regimes import RegimeCode
from tests.filing_cases import COMVIQ, YOUSEE, at_deadline, variant
from tests.states import incident_state

T0 = datetime(2026, 2, 24, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_the_follow_up_filed_at_the_three_day_mark_dates_each_missing_fact() -> None:
    text = render_text(at_deadline(COMVIQ))
    assert "Typ av rapport: kompletterande rapport med det som är känt vid tidsfristen" in text
    assert "UPPGIFTER SAKNAS VID TIDSFRISTEN" in text
    assert "ingen motivering till att uppgifter saknas hade registrerats" in text
    # The root cause with the date the operator recorded; the planned measures with the
    # policy's three days after the filing (2026-02-27 08:50 CET + 3 d), each saying which.
    assert (
        "okänt, eftersom leverantören granskar fortfarande migreringsprogrammets regel; "
        "väntas senast 2026-03-13 (enligt operatörens uppgift)"
    ) in text
    assert "väntas senast 2026-03-02 (operatörens standardfrist; inget datum angivet)" in text
    assert "standardfrist på 3 d efter denna rapport (2026-03-02)" in text
    assert "stående fullmakt som Karin Berg (Incidentansvarig)" in text, "who answers for it"
    assert "Nästa rapport bekräftar eller rättar den." in text
    assert "Välgrundad motivering" not in text, "no justification is claimed"


def test_the_danish_follow_up_at_the_deadline_reads_in_danish() -> None:
    draft = variant(at_deadline(YOUSEE), drafted_at=YOUSEE.due_at - 6 * HOUR)
    text = f"{subject(draft)}\n{render_text(draft)}"
    assert "supplerende anmeldelse med det, der er kendt ved fristen" in text
    assert "OPLYSNINGER MANGLER VED FRISTEN" in text
    assert "forventes senest 2018-05-31" not in text, "Danish dates are day.month.year"
    assert "(operatørens standardfrist; ingen dato angivet)" in text


def test_the_filing_states_the_wait_for_containment_its_reason_and_its_bound() -> None:
    draft = at_deadline(COMVIQ)
    since, bound = draft.notice_waiting_since, draft.notice_wait_bound
    assert since is not None and bound is not None and draft.drafted_at > bound
    text = render_text(draft)
    assert "så att ingen får höra att uppgifterna tagits bort innan de har det" in text
    assert "Underrättelsen väntar sedan 2026-02-26 kl. 02:50 CET" in text
    assert "gräns för väntan (1 d) nåddes 2026-02-27 kl. 02:50 CET" in text
    assert "beslutad; underrättelsen väntar på att de publicerade uppgifterna tas bort" in text

    before = render_text(variant(draft, drafted_at=bound - HOUR))
    assert "begränsar väntan till 1 d: är borttagningarna inte bekräftade 2026-02-27" in before


def test_the_wait_for_containment_is_paged_at_its_bound_then_at_the_overdue_rhythm() -> None:
    repeat = Policy().overdue_repeat
    bound = T0 + 24 * HOUR
    assert wait_step(False, bound, 0, None, repeat) is None, "nothing waits"
    assert wait_step(True, None, 0, None, repeat) is None, "a run from before bounds"
    first = wait_step(True, bound, 0, None, repeat)
    assert first is not None and (first.at, first.step) == (bound, PageWait(1))
    again = wait_step(True, bound, 1, bound + HOUR, repeat)
    assert again is not None and (again.at, again.step) == (bound + HOUR + repeat, PageWait(2))
    assert again.step.key == "containment-wait:2"


def test_the_containment_page_asks_management_to_weigh_the_decision_again() -> None:
    policy = Policy(audiences=[["oncall@op"], ["manager@op"], ["ciso@op"], ["board@op"]])
    state = incident_state("INC-9", T0, policy, RegimeCode.PTS)
    state.notification.people = 3300
    state.notification.waiting_since = T0
    state.notification.wait_bound = T0 + 24 * HOUR
    page = containment_wait_page(state, 1, T0 + 24 * HOUR)
    assert page.recipients == ["oncall@op", "manager@op", "ciso@op", "board@op"]
    assert page.idempotency_key == "INC-9:page:containment-wait:1"
    assert "Notice to 3,300 people was decided on" in page.body
    assert "notify now without waiting" in page.body
