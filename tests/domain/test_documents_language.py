"""Every document the engine writes to a Swedish or Danish reader is in that language:
filings of every stage and regime (late reasons included), the pages to staff, the
intake's page from monitoring, and the notices to subscribers.

Two checks. Rendered while ``marking()``, every piece that is neither a catalogue
message nor data the test itself gave is foreign (text written in code). And no word
of the English catalogue that the document's own catalogue lacks may appear outside
that data (a message taken from the wrong language's catalogue).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from breachclock.domain.catalogue import DATA, MESSAGE, Voice, foreign, marking, messages
from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.containment import TakedownStatus, TakedownTask, takedown_mail
from breachclock.domain.incident.escalation import (
    build_page,
    containment_wait_page,
    takedown_page,
)
from breachclock.domain.incident.lifecycle import SendPage
from breachclock.domain.incident.model import (
    IncidentState,
    OpenIncident,
    Policy,
)
from breachclock.domain.incident.report import ReportDraft, render_text, subject
from breachclock.domain.instants import zone
from breachclock.domain.notify.notice import Operator, render_notice
from breachclock.domain.notify.subscribers import Subscriber
from breachclock.domain.regimes import RegimeCode, regime
from breachclock.service.intake import page_text
from tests.domain.incident.test_filing_language import swedish_and_danish_drafts
from tests.domain.notify.test_notice import incident as notice_incident
from tests.filing_cases import COMVIQ, variant
from tests.states import incident_state

AWARE = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)


def strings(value: Any, skip: str = "") -> Iterator[str]:
    """Every string in a dumped model: the data a test gave (names, typed facts …), less
    what is under the key ``skip`` (a notice's text in another language)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k != skip:
                yield str(k)
                yield from strings(v, skip)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v, skip)


def unmarked(text: str) -> str:
    return re.sub(f"[{re.escape(''.join(DATA + MESSAGE))}]", "", text)


def english_only(language: str) -> set[str]:
    """Words of the English catalogue that ``language``'s catalogue never uses."""

    def words(lang: str) -> set[str]:
        plain = messages(lang).plain  # type: ignore[arg-type]
        text = " ".join(re.sub(r"\{[^}]*\}", " ", v) for v in plain.values())
        return {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)}

    return words("en") - words(language)


def english_in(text: str, language: str, known: list[str]) -> list[str]:
    """English catalogue words in ``text`` outside the data the test gave."""
    for given in sorted(known, key=len, reverse=True):
        if len(given) > 1:
            text = text.replace(given, " ")
    found = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)}
    return sorted(found & english_only(language))


def check(rendered: str, language: str, known: list[str], strict: bool = True) -> None:
    """``strict``: every piece of text is a message or known data (a filing's layout
    joins dates and values outside messages, so it gets the word check only)."""
    if strict:
        assert foreign(rendered, known) == [], "text that is no catalogue message"
    assert english_in(unmarked(rendered), language, known) == []


# ------------------------------------------------------------------ filings


def late_drafts() -> list[ReportDraft]:
    """Filings carrying the late reasons the engine words (engine down, awareness
    recorded late, relay down), built while marking so each reason is the engine's."""
    state = staff_incident("sv", RegimeCode.PTS)
    track = state.tracks[0]
    track.last_error, track.failing_since = None, None
    due = AWARE + timedelta(hours=24)
    tz = zone("Europe/Stockholm")
    reasons = [lifecycle.late_reason(state, track, due, due + timedelta(hours=1), tz)]
    state.discovery_recorded_at = due + timedelta(minutes=5)
    reasons.append(lifecycle.late_reason(state, track, due, due + timedelta(hours=1), tz))
    track.last_error = "451 4.3.0 Temporarily unavailable, try again later"
    reasons.append(lifecycle.late_reason(state, track, due, due + timedelta(hours=1), tz))
    track.failing_since = due - timedelta(hours=1)
    reasons.append(lifecycle.late_reason(state, track, due, due + timedelta(hours=1), tz))
    return [variant(COMVIQ, late_reason=r) for r in reasons]


@pytest.mark.parametrize(
    "draft", swedish_and_danish_drafts(), ids=lambda d: f"{d.regime}-{d.kind}-{d.stage}"
)
def test_a_filing_has_no_word_from_outside_its_language(draft: ReportDraft) -> None:
    known = list(strings(draft.model_dump(mode="json")))
    with marking():
        rendered = f"{subject(draft)}\n{render_text(draft)}"
    check(rendered, draft.words, known, strict=False)


def test_a_late_filing_gives_the_engine_s_reasons_in_its_language() -> None:
    with marking():
        drafts = late_drafts()
        for draft in drafts:
            known = list(strings(draft.model_dump(mode="json", exclude={"late_reason"})))
            check(f"{subject(draft)}\n{render_text(draft)}", "sv", known, strict=False)
    assert all("Temporarily" not in (d.late_reason or "") for d in drafts)


# ------------------------------------------------------------------ pages


def staff_incident(language: str, code: RegimeCode) -> IncidentState:
    policy = Policy(audiences=[["oncall@op"], ["manager@op"]], staff_language=language)
    state = incident_state("INC-7", AWARE, policy, code)
    state.title = "Hemliga nummer publicerade"
    track = state.tracks[0]
    track.last_error = "550 relay refused"
    track.failing_since = AWARE + timedelta(hours=2)
    return state


def pages(language: str, code: RegimeCode) -> Iterator[tuple[str, str, list[str]]]:
    state = staff_incident(language, code)
    track = state.tracks[0]
    stage = lifecycle.current_stage(track)
    assert stage is not None
    due = lifecycle.stage_due(track, stage)
    known = [state.reference, state.title, "oncall@op", "manager@op"]
    for level in ("6h", "30m", "overdue-1", "reminder-2"):
        with marking():
            page = build_page(state, SendPage(0, level, 0, stage.name, due), AWARE)
        yield page.subject, page.body, known
    follow_up = regime(code).stages[1].name
    track.stage_index = 1
    track.anchors[follow_up] = AWARE + timedelta(hours=23)
    with marking():
        page = build_page(state, SendPage(0, "2h", 1, follow_up, AWARE + timedelta(days=3)), AWARE)
    yield page.subject, page.body, known
    task = TakedownTask(
        recipient="eniro",
        name="Eniro",
        address="removals@eniro.example",
        count=3300,
        scope="hemliga nummer",
        status=TakedownStatus.REQUESTED,
        requested_by="Anna",
        requested_at=AWARE,
        sent_at=AWARE,
    )
    with marking():
        page = takedown_page(state, task, 1, AWARE + timedelta(days=1))
    yield page.subject, page.body, [*known, "Eniro", "removals@eniro.example"]
    state.takedowns = [task]
    state.notification.people = 3300
    state.notification.waiting_since = AWARE
    state.notification.wait_bound = AWARE + timedelta(days=1)
    with marking():
        page = containment_wait_page(state, 1, AWARE + timedelta(days=1))
    yield page.subject, page.body, known
    voice = Voice(language, "Europe/Stockholm")  # type: ignore[arg-type]
    for number in (0, 1):
        with marking():
            mail = takedown_mail(state.reference, "Telco AB", "dpo@op", task, number, AWARE, voice)
        yield (
            mail.subject,
            mail.body,
            [*known, "Eniro", "Telco AB", "Telco AB, dpo@op", "hemliga nummer"],
        )


@pytest.mark.parametrize(
    ("language", "code"), [("sv", RegimeCode.PTS), ("da", RegimeCode.DK), ("sv", RegimeCode.IMY)]
)
def test_pages_and_takedown_mails_are_in_the_reader_s_language_with_no_command(
    language: str, code: RegimeCode
) -> None:
    for page_subject, body, known in pages(language, code):
        check(f"{page_subject}\n{body}", language, known)
        assert "--" not in body and "starter" not in body and "550" not in body


@pytest.mark.parametrize("language", ["sv", "da"])
def test_the_intake_page_is_in_the_console_s_language(language: str) -> None:
    opening = OpenIncident(
        reference="ALERT-0123456789ABCDEF",
        title="Export av abonnentdata",
        regime=RegimeCode.PTS,
        opened_by="alertmanager",
    )
    url = "http://127.0.0.1:8080/incidents/ALERT-0123456789ABCDEF"
    known = [opening.reference, opening.title, "SubscriberExport", "(prometheus)", url]
    with marking():
        page_subject, body = page_text(language, opening, ["SubscriberExport"], "prometheus", url)  # type: ignore[arg-type]
    check(f"{page_subject}\n{body}", language, known)


# ------------------------------------------------------------------ notices


@pytest.mark.parametrize("language", ["sv", "da"])
def test_a_notice_to_a_swedish_or_danish_reader_has_no_english(language: str) -> None:
    notice = notice_incident()
    operator = Operator(name="Telco AB", phone="+46 771 00 00 00", email="dataskydd@telco.example")
    person = Subscriber.model_validate(
        {
            "id": "c1",
            "name": "Anna",
            "phone": "0701234567",
            "language": language,
            "affected_items": ["hemligt nummer"],
        }
    )
    rendered = render_notice(notice, person, operator)
    known = [
        *strings(notice.model_dump(mode="json"), skip="en"),
        *strings(operator.model_dump(mode="json")),
        "Anna",
        "hemligt nummer",
    ]
    assert english_in(f"{rendered.subject}\n{rendered.text}", language, known) == []
