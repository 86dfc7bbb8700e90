"""The report to the regulator: what goes in a filing, and how it reads.

A draft is a snapshot of the incident for one numbered filing. It is built in the
workflow (deterministically, from state) and rendered in the activity that
sends it, so the words that reach the regulator are exactly the ones recorded.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

import jinja2
from pydantic import BaseModel

from breachclock.incident.instants import iso_local, show, zone
from breachclock.incident.lifecycle import FileReport
from breachclock.incident.model import (
    Discover,
    Facts,
    Filing,
    FilingKind,
    IncidentState,
    TimelineEntry,
)
from breachclock.incident.regimes import RegimeCode, regime
from breachclock.templating import environment

FACT_LABELS: dict[str, str] = {
    "occurred": "time the incident occurred, and how it was established",
    "affected_count": "number of affected subscribers or users (or the scale)",
    "breach_types": "kind of incident (loss, alteration, unauthorised disclosure or access)",
    "circumstances": "how the incident arose",
    "services": "services affected",
    "data_kinds": "kinds of subscriber or traffic data concerned",
    "systems": "technical systems concerned",
    "location_and_media": "physical location and storage media",
    "root_cause": "root cause",
    "subscriber_effect": "effect from the subscribers' point of view",
    "potential_consequences": "potential consequences and adverse effects",
    "measures_taken": "measures taken (with dates)",
    "measures_planned": "measures planned (with due dates)",
    "other_providers": "involvement of other service providers",
    "cross_border": "users in other countries, other authorities notified",
    "subscriber_notice": "notification of subscribers (copy, means, number) or why not",
}

ORDER = {1: "first", 2: "second"}


class ReportDraft(BaseModel):
    reference: str
    title: str
    number: int
    kind: FilingKind
    stage: str
    order: str
    """'first', 'second' or 'further' notification for this regulator (Annex I)."""
    regime: RegimeCode
    regulator: str
    recipient: str
    operator_name: str
    contact_point: str
    zone: str
    drafted_at: datetime
    due_at: datetime | None
    late_reason: str | None
    justification: str | None
    discovery: Discover | None
    facts: Facts
    missing: list[str]
    timeline: list[TimelineEntry]
    previous_filings: list[Filing]
    facts_version: int

    @property
    def idempotency_key(self) -> str:
        return f"{self.reference}:{self.number}"


def build_draft(
    state: IncidentState,
    step: FileReport,
    number: int,
    now: datetime,
    late_reason: str | None,
) -> ReportDraft:
    track = state.tracks[step.regime_index]
    rules = regime(track.regime)
    earlier = [f for f in state.filings if f.regime is track.regime]
    return ReportDraft(
        reference=state.reference,
        title=state.title,
        number=number,
        kind=step.kind,
        stage=step.stage,
        order=ORDER.get(len(earlier) + 1, "further"),
        regime=track.regime,
        regulator=rules.regulator,
        recipient=state.policy.regulator_addresses.get(track.regime, rules.default_address),
        operator_name=state.policy.operator_name,
        contact_point=state.policy.contact_point,
        zone=state.policy.operator_zone,
        drafted_at=now,
        due_at=step.due_at,
        late_reason=late_reason,
        justification=track.justification
        if step.kind in (FilingKind.EXTENSION, FilingKind.SUPPLEMENTARY)
        else None,
        discovery=state.discovery,
        facts=state.facts,
        missing=state.facts.missing(),
        timeline=sorted(state.timeline, key=lambda e: e.at),
        previous_filings=earlier,
        facts_version=state.facts_version,
    )


@cache
def _templates() -> jinja2.Environment:
    return environment("breachclock.incident")


def render_text(draft: ReportDraft) -> str:
    tz = zone(draft.zone)
    return (
        _templates()
        .get_template("report.txt.j2")
        .render(
            d=draft,
            f=draft.facts,
            labels=FACT_LABELS,
            when=lambda instant: show(instant, tz),
            unknown=lambda name: _unknown(draft, name),
            affected=_affected(draft),
        )
    )


def _affected(draft: ReportDraft) -> str:
    count, scale = draft.facts.affected_count, draft.facts.affected_scale
    if count is not None:
        return f"{count}" + (f" ({scale})" if scale else "")
    return scale or _unknown(draft, "affected_count")


def _unknown(draft: ReportDraft, name: str) -> str:
    why = draft.facts.unknown_because.get(name)
    return f"unknown — {why}" if why else "unknown — not yet established"


def render_json(draft: ReportDraft) -> str:
    """The machine-readable attachment: the draft, instants with the operator's offset."""
    tz = zone(draft.zone)
    data: dict[str, Any] = draft.model_dump(mode="json")
    data["due_at"] = iso_local(draft.due_at, tz)
    data["drafted_at"] = iso_local(draft.drafted_at, tz)
    data["missing"] = [{"fact": m, "label": FACT_LABELS[m]} for m in draft.missing]
    return json.dumps(data, ensure_ascii=False, indent=2)


def subject(draft: ReportDraft) -> str:
    kind = draft.kind.value.replace("_", " ")
    return (
        f"[{draft.reference}] {draft.operator_name}: privacy incident report no. {draft.number} "
        f"({kind}, {draft.order} notification)"
    )
