"""What a page says and to whom: escalations widen as a deadline nears."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from breachclock.incident.instants import show, zone
from breachclock.incident.lifecycle import SendPage
from breachclock.incident.model import IncidentState
from breachclock.incident.report import FACT_LABELS


class PageDraft(BaseModel):
    idempotency_key: str
    recipients: list[str]
    subject: str
    body: str


def audience(state: IncidentState, level: int) -> list[str]:
    """Everyone from the first level up to ``level``: each page reaches further."""
    levels = state.policy.audiences
    chosen: list[str] = []
    for group in levels[: level + 1] or levels[:1]:
        chosen += [r for r in group if r not in chosen]
    return chosen


def build_page(state: IncidentState, step: SendPage, now: datetime) -> PageDraft:
    tz = zone(state.policy.operator_zone)
    track = state.tracks[step.regime_index]
    missing = state.facts.missing()
    lines = [f"Incident {state.reference}: {state.title}", ""]
    if step.level.startswith("reminder"):
        headline = f"facts still missing after the extension report ({step.level})"
        lines.append("The extension report has gone out; the rest must follow as soon as possible.")
    elif step.level.startswith("overdue"):
        headline = f"{step.deadline} OVERDUE since {show(step.due_at, tz)}"
        lines.append(f"The {step.deadline} deadline passed at {show(step.due_at, tz)}.")
    else:
        headline = f"{step.deadline} due in {step.level} ({show(step.due_at, tz)})"
        lines.append(f"The {step.deadline} is due at {show(step.due_at, tz)}.")
    lines += _what_to_do(state, step, missing)
    if track.last_error:
        lines += ["", f"Sending the report is failing: {track.last_error}"]
    if missing:
        lines += ["", "Still missing:"] + [f"  - {FACT_LABELS[m]}" for m in missing]
    lines += ["", f"Sent {show(now, tz)} by breachclock."]
    return PageDraft(
        idempotency_key=f"{state.reference}:page:{track.regime.value}:{step.key}",
        recipients=audience(state, step.audience),
        subject=f"[{state.reference}] {track.regime.value.upper()} {headline}",
        body="\n".join(lines) + "\n",
    )


def _what_to_do(state: IncidentState, step: SendPage, missing: list[str]) -> list[str]:
    track = state.tracks[step.regime_index]
    if track.awaiting_final:
        return [f"Record the missing facts: python starter.py facts {state.reference} --file F"]
    if step.deadline in ("supplementary_report", "follow_up_report", "final_report") and missing:
        if track.justification:
            return ["An extension report with the justification goes out automatically."]
        return [
            "Facts are missing: record them, or justify why they are still missing:",
            f"  python starter.py justify {state.reference} --text '…'",
        ]
    margin = state.policy.auto_file_margin
    if step.due_at is not None:
        tz = zone(state.policy.operator_zone)
        auto = show(step.due_at - margin, tz)
        return [
            f"It is filed automatically at {auto} with what is known then; "
            f"file it now with: python starter.py approve {state.reference}"
        ]
    return []
