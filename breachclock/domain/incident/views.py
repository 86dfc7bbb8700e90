"""What ``status`` and ``timeline`` show: the state in a stable, documented shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import IncidentState
from breachclock.domain.incident.report import FACT_LABELS
from breachclock.domain.instants import countdown, iso_local, show, span, zone
from breachclock.domain.regimes import RegimeCode, regime


def _deadline_rows(
    state: IncidentState,
) -> list[tuple[RegimeCode, str, datetime | None, datetime | None]]:
    """(regime, stage, due, done) for every stage whose clock has started."""
    return [
        (track.regime, stage.name, lifecycle.stage_due(track, stage), track.done.get(stage.name))
        for track in state.tracks
        for stage in regime(track.regime).stages
        if stage.name in track.anchors
    ]


def _never_filed(state: IncidentState, code: RegimeCode, name: str) -> bool:
    return state.closure is not None and f"{code.value}:{name}" in state.closure.never_filed


def _standing(
    state: IncidentState,
    code: RegimeCode,
    name: str,
    due: datetime | None,
    done: datetime | None,
    now: datetime,
    tz: ZoneInfo,
) -> str:
    """A deadline in words: done when, given up, or how long is left."""
    if done:
        return f"done {show(done, tz)}"
    if _never_filed(state, code, name) or state.closure is not None:
        return "never filed"
    return countdown(due, now) if due else "open"


def deadlines(state: IncidentState, now: datetime) -> list[dict[str, Any]]:
    tz = zone(state.policy.operator_zone)
    return [
        {
            "regime": code.value,
            "name": name,
            "due_at": iso_local(due, tz),
            "done_at": iso_local(done, tz),
            "standing": _standing(state, code, name, due, done, now, tz),
            "never_filed": _never_filed(state, code, name),
        }
        for code, name, due, done in _deadline_rows(state)
    ]


def policy(state: IncidentState) -> dict[str, Any]:
    """The settings the incident runs under: fixed by the engine when it opened."""
    rules = state.policy
    plan = rules.notify_plan
    return {
        "operator": rules.operator_name,
        "zone": rules.operator_zone,
        "auto_file_margin": span(rules.auto_file_margin),
        "escalation_leads": [span(lead) for lead in rules.escalation_leads],
        "paged": [len(audience) for audience in rules.audiences],
        "regulator_addresses": {code.value: a for code, a in rules.regulator_addresses.items()},
        "calling_hours": f"{plan.window_start:%H:%M}-{plan.window_end:%H:%M}",
        "call_attempts": plan.attempts,
        "call_spacing": span(plan.spacing),
    }


def policy_text(state: IncidentState) -> str:
    data = policy(state)
    leads = ", ".join(data["escalation_leads"]) or "none"
    return (
        f"  policy: files {data['auto_file_margin']} before a deadline; pages {leads} before; "
        f"calls {data['calling_hours']} ({data['call_attempts']} attempts, "
        f"{data['call_spacing']} apart)"
    )


def security_report_possible(state: IncidentState) -> bool:
    """CIA/authenticity affected and no NIS2 report open: one may be due as well."""
    aspects = state.facts.security_aspects or []
    return bool(aspects) and state.track(RegimeCode.NIS2) is None


@dataclass(frozen=True)
class NoticeWait:
    """Notice decided "after containment", waiting for the last takedown: since when,
    the bound the operator's policy sets on the wait, whether it is reached, and whether
    the person responsible has been paged for it."""

    since: datetime
    bound: datetime
    reached: bool
    paged: bool


def notice_wait(state: IncidentState, now: datetime) -> NoticeWait | None:
    """The wait for containment, where notice waits and the wait is bounded (None: no
    wait, or an incident whose run began before waits were bounded)."""
    n = state.notification
    if not n.waiting_for_containment or n.waiting_since is None or n.wait_bound is None:
        return None
    return NoticeWait(n.waiting_since, n.wait_bound, now >= n.wait_bound, n.wait_pages > 0)


class ExpectedFrom(StrEnum):
    """On what ground a missing fact's date stands (the filing gives the same)."""

    OWN = "own"
    """The date the operator recorded for the fact (``Facts.expected``)."""
    DEADLINE = "deadline"
    """None recorded: the next deadline of the report, by which it must follow."""
    DEFAULT = "default"
    """None recorded and no deadline ahead: the operator's standard period
    (``Policy.expected_after``) after the last filing."""


@dataclass(frozen=True)
class ExpectedFact:
    name: str
    by: date | datetime | None
    """A date (own, default) or an instant (a deadline); None: not yet known (no
    deadline has started and no date is recorded)."""
    ground: ExpectedFrom | None


def expected_facts(state: IncidentState) -> list[ExpectedFact]:
    """Each fact still missing for a complete report, with when it is expected and on
    what ground, as a filing made now would give it: the date recorded for it, else the
    report's next open deadline, else the standard period after the last filing."""
    own = state.facts.expected
    main = state.track()
    due = None
    if main is not None:
        open_ = [
            lifecycle.stage_due(main, stage)
            for stage in regime(main.regime).stages
            if stage.name in main.anchors and stage.name not in main.done
        ]
        due = min((d for d in open_ if d is not None), default=None)
    filed = [f.sent_at for f in state.filings if main is not None and f.regime is main.regime]
    default = None
    if due is None and filed:
        tz = zone(state.policy.operator_zone)
        default = (max(filed) + state.policy.expected_after).astimezone(tz).date()
    rows = []
    for name in state.facts.missing():
        if name in own:
            rows.append(ExpectedFact(name, own[name], ExpectedFrom.OWN))
        elif due is not None:
            rows.append(ExpectedFact(name, due, ExpectedFrom.DEADLINE))
        elif default is not None:
            rows.append(ExpectedFact(name, default, ExpectedFrom.DEFAULT))
        else:
            rows.append(ExpectedFact(name, None, None))
    return rows


def status(state: IncidentState, now: datetime) -> dict[str, Any]:
    tz = zone(state.policy.operator_zone)
    main = state.track()
    return {
        "reference": state.reference,
        "title": state.title,
        "state": state.state_label,
        "regime": state.regime.value,
        "zone": state.policy.operator_zone,
        "opened_at": iso_local(state.opened_at, tz),
        "discovered_at": iso_local(state.discovery.at if state.discovery else None, tz),
        "deadlines": deadlines(state, now),
        "filings": [
            {
                "number": f.number,
                "regime": f.regime.value,
                "kind": f.kind.value,
                "sent_at": iso_local(f.sent_at, tz),
                "due_at": iso_local(f.due_at, tz),
                "late": f.late,
                "late_reason": f.late_reason,
                "receipt": f.receipt.number if f.receipt else None,
            }
            for f in state.filings
        ],
        "awaiting_receipt": [
            {
                "number": t.prepared.number,
                "regime": t.regime.value,
                "portal": t.prepared.recipient,
                "prepared_at": iso_local(t.prepared.sent_at, tz),
                "due_at": iso_local(t.prepared.due_at, tz),
            }
            for t in state.tracks
            if t.prepared is not None
        ],
        "missing": state.facts.missing(),
        "justification": main.justification if main else None,
        "sending_error": next((t.last_error for t in state.tracks if t.last_error), None),
        "security_report_possible": security_report_possible(state),
        "security_aspects": [a.value for a in state.facts.security_aspects or []],
        "escalations": len(state.pages),
        "closed_at": iso_local(state.closure.at if state.closure else None, tz),
        "closed_reason": state.closure.reason if state.closure else None,
        "never_filed": state.closure.never_filed if state.closure else [],
        "policy": policy(state),
        "alert": state.alert.model_dump(mode="json") if state.alert else None,
    }


def status_text(state: IncidentState, now: datetime) -> str:
    tz = zone(state.policy.operator_zone)
    data = status(state, now)
    lines = [
        f"{state.reference}  {state.title}",
        f"  state: {data['state']}   regime: {state.regime.value.upper()}   zone: {tz.key}",
        f"  discovered: {show(state.discovery.at, tz) if state.discovery else 'not yet'}",
    ]
    if state.tracks:
        lines.append("  deadlines:")
        for code, name, due, done in _deadline_rows(state):
            mark = _standing(state, code, name, due, done, now, tz)
            due_text = show(due, tz) if due else "as soon as possible"
            lines.append(f"    {code.value.upper():5} {name:22} due {due_text:22} {mark}")
    if state.filings:
        lines.append("  filings:")
        for f in state.filings:
            late = f"  LATE: {f.late_reason}" if f.late else ""
            receipt = f" (portal receipt {f.receipt.number})" if f.receipt else ""
            lines.append(
                f"    no. {f.number} {f.kind.value:13} {f.regime.value.upper():5} sent {show(f.sent_at, tz)}{receipt}{late}"
            )
    for waiting in data["awaiting_receipt"]:
        lines.append(
            f"  no. {waiting['number']} prepared for {waiting['portal']}: file it there and"
            " record the portal's receipt"
        )
    missing = state.facts.missing()
    if missing:
        lines.append(f"  missing ({len(missing)}):")
        lines += [f"    - {FACT_LABELS[m]}" for m in missing]
    if data["justification"]:
        lines.append(f"  why facts are missing: {data['justification']}")
    if data["sending_error"]:
        lines.append(f"  SENDING FAILS: {data['sending_error']}")
    if data["security_report_possible"]:
        aspects = ", ".join(data["security_aspects"])
        lines.append(
            f"  note: {aspects} affected — a NIS2 security-incident report may be due as well "
            f"(open it with: starter.py security {state.reference})"
        )
    if state.closure:
        reason = f": {state.closure.reason}" if state.closure.reason else ""
        lines.append(f"  closed {show(state.closure.at, tz)} by {state.closure.by}{reason}")
        if state.closure.never_filed:
            lines.append(f"  never filed: {', '.join(state.closure.never_filed)}")
    lines.append(policy_text(state))
    return "\n".join(lines)


def timeline(state: IncidentState) -> list[dict[str, Any]]:
    tz = zone(state.policy.operator_zone)
    return [
        {
            "at": iso_local(e.at, tz),
            "what": e.what,
            "by": e.by,
            "how_established": e.how_established,
            "recorded_at": iso_local(e.recorded_at, tz),
        }
        for e in sorted(state.timeline, key=lambda e: (e.at, e.recorded_at))
    ]


def timeline_text(state: IncidentState) -> str:
    tz = zone(state.policy.operator_zone)
    rows = sorted(state.timeline, key=lambda e: (e.at, e.recorded_at))
    return "\n".join(f"{show(e.at, tz)}  {e.what}" + (f"  ({e.by})" if e.by else "") for e in rows)
