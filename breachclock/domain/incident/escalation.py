"""What a page says and to whom: escalations widen as a deadline nears.

Pages go to the operator's own staff, in their language (the policy's
``staff_language``) and in plain words: which report, for which regulator, due when
(in the operator's zone), and what is needed. The sending activity adds the link to
the incident's page in the console where it is done: a page names no terminal command.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel

from breachclock.domain.catalogue import Language, Voice
from breachclock.domain.incident.containment import TakedownTask, confirmed_count
from breachclock.domain.incident.lifecycle import SendPage, filing_lead
from breachclock.domain.incident.model import IncidentState, Track
from breachclock.domain.instants import zone
from breachclock.domain.problems import Said, said
from breachclock.domain.regimes import RegimeCode

FOLLOW_UPS = ("supplementary_report", "follow_up_report", "final_report")


class PageDraft(BaseModel):
    idempotency_key: str
    recipients: list[str]
    subject: str
    body: str
    reference: str | None = None
    deadline: str | None = None
    """What the page's acknowledgement link acknowledges (drafts from before it: none)."""
    language: Language | None = None
    """The reader's language, for the lines the sending activity adds (the console's
    links); None: a draft from before pages were worded in it (English)."""


def audience(state: IncidentState, level: int) -> list[str]:
    """Everyone from the first level up to ``level``: each page reaches further."""
    levels = state.policy.audiences
    chosen: list[str] = []
    for group in levels[: level + 1] or levels[:1]:
        chosen += [r for r in group if r not in chosen]
    return chosen


def lead_seconds(level: str) -> int | None:
    """A lead label's length: '6h' → 21600, '30m' → 1800; None for another kind of level."""
    match = re.fullmatch(r"(\d+)([hm])", level)
    if match is None:
        return None
    return int(match[1]) * (3600 if match[2] == "h" else 60)


def page_entry(step: SendPage, regime: RegimeCode) -> Said:
    """What the timeline says of a page sent for ``step`` (worded in the reader's language)."""
    common = {"regime": regime, "deadline": step.deadline}
    lead = lead_seconds(step.level)
    if lead is not None:
        return said("timeline.paged_lead", lead=lead, **common)
    kind, _, number = step.level.partition("-")
    return said(f"timeline.paged_{kind}", n=int(number or 0), **common)


def build_page(state: IncidentState, step: SendPage, now: datetime) -> PageDraft:
    policy = state.policy
    w = Voice(policy.staff_language, zone(policy.operator_zone))
    track = state.tracks[step.regime_index]
    missing = state.facts.missing()
    about = {
        "reference": state.reference,
        "regime": track.regime,
        "stage": step.deadline,
        "due": step.due_at,
    }
    lines = [w("page.incident", reference=state.reference, title=state.title), ""]
    if step.level.startswith("reminder"):
        number = int(step.level.removeprefix("reminder-") or 0)
        subject = w("page.subject.reminder", n=number, **about)
        lines.append(w("page.reminder"))
    elif step.level.startswith("overdue"):
        subject = w("page.subject.overdue", **about)
        lines.append(w("page.overdue", **about))
    else:
        subject = w("page.subject.lead", lead=lead_seconds(step.level) or 0, **about)
        lines.append(w("page.due", **about))
    lines += _what_to_do(state, track, step, missing, w)
    if track.last_error:
        failing = track.failing_since
        lines += ["", w("page.failing", since=failing) if failing else w("page.failing_undated")]
    if missing:
        lines += ["", w("page.missing")] + [f"  - {w(f'filing.fact.{m}')}" for m in missing]
    lines += ["", w("page.own"), "", w("page.sent", at=now)]
    return PageDraft(
        idempotency_key=f"{state.reference}:page:{track.regime.value}:{step.key}",
        recipients=audience(state, step.audience),
        subject=subject,
        body="\n".join(lines) + "\n",
        reference=state.reference,
        deadline=step.deadline,
        language=policy.staff_language,
    )


def _what_to_do(
    state: IncidentState, track: Track, step: SendPage, missing: list[str], w: Voice
) -> list[str]:
    """What to do about it, in words: the console's link below the page does it."""
    auto = None if step.due_at is None else step.due_at - filing_lead(state.policy, track)
    if track.prepared is not None:
        prepared = track.prepared
        return ["", w("page.do.portal", number=prepared.number, portal=prepared.recipient)]
    if track.awaiting_final:
        return ["", w("page.do.record_missing")]
    if step.deadline in FOLLOW_UPS and missing:
        if track.justification:
            return ["", w("page.do.extension_auto", at=auto) if auto else w("page.do.extension")]
        if state.files_at_deadline and auto is not None and not step.level.startswith("overdue"):
            key = "page.do.known_portal_auto" if track.via_portal else "page.do.known_auto"
            return ["", w(key, at=auto)]
        return ["", w("page.do.facts_or_justify")]
    if step.level.startswith("overdue"):
        return ["", w("page.do.file_late")]
    if auto is not None:
        return ["", w("page.do.portal_auto" if track.via_portal else "page.do.auto", at=auto)]
    return []


def containment_wait_page(state: IncidentState, number: int, now: datetime) -> PageDraft:
    """Notice decided "after containment" has waited past the policy's bound: everyone up
    to those an overdue deadline reaches is asked to weigh the decision again."""
    notification, tasks = state.notification, state.takedowns
    w = staff_voice(state)
    return plain_page(
        state,
        f"containment-wait:{number}",
        len(state.policy.escalation_leads),
        w("page.containment_wait.subject", reference=state.reference, n=number),
        w(
            "page.containment_wait.text",
            people=notification.people,
            since=notification.waiting_since,
            bound=notification.wait_bound,
            done=confirmed_count(tasks),
            total=len(tasks),
        ),
        w("page.containment_wait.do"),
        now,
    )


def takedown_page(
    state: IncidentState, task: TakedownTask, number: int, now: datetime
) -> PageDraft:
    """The incident's owner (the first two audiences) told a takedown is still not
    confirmed, and what to record once it is (on the incident's page in the console)."""
    w = staff_voice(state)
    return plain_page(
        state,
        f"takedown:{task.recipient}:{number}",
        1,
        w("page.takedown.subject", reference=state.reference, name=task.name, n=number),
        w(
            "page.takedown.late",
            name=task.name,
            asked=task.sent_at,
            status=w.value("filing.takedown.state", task.status.value),
            n=number,
            address=task.address,
        ),
        w("page.takedown.do"),
        now,
    )


def staff_voice(state: IncidentState) -> Voice:
    """The operator's own staff's language, in the operator's zone."""
    return Voice(state.policy.staff_language, zone(state.policy.operator_zone))


def plain_page(
    state: IncidentState, key: str, level: int, subject: str, news: str, do: str, now: datetime
) -> PageDraft:
    """A page that is not about a filing's deadline: the incident, the news, what to do,
    when it was sent; sent once under ``<reference>:page:<key>`` to audiences up to
    ``level``."""
    w = staff_voice(state)
    lines = [
        w("page.incident", reference=state.reference, title=state.title),
        "",
        news,
        "",
        do,
        "",
        w("page.sent", at=now),
    ]
    return PageDraft(
        idempotency_key=f"{state.reference}:page:{key}",
        recipients=audience(state, level),
        subject=subject,
        body="\n".join(lines) + "\n",
        reference=state.reference,
        language=state.policy.staff_language,
    )
