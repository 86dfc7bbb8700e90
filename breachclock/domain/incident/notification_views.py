"""What ``status``, ``watch`` and ``person`` show of telling subscribers: counts, never contacts."""

from __future__ import annotations

from typing import Any

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.containment import confirmed_count
from breachclock.domain.incident.model import IncidentState
from breachclock.domain.instants import iso_local, show, zone
from breachclock.domain.notify.delivery import Counts, Status

ENGLISH = Voice("en")
"""The status text these views give is English (the CLI's); ``problems`` carry the codes."""


def totals(state: IncidentState, live: dict[int, Counts]) -> Counts:
    """Every wave's counts: finished waves from the state, running ones from ``live``."""
    total = Counts()
    for wave in state.notification.waves:
        counts = live.get(wave.number, wave.counts)
        if counts is not None:
            total = total.plus(counts)
    return total


def decision_label(state: IncidentState) -> str:
    n = state.notification
    if n.order is not None:
        return f"ordered by {n.order.by}"
    if n.decision is not None:
        return "notify" if n.decision.notify else "not notifying"
    if n.recommendation is not None:
        return "assessed, not decided (recommended: " + (
            "notify)" if n.recommendation.notify else "no notice)"
        )
    return "not assessed"


def notification(state: IncidentState, live: dict[int, Counts]) -> dict[str, Any]:
    tz = zone(state.policy.operator_zone)
    n = state.notification
    total = totals(state, live)
    return {
        "decision": decision_label(state),
        "recommendation": n.recommendation.model_dump(mode="json") if n.recommendation else None,
        "people": n.people,
        "repeated_rows": n.repeated,
        "skipped_rows": n.skipped_count,
        "skipped": [
            {
                "file": source,
                "line": r.line,
                "problems": [p.model_dump(mode="json") for p in r.problems],
                "reason": r.words(ENGLISH),
            }
            for source, rows in n.skipped.items()
            for r in rows
        ],
        "waves": [
            {
                "number": w.number,
                "people": w.end - w.first,
                "started_at": iso_local(w.started_at, tz),
                "finished_at": iso_local(w.finished_at, tz),
            }
            for w in n.waves
        ],
        "waiting_for_containment": {
            "confirmed": confirmed_count(state.takedowns),
            "takedowns": len(state.takedowns),
        }
        if n.waiting_for_containment
        else None,
        "by_status": {s.value: total.people.get(s, 0) for s in Status},
        "calls": {o.value: c for o, c in sorted(total.calls.items())},
        "emails": dict(sorted(total.emails.items())),
    }


def bar(done: int, total: int, width: int = 30) -> str:
    share = done / total if total else 1.0
    filled = round(share * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({share:.0%})"


def notification_text(state: IncidentState, live: dict[int, Counts]) -> list[str]:
    n = state.notification
    if n.assessment is None and not n.people and n.decision is None and n.order is None:
        return []
    data = notification(state, live)
    lines = [f"  subscriber notice: {data['decision']}; {n.people} people on the list"]
    if n.skipped_count:
        lines.append(f"    {n.skipped_count} invalid rows skipped:")
        lines += [
            f"      {row['file']} line {row['line']}: {row['reason']}" for row in data["skipped"]
        ]
    waiting = data["waiting_for_containment"]
    if waiting:
        lines.append(
            "    waiting for containment: calls begin once every takedown is confirmed "
            f"({waiting['confirmed']} of {waiting['takedowns']} confirmed; see 'takedowns')"
        )
    if n.waves:
        total = totals(state, live)
        lines.append("    " + bar(total.finished, max(total.total, n.people)))
        lines.append(
            "    " + ", ".join(f"{count} {status}" for status, count in data["by_status"].items())
        )
        if data["calls"]:
            lines.append("    calls: " + ", ".join(f"{c} {o}" for o, c in data["calls"].items()))
        tz = zone(state.policy.operator_zone)
        for w in n.waves:
            end = f"finished {show(w.finished_at, tz)}" if w.finished_at else "running"
            lines.append(f"    campaign {w.number}: started {show(w.started_at, tz)}, {end}")
    return lines
