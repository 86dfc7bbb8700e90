"""What a page says and to whom: escalations widen as a deadline nears.

Pages go to the operator's own staff, in English and in plain words: which report,
for which regulator, due when (in the operator's zone), and the exact command that
does what is needed, with the CLI as the policy says to run it.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel

from breachclock.domain.incident.containment import TakedownTask
from breachclock.domain.incident.lifecycle import SendPage, filing_lead
from breachclock.domain.incident.model import IncidentState, Track
from breachclock.domain.incident.report import FACT_LABELS
from breachclock.domain.instants import show, zone
from breachclock.domain.problems import Said, said
from breachclock.domain.regimes import RegimeCode

STAGE_NAMES = {
    "initial_report": "initial report",
    "supplementary_report": "supplementary report",
    "notification": "notification",
    "further_information": "further information",
    "follow_up_report": "follow-up report",
    "early_warning": "early warning",
    "incident_notification": "incident notification",
    "final_report": "final report",
}
FOLLOW_UPS = ("supplementary_report", "follow_up_report", "final_report")


class PageDraft(BaseModel):
    idempotency_key: str
    recipients: list[str]
    subject: str
    body: str
    reference: str | None = None
    deadline: str | None = None
    """What the page's acknowledgement link acknowledges (drafts from before it: none)."""


def audience(state: IncidentState, level: int) -> list[str]:
    """Everyone from the first level up to ``level``: each page reaches further."""
    levels = state.policy.audiences
    chosen: list[str] = []
    for group in levels[: level + 1] or levels[:1]:
        chosen += [r for r in group if r not in chosen]
    return chosen


def stage_name(stage: str) -> str:
    return STAGE_NAMES.get(stage, stage.replace("_", " "))


def lead_words(level: str) -> str:
    """A lead label as people say it: '6h' → '6 hours', '30m' → '30 min'."""
    match = re.fullmatch(r"(\d+)([hm])", level)
    if match is None:
        return level
    n, unit = int(match[1]), match[2]
    if unit == "m":
        return f"{n} min"
    return f"{n} hour" if n == 1 else f"{n} hours"


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
    tz = zone(state.policy.operator_zone)
    track = state.tracks[step.regime_index]
    missing = state.facts.missing()
    report = f"{track.regime.value.upper()} {stage_name(step.deadline)}"
    due = show(step.due_at, tz)
    lines = [f"Incident {state.reference}: {state.title}", ""]
    if step.level.startswith("reminder"):
        number = step.level.removeprefix("reminder-")
        headline = (
            f"{track.regime.value.upper()}: facts still missing after the extension report "
            f"(reminder {number})"
        )
        lines.append(
            "The extension report has gone out; the missing facts must follow as soon as possible."
        )
    elif step.level.startswith("overdue"):
        headline = f"{report} overdue since {due}"
        lines.append(f"The {report} was due at {due} and has not been filed.")
    else:
        headline = f"{report} due in {lead_words(step.level)} ({due})"
        lines.append(f"The {report} is due at {due}.")
    lines += _what_to_do(state, track, step, missing)
    if track.last_error:
        lines += ["", f"Sending the report is failing: {track.last_error}"]
    if missing:
        lines += ["", "Still missing:"] + [f"  - {FACT_LABELS[m]}" for m in missing]
    lines += [
        "",
        "You own this? Acknowledge it: later pages for this deadline then reach nobody wider",
        "(the deadline and its automatic filing stand):",
        f"  {state.policy.cli_command} ack {state.reference} --deadline {step.deadline}",
        "",
        f"Sent {show(now, tz)} by breachclock.",
    ]
    return PageDraft(
        idempotency_key=f"{state.reference}:page:{track.regime.value}:{step.key}",
        recipients=audience(state, step.audience),
        subject=f"[{state.reference}] {headline}",
        body="\n".join(lines) + "\n",
        reference=state.reference,
        deadline=step.deadline,
    )


def _what_to_do(
    state: IncidentState, track: Track, step: SendPage, missing: list[str]
) -> list[str]:
    cli = f"{state.policy.cli_command} "
    ref = state.reference
    on_track = "" if track.regime is state.regime else f" --track {track.regime.value}"
    tz = zone(state.policy.operator_zone)
    auto = None if step.due_at is None else show(step.due_at - filing_lead(state.policy, track), tz)
    if track.prepared is not None:
        number = track.prepared.number
        return [
            "",
            f"Filing no. {number} is prepared for the authority's portal and waits for a person",
            f"to file it at {track.prepared.recipient} (the documents were mailed to on-call).",
            "Then record the portal's receipt; until then it counts as not filed:",
            f"  {cli}receipt {ref} {number}{on_track} --receipt NUMBER"
            f" --at 'YYYY-MM-DD HH:MM {tz.key}' [--pdf FILE]",
        ]
    if track.awaiting_final:
        return ["", "Record the missing facts:", f"  {cli}facts {ref} --file FACTS.json"]
    if step.deadline in FOLLOW_UPS and missing:
        if track.justification:
            when = f" at {auto}" if auto else ""
            return [
                "",
                f"The extension report with the justification goes out automatically{when}.",
            ]
        return [
            "",
            "Facts are missing: record them, or say why they are still missing:",
            f"  {cli}facts {ref} --file FACTS.json",
            f"  {cli}justify {ref}{on_track} --text '…'",
        ]
    if step.level.startswith("overdue"):
        return [
            "",
            "To file it now, with why it is late:",
            f"  {cli}approve {ref} --filing {step.deadline} --late-reason '…'",
        ]
    if auto is not None:
        return [
            "",
            f"It is filed automatically at {auto} with what is known then. To file it now:",
            f"  {cli}approve {ref} --filing {step.deadline}",
        ]
    return []


def takedown_page(
    state: IncidentState, task: TakedownTask, number: int, now: datetime
) -> PageDraft:
    """The incident's owner (the first two audiences) told a takedown is still not
    confirmed, with the commands that record what became of it."""
    tz = zone(state.policy.operator_zone)
    cli = f"{state.policy.cli_command} takedown-status {state.reference} {task.recipient}"
    asked = show(task.sent_at, tz) if task.sent_at else "—"
    lines = [
        f"Incident {state.reference}: {state.title}",
        "",
        f"{task.name} has not confirmed the removal asked for on {asked} "
        f"({task.status.value}; reminder {number} sent to {task.address}).",
        "",
        "When they have, check it yourself and record how:",
        f"  {cli} confirmed --how-verified '…'",
        f"  {cli} acknowledged      (they received it)",
        f"  {cli} failed --reason '…'",
        "",
        f"Sent {show(now, tz)} by breachclock.",
    ]
    return PageDraft(
        idempotency_key=f"{state.reference}:page:takedown:{task.recipient}:{number}",
        recipients=audience(state, 1),
        subject=f"[{state.reference}] takedown at {task.name} not confirmed (reminder {number})",
        body="\n".join(lines) + "\n",
    )
