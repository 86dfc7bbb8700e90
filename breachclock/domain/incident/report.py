"""The report to the regulator: what goes in a filing, and how it reads.

A draft is a snapshot of the incident for one numbered filing. It is built in the
workflow (deterministically, from state) and rendered in the activity that
sends it, so the words that reach the regulator are exactly the ones recorded.

Rendering goes through one structured ``Document`` in the regulator's language
(``document``): the fields in the order of that regulator's form, every recorded
value named in words (``wording``), every date in the operator's zone. The e-mail's
text (``render_text``) and the PDF (``incident.pdf.render_pdf``) are two layouts of
that one document, so they cannot say different things.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

import jinja2
from pydantic import BaseModel

from breachclock.domain.catalogue import Language, Voice
from breachclock.domain.incident.containment import TakedownTask
from breachclock.domain.incident.lifecycle import LATE_REASON, FileReport, filing_language
from breachclock.domain.incident.model import (
    NIS2_FACTS,
    REQUIRED_FACTS,
    Discover,
    EntryKind,
    Facts,
    Filing,
    FilingKind,
    IncidentState,
    Lasting,
    Measure,
    SubscriberNotice,
    TimelineEntry,
    Track,
)
from breachclock.domain.instants import iso_local, zone
from breachclock.domain.notify.delivery import Plan
from breachclock.domain.notify.plan import PRESETS, describe, on_policy
from breachclock.domain.regimes import Anchor, Channel, Layout, RegimeCode, regime
from breachclock.domain.templating import environment

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
"""The facts in English, for the operator's own staff (pages, ``status``); filings word
them in the regulator's language (``wording``)."""

ORDER = {1: "first", 2: "second"}

ENGINE_HOW = "recorded by breachclock"
"""How the workflow marks the entries it writes itself (``IncidentWorkflow._note``)."""
AWARE_PREFIX = "operator aware of the incident: "
"""How the workflow words the awareness step (``IncidentWorkflow.discover``)."""


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
    """The moment the workflow built it, just before sending: the filing's sending time."""
    due_at: datetime | None
    late_reason: str | None
    justification: str | None
    discovery: Discover | None
    facts: Facts
    missing: list[str]
    timeline: list[TimelineEntry]
    """The steps of the incident and its remediation (``EntryKind.INCIDENT``) only."""
    previous_filings: list[Filing]
    facts_version: int
    operator_org_number: str | None = None
    language: Language | None = None
    """The filing's language; None (a draft from before languages): the regulator's."""
    takedowns: list[TakedownTask] = []
    """Containment tasks with their times (measures and timeline)."""
    notice_waits_for_containment: bool = False
    """Notice is decided, but waits until every takedown is confirmed."""
    notice_waiting_since: datetime | None = None
    notice_wait_bound: datetime | None = None
    """Since when notice waits for containment, and when the wait reaches the policy's
    bound (None: unbounded, an incident from before bounds)."""
    approved_by: str | None = None
    """The person who approved this filing; None with ``automatic``."""
    automatic: bool = False
    """Filed by the engine at the deadline with no person's approval (drafts from before
    this was recorded: False, and no one is named)."""
    owner: str | None = None
    owner_role: str | None = None
    """The policy's owner, under whose standing authority automatic filings go."""
    expected_by: datetime | None = None
    """When what this filing does not know yet is due: the next filing's deadline (None:
    as soon as it is known, or a draft from before it)."""
    expected_after: timedelta | None = None
    """A follow-up filed at its deadline (``FilingKind.AT_DEADLINE``): how long after it a
    missing fact with no date of its own (``Facts.expected``) is expected, by the
    operator's standing default (the policy's ``expected_after``)."""

    @property
    def idempotency_key(self) -> str:
        return filing_key(self.reference, self.number)

    @property
    def words(self) -> Language:
        return self.language or regime(self.regime).language


def filing_key(reference: str, number: int) -> str:
    """A filing's business key: it is sent once under it, and its copy as sent is kept
    under it."""
    return f"{reference}:{number}"


def contact_line(state: IncidentState, code: RegimeCode) -> str:
    """The contact point as a filing to ``code`` names it: the operator's role for it or
    the filing language's term for a data protection officer, then how to reach it."""
    policy = state.policy
    role = policy.contact_role or Voice(filing_language(state, code))("filing.contact.role")
    return ", ".join(part for part in (role, policy.contact_point) if part)


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
    policy = state.policy
    return ReportDraft(
        reference=state.reference,
        title=state.title,
        number=number,
        kind=step.kind,
        stage=step.stage,
        order=ORDER.get(len(earlier) + 1, "further"),
        regime=track.regime,
        regulator=rules.regulator,
        recipient=policy.regulator_addresses.get(track.regime, rules.destination),
        operator_name=policy.operator_name,
        operator_org_number=policy.operator_org_number,
        contact_point=contact_line(state, track.regime),
        zone=policy.operator_zone,
        language=filing_language(state, track.regime),
        drafted_at=now,
        due_at=step.due_at,
        late_reason=late_reason,
        justification=track.justification
        if step.kind in (FilingKind.EXTENSION, FilingKind.SUPPLEMENTARY)
        else None,
        discovery=state.discovery,
        facts=state.facts,
        missing=state.facts.missing(),
        timeline=sorted(incident_steps(state.timeline), key=lambda e: e.at),
        previous_filings=earlier,
        facts_version=state.facts_version,
        takedowns=state.takedowns,
        notice_waits_for_containment=state.notification.waiting_for_containment,
        notice_waiting_since=state.notification.waiting_since,
        notice_wait_bound=state.notification.wait_bound,
        expected_by=next_due(track, step.stage, now),
        expected_after=policy.expected_after if step.kind is FilingKind.AT_DEADLINE else None,
        approved_by=approver(track, step),
        automatic=approver(track, step) is None,
        owner=policy.owner,
        owner_role=policy.owner_role,
    )


def approver(track: Track, step: FileReport) -> str | None:
    """Who gave this filing its go: the approval, or for a late filing's reason the
    person who gave it; None: the engine files it at the deadline on its own."""
    if step.stage == LATE_REASON:
        return track.reason_owed.by if track.reason_owed else None
    return track.approve.by if track.approve else None


def next_due(track: Track, stage: str, now: datetime) -> datetime | None:
    """The deadline of the stage after ``stage``, were this filing sent ``now``: when the
    facts it lacks must follow."""
    names = [s.name for s in regime(track.regime).stages]
    if stage not in names or names.index(stage) + 1 >= len(names):
        return None
    following = regime(track.regime).stages[names.index(stage) + 1]
    return following.due(now if following.anchor is Anchor.PREVIOUS_FILING else track.aware_at)


def incident_steps(timeline: Sequence[TimelineEntry]) -> list[TimelineEntry]:
    """The entries that are steps of the incident or its remediation (PTS field 1).

    A person's records and the engine's own doings stay out of the filing (the
    register and ``timeline`` keep them). An entry carried over from before entries
    had a kind is a step when a person said how it was established.
    """
    steps = []
    for entry in timeline:
        if entry.kind is EntryKind.INCIDENT:
            steps.append(entry)
        elif "kind" not in entry.model_fields_set and entry.how_established != ENGINE_HOW:
            steps.append(entry.model_copy(update={"kind": EntryKind.INCIDENT}))
    return steps


# ------------------------------------------------------------------ the document


@dataclass(frozen=True)
class Entry:
    """One field of the form: its label and what it says."""

    label: str
    value: str = ""
    unknown: bool = False
    """The fact is not known: the value says so, and why."""
    bullets: tuple[str, ...] = ()
    verbatim: bool = False
    """Text as written, line breaks kept (the copy of the notice)."""


@dataclass(frozen=True)
class Table:
    label: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str
    counts: bool = False
    """Two columns, a label and a number (the notice's outcomes), not the timeline."""


Item = Entry | Table


@dataclass(frozen=True)
class Section:
    number: str
    heading: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Alert:
    """What the regulator must see first: a late filing's reasons, the justification."""

    heading: str
    text: str
    note: str = ""


@dataclass(frozen=True)
class Signature:
    heading: str
    intro: str
    lines: tuple[tuple[str, str], ...]
    """Each line's label and what is filled in (blank where a hand signs)."""


@dataclass(frozen=True)
class Document:
    language: Language
    title: str
    regulator: str
    headline: str
    addressee: str
    """``to`` the regulator, for the PDF's cover."""
    subject: str
    cover: tuple[Entry, ...]
    alerts: tuple[Alert, ...]
    missing: Entry | None
    sections: tuple[Section, ...]
    earlier: Entry | None
    signature: Signature
    footer: str
    page_label: str
    """``{page}`` and ``{pages}`` to fill in."""
    labels: dict[str, Any] = field(default_factory=dict)
    """The recorded values' names in this language, for the JSON attachment."""


def _voice(draft: ReportDraft) -> Voice:
    return Voice(draft.words, zone(draft.zone), draft.regime.value).scoped("filing.")


def _kind_and_order(draft: ReportDraft, w: Voice) -> tuple[str, str]:
    return w.value("kind", draft.kind.value), w.value("order", draft.order)


def _subject(draft: ReportDraft, w: Voice, kind: str, order: str) -> str:
    return (
        f"[{draft.reference}] {draft.operator_name}: {w('subject', number=draft.number)} "
        f"({kind}, {order})"
    )


def subject(draft: ReportDraft) -> str:
    """The filing's e-mail subject, without laying the whole filing out."""
    w = _voice(draft)
    return _subject(draft, w, *_kind_and_order(draft, w))


def document(draft: ReportDraft) -> Document:
    """The filing as the regulator reads it, in its language and its form's order."""
    w = _voice(draft)
    facts = draft.facts
    form = _Form(draft, w)
    missing = form.missing_facts()
    sections = tuple(
        Section(str(n), w(f"s.{name}"), tuple(items))
        for n, (name, items) in enumerate(form.layout(), start=1)
    )
    kind, order = _kind_and_order(draft, w)
    return Document(
        language=draft.words,
        title=w("title"),
        regulator=draft.regulator,
        headline=f"{draft.operator_name} – {w('title')} {w('to')} {draft.regulator}",
        addressee=f"{w('to')} {draft.regulator}",
        subject=_subject(draft, w, kind, order),
        cover=form.cover(kind, order),
        alerts=form.alerts(),
        missing=Entry(
            f"{w('missing.heading')} ({len(missing)})"
            + (f" – {w('missing.expected', by=draft.expected_by)}" if draft.expected_by else ""),
            bullets=tuple(f"{w(f'fact.{m}')}: {form.missing_text(m)}" for m in missing),
        )
        if missing
        else None,
        sections=sections,
        earlier=Entry(
            w("earlier.heading", regulator=draft.regulator),
            bullets=tuple(
                w(
                    "earlier.item",
                    number=p.number,
                    kind=w.value("kind", p.kind.value),
                    sent=w.when(p.sent_at),
                )
                + (f", {w('earlier.receipt', receipt=p.receipt.number)}" if p.receipt else "")
                + (f" ({w('late_mark')})" if p.late else "")
                for p in draft.previous_filings
            ),
        )
        if draft.previous_filings
        else None,
        signature=Signature(w("signature.heading"), w("signature.intro"), form.signature_lines()),
        footer=w("footer", reference=draft.reference, number=draft.number),
        page_label=w("page", page="{page}", pages="{pages}"),
        labels=_labels(draft, w, facts),
    )


COVER_TEXT = 600
"""Characters of a person's text the cover shows (the late reason): the cover stays
one page; the whole text follows on the next."""


def cover_text(text: str, w: Voice) -> str:
    """``text`` as the cover shows it: whole, or its first ``COVER_TEXT`` characters up to
    a word's end, and where the rest is."""
    if len(text) <= COVER_TEXT:
        return text
    cut = text[:COVER_TEXT].rsplit(maxsplit=1)[0]
    return f"{cut} … ({w('cover.continued')})"


NIS2_ASKS: dict[str, tuple[str, ...]] = {
    "early_warning": (
        "occurred",
        "suspected_malicious",
        "cross_border_impact",
        "circumstances",
        "services",
    ),
    "incident_notification": (
        "occurred",
        "suspected_malicious",
        "cross_border_impact",
        "breach_types",
        "affected_count",
        "circumstances",
        "services",
        "systems",
        "subscriber_effect",
        "potential_consequences",
        "indicators_of_compromise",
    ),
    "final_report": (
        "occurred",
        "circumstances",
        "services",
        "systems",
        "data_kinds",
        "breach_types",
        "affected_count",
        "subscriber_effect",
        "potential_consequences",
        "suspected_malicious",
        "root_cause",
        "measures_taken",
        "measures_planned",
        "cross_border_impact",
        "cross_border",
        "other_providers",
    ),
}
"""The facts each NIS2 stage's sections show (``_Form.nis2``), in their order: what its
list of facts not yet known names."""


class _Form:
    """The fields of one filing, each worded, in the order its regulator's form has."""

    def __init__(self, draft: ReportDraft, w: Voice) -> None:
        self.d = draft
        self.f = draft.facts
        self.w = w
        self._layout: list[tuple[str, list[Item]]] | None = None

    def layout(self) -> list[tuple[str, list[Item]]]:
        """The form's sections in order, each with its items, worded once per filing.
        The list of missing facts asks for section numbers twice a fact: a PTS filing
        with 16 facts missing worded its whole form 33 times."""
        if self._layout is None:
            self._layout = self._word_layout()
        return self._layout

    def _word_layout(self) -> list[tuple[str, list[Item]]]:
        times = self.times()
        layout = regime(self.d.regime).layout
        if layout is Layout.GDPR:
            return [
                ("times", times),
                (
                    "circumstances",
                    self.fields("breach_types", "circumstances", "data_kinds")
                    + self.fields("services", "systems", "location_and_media")
                    + self.cause(),
                ),
                ("affected", self.fields("affected")),
                ("consequences", self.fields("subscriber_effect", "potential_consequences")),
                ("measures", self.measures()),
                ("providers", self.fields("other_providers", "cross_border")),
                ("notice", self.notice(None) + self.no_notice()),
                ("reference", self.fields("reference")),
            ]
        if layout is Layout.NIS2:
            return self.nis2(times)
        # PTS's form, and the Danish authority's: Regulation 611/2013's items.
        return [
            ("times", times),
            ("affected", self.fields("affected")),
            (
                "circumstances",
                self.fields("breach_types", "circumstances", "services")
                + self.fields("data_kinds", "systems", "location_and_media")
                + self.cause()
                + self.fields("subscriber_effect", "potential_consequences"),
            ),
            ("measures", self.measures()),
            ("providers", self.fields("other_providers")),
            ("cross_border", self.fields("cross_border")),
            ("reference", self.fields("reference")),
            ("notice", self.notice(9)),
            ("no_notice", self.no_notice(8)),
        ]

    def nis2(self, times: list[Item]) -> list[tuple[str, list[Item]]]:
        """NIS2 art. 23(4) (CELEX 32022L2555): each stage its own sections, in the
        article's order, each heading citing its point. (a) the early warning: whether
        the incident is suspected of being caused by unlawful or malicious acts, and
        whether it could have a cross-border impact; (b) the incident notification: (a)
        updated, and an initial assessment (severity and impact, indicators of
        compromise where available); (d) the final report: a detailed description with
        severity and impact, the type of threat or root cause, the applied and ongoing
        mitigation measures, the cross-border impact. A fact not yet known says so, with
        when it is expected. A supplement (a late filing's reason) reads as (b)."""
        reference = ("reference", self.fields("reference"))
        flags: list[Item] = [self.flag("suspected_malicious"), self.flag("cross_border_impact")]
        if self.d.stage == "early_warning":
            what = self.fields("circumstances", "services")
            return [("times", times), ("nis2_early_warning", flags + what), reference]
        severity = self.fields("security_aspects", "breach_types", "affected")
        impact = self.fields("subscriber_effect", "potential_consequences")
        if self.d.stage == "final_report":
            described = self.fields("circumstances", "services", "systems", "data_kinds")
            return [
                ("times", times),
                ("nis2_description", described + severity + impact),
                ("nis2_threat", [flags[0], *self.cause()]),
                ("nis2_mitigation", self.measures()),
                ("nis2_cross_border", [flags[1], *self.fields("cross_border", "other_providers")]),
                reference,
            ]
        assessed = self.fields("circumstances", "services", "systems")
        return [
            ("times", times),
            ("nis2_update", flags),
            (
                "nis2_assessment",
                severity + assessed + impact + self.fields("indicators_of_compromise"),
            ),
            reference,
        ]

    def missing_facts(self) -> list[str]:
        """The facts this filing lists as not yet known: all a complete report needs;
        in a NIS2 filing, those its stage's sections ask for (its own yes-or-no facts
        among them), in their order."""
        d = self.d
        if regime(d.regime).layout is not Layout.NIS2:
            return d.missing
        asked = NIS2_ASKS.get(d.stage, NIS2_ASKS["incident_notification"])
        return [
            n for n in asked if n in d.missing or (n in NIS2_FACTS and getattr(self.f, n) is None)
        ]

    def flag(self, name: str) -> Entry:
        """A yes-or-no fact: yes, no, or not yet established (and when it is expected)."""
        value = getattr(self.f, name)
        if value is None:
            return self.missing_entry(f"f.{name}", name)
        return Entry(self.w(f"f.{name}"), self.w("yes" if value else "no"))

    # -- the parts

    def cover(self, kind: str, order: str) -> tuple[Entry, ...]:
        d, w = self.d, self.w
        # On a portal a person files it later: nothing is filed yet, on time or not.
        on_portal = regime(d.regime).channel is Channel.PORTAL
        on_time = "status.prepared_on_time" if on_portal else "status.on_time"
        status = [
            w("status.late_reason")
            if d.stage == LATE_REASON
            else w("status.late")
            if d.late_reason
            else (w("status.no_deadline") if d.due_at is None else w(on_time))
        ]
        if d.justification:
            status.append(w("status.justified"))
        elif d.kind is FilingKind.AT_DEADLINE:
            status.append(w("status.at_deadline"))
        why = (Entry(w("late.reason"), cover_text(d.late_reason, w)),) if d.late_reason else ()
        return (
            # The law the filing is made under (``filing.regime_basis@<regime>``): PTS's
            # form rests on LEK (2022:482) and Regulation 611/2013 (seed 003); the Danish
            # authority names 611/2013 under Directive 2002/58/EC
            # (https://erhvervsstyrelsen.dk/brud-p%C3%A5-persondatasikkerheden).
            Entry(w("cover.regime"), w("regime_basis")),
            Entry(w("cover.operator"), d.operator_name),
            Entry(
                w("cover.org_number"),
                d.operator_org_number or w("not_given"),
                unknown=d.operator_org_number is None,
            ),
            Entry(w("cover.contact"), d.contact_point),
            Entry(w("cover.regulator"), d.regulator),
            Entry(w("cover.reference"), d.reference),
            Entry(w("cover.number"), str(d.number)),
            Entry(w("cover.kind"), kind),
            Entry(w("cover.order"), order),
            Entry(w("cover.stage"), w.value("stage", d.stage)),
            Entry(w("cover.title"), d.title),
            # On a portal a person files it later: the portal's receipt gives the time sent.
            Entry(w("cover.prepared" if on_portal else "cover.sent"), w.when(d.drafted_at)),
            Entry(w("cover.due"), w.when(d.due_at)),
            Entry(w("cover.status"), "; ".join(status)),
            *why,
            Entry(w("cover.accountable"), self.accountable() or w("accountable.unnamed")),
        )

    def accountable(self) -> str:
        """Who answers for this filing, and in what role: the person who approved it,
        or for an automatic filing the policy's owner; "" where no one is recorded."""
        d, w = self.d, self.w
        if d.approved_by:
            if d.approved_by == d.owner and d.owner_role:
                return w("accountable.named", name=d.owner, role=d.owner_role)
            return w("accountable.approved", name=d.approved_by)
        if d.automatic and d.owner:
            return w("accountable.named", name=d.owner, role=d.owner_role or "")
        return ""

    def signature_lines(self) -> tuple[tuple[str, str], ...]:
        d, w = self.d, self.w
        name = d.approved_by or (d.owner if d.automatic else None) or ""
        role = (
            (d.owner_role or "")
            if name and name == d.owner
            else (w("accountable.approver") if name else "")
        )
        sign = w("signature.automatic") if d.automatic else ""
        return (
            (w("signature.name"), name),
            (w("signature.role"), role),
            (w("signature.date"), w.day(d.drafted_at.astimezone(w.tz).date())),
            (w("signature.sign"), sign),
        )

    def alerts(self) -> tuple[Alert, ...]:
        d, w = self.d, self.w
        alerts = []
        if d.late_reason and d.stage == LATE_REASON:  # a supplement: an earlier filing's
            late = [f.number for f in d.previous_filings if f.late]
            heading = w("late.earlier_heading", number=late[-1] if late else "?")
            alerts.append(Alert(heading, f"{w('late.reason')}: {d.late_reason}"))
        elif d.late_reason:
            alerts.append(Alert(w("late.heading"), f"{w('late.reason')}: {d.late_reason}"))
        if d.justification:
            alerts.append(
                Alert(w("justification.heading"), d.justification, w("justification.follows"))
            )
        elif d.kind is FilingKind.AT_DEADLINE:
            alerts.append(self.at_deadline())
        if d.automatic:
            alerts.append(self.automatic())
        confirms = self.confirms()
        if confirms:
            alerts.append(confirms)
        return tuple(alerts)

    def automatic(self) -> Alert:
        """Filed with no person's go: under whose standing authority, and that the next
        filing confirms or corrects it. It says when it went as it did: at the deadline;
        once the missing facts were in (a stage with no deadline); or, on a portal,
        prepared before the deadline for a person to file (the engine files nothing there)."""
        d, w = self.d, self.w
        if regime(d.regime).channel is Channel.PORTAL:
            when = "_prepared"
        else:
            when = "_complete" if d.due_at is None else ""
        if d.owner:
            text = w(
                f"auto.text{when}",
                name=d.owner,
                role=d.owner_role or "",
                operator=d.operator_name,
            )
        else:
            text = w(f"auto.unnamed{when}", operator=d.operator_name)
        return Alert(w(f"auto.heading{when}"), text, w("auto.follows"))

    def at_deadline(self) -> Alert:
        """A follow-up filed at its deadline with facts missing and no justification: what
        it is, and how each missing fact's date was set (``dated``)."""
        d, w = self.d, self.w
        return Alert(
            w("at_deadline.heading"),
            w("at_deadline.text", due=d.due_at, by=self.default_day(), after=d.expected_after),
            w("justification.follows"),
        )

    def default_day(self) -> date | None:
        """The day a missing fact with no date of its own is expected, in the operator's
        zone: the policy's default length after this filing (None: no default applies)."""
        after = self.d.expected_after
        if after is None:
            return None
        return (self.d.drafted_at + after).astimezone(self.w.tz).date()

    def confirms(self) -> Alert | None:
        """A person's filing after an automatic one: it confirms that filing (the facts
        are as they were) or corrects it (they changed since)."""
        d, w = self.d, self.w
        earlier = [f for f in d.previous_filings if f.stage != LATE_REASON]
        if not d.approved_by or not earlier or earlier[-1].approved_by is not None:
            return None
        last = earlier[-1]
        key = "confirm.same" if last.facts_version == d.facts_version else "confirm.changed"
        return Alert(
            w("confirm.heading", number=last.number),
            w(key, number=last.number, sent=last.sent_at, who=d.approved_by),
        )

    def unknown(self, name: str) -> str:
        """Not yet known (never "none"): why, where a person said, and by when it is
        expected (``dated``; else the next filing's deadline)."""
        return self.dated(name, self.unknown_why(name), self.d.expected_by)

    def dated(self, name: str, said: str, deadline: datetime | None) -> str:
        """``said`` of a missing fact, with when it is expected and on what ground: the
        date recorded for it; else ``deadline`` (the next filing's); else, in a filing
        at the deadline, the operator's default."""
        w = self.w
        own = self.f.expected.get(name)
        if own is not None:
            return w("unknown.expected_own", said=said, by=own)
        if deadline is not None:
            return w("unknown.expected", said=said, by=deadline)
        default = self.default_day()
        if default is not None:
            return w("unknown.expected_default", said=said, by=default)
        return said

    def unknown_why(self, name: str) -> str:
        why = self.f.unknown_because.get(name)
        return self.w("unknown.because", why=why) if why else self.w("unknown")

    def missing_text(self, name: str) -> str:
        """A missing fact in the list of what is not known: the measures the engine
        itself knows of are in the filing already, so they are only partly unknown; a
        notice decided but waiting for containment is said where the notice is. Each
        with the date it is expected where one is recorded or a default applies (the
        next filing's deadline stands in the list's heading)."""
        measures = self.section("measures", "nis2_mitigation")
        if name == "measures_taken" and measures and self.engine_measures():
            return self.w("measures.partly", n=measures)
        notice = self.section("notice")
        if name == "subscriber_notice" and notice and self.d.notice_waits_for_containment:
            return self.w("notice.waiting_partly", n=notice)
        return self.dated(name, self.unknown_why(name), None)

    def section(self, *wanted: str) -> int | None:
        """The number of the form's section named one of ``wanted`` (measures, notice)
        in this filing; None where its form has no such section (NIS2's early warning
        has no measures, none of its stages the subscriber notice)."""
        return next(
            (n for n, (name, _) in enumerate(self.layout(), start=1) if name in wanted), None
        )

    def missing_entry(self, label_key: str, name: str) -> Entry:
        return Entry(self.w(label_key), self.unknown(name), unknown=True)

    def times(self) -> list[Item]:
        d, f, w = self.d, self.f, self.w
        established = w("f.established")
        items: list[Item] = [
            Entry(w("f.occurred"), f"{w.when(f.occurred.at)} ({established}: {f.occurred.how})")
            if f.occurred
            else self.missing_entry("f.occurred", "occurred")
        ]
        if d.discovery:
            by = w("f.by", by=d.discovery.by)
            items.append(
                Entry(
                    w("f.discovered"),
                    f"{w.when(d.discovery.at)} {by} ({established}: {d.discovery.how})",
                )
            )
        else:
            items.append(Entry(w("f.discovered"), w("not_yet")))
        items.append(
            Table(
                w("f.steps"),
                (w("col.at"), w("col.what"), w("col.by"), w("col.how")),
                tuple(
                    row
                    for _, row in sorted(
                        [
                            (
                                e.at,
                                (
                                    w.when(e.at),
                                    self.step_text(e),
                                    e.by or "",
                                    w.value("how", e.how_established),
                                ),
                            )
                            for e in d.timeline
                            if e.kind is EntryKind.INCIDENT
                        ]
                        + self.takedown_steps(),
                        key=lambda pair: pair[0],
                    )
                ),
                w("steps.none"),
            )
        )
        return items

    def takedown_steps(self) -> list[tuple[datetime, tuple[str, str, str, str]]]:
        """Each takedown's request, acknowledgement, confirmation or failure, as steps."""
        w, steps = self.w, []
        engine = w("how.recorded by breachclock")
        for t in self.d.takedowns:
            done = [
                (t.sent_at, w("takedown.sent", name=t.name, count=w.number(t.count)), "", engine),
                (t.acknowledged_at, w("takedown.acknowledged", name=t.name), "", engine),
                (
                    t.confirmed_at,
                    w("takedown.confirmed", name=t.name),
                    t.confirmed_by or "",
                    t.how_verified or "",
                ),
                (t.failed_at, w("takedown.failed", name=t.name, reason=t.reason or ""), "", engine),
            ]
            steps += [(at, (w.when(at), what, by, how)) for at, what, by, how in done if at]
        return steps

    def step_text(self, entry: TimelineEntry) -> str:
        """A step in the filing's language where the engine wrote it; as typed otherwise."""
        discovery = self.d.discovery
        aware = entry.code == "timeline.aware" or (
            entry.code is None and discovery and entry.what == AWARE_PREFIX + discovery.how
        )
        if aware and discovery:
            return self.w("entry.aware", how=discovery.how)
        return entry.words(self.w.scoped(""))

    def fields(self, *names: str) -> list[Item]:
        return [self.field(name) for name in names]

    def field(self, name: str) -> Entry:
        d, f, w = self.d, self.f, self.w
        label = w(f"f.{name}")
        if name == "reference":
            return Entry(label, d.reference)
        if name == "affected":
            count, scale = f.affected_count, f.affected_scale
            if count is None and not scale:
                return self.missing_entry("f.affected", "affected_count")
            text = w.number(count) if count is not None else ""
            return Entry(label, f"{text} ({scale})" if text and scale else text or (scale or ""))
        value: Any = getattr(f, name)
        if value is None:
            if name == "security_aspects":
                return Entry(label, w("unknown"), unknown=True)
            return self.missing_entry(f"f.{name}", name)
        if name == "breach_types":
            return Entry(label, ", ".join(w.value("breach", b.value) for b in value) or w("none"))
        if name == "security_aspects":
            return Entry(label, ", ".join(w.value("aspect", a.value) for a in value) or w("none"))
        if isinstance(value, list):
            return Entry(label, ", ".join(value) or w("none"))
        return Entry(label, str(value))

    def cause(self) -> list[Item]:
        f, w = self.f, self.w
        if f.root_cause is None:
            root = self.missing_entry("f.root_cause", "root_cause")
        else:
            named = w.value("cause", f.root_cause.value)
            detail = f" – {f.root_cause_detail}" if f.root_cause_detail else ""
            root = Entry(w("f.root_cause"), named + detail)
        return [root, self.contributing()]

    def contributing(self) -> Entry:
        """Contributing causes: not yet established (never given) reads apart from none
        (given as an empty list), so a case officer does not take one for the other."""
        causes = self.f.contributing_causes
        if causes is None:
            return self.missing_entry("f.contributing", "contributing_causes")
        return Entry(
            self.w("f.contributing"), "" if causes else self.w("none"), bullets=tuple(causes)
        )

    def measures(self) -> list[Item]:
        items: list[Item] = [
            self.measure_list("measures_taken", "measure.done"),
            self.measure_list("measures_planned", "measure.due"),
        ]
        if self.d.takedowns:
            items.append(self.containment())
        return items

    def containment(self) -> Table:
        """Every takedown with its times: asked, acknowledged, removal confirmed (by whom,
        verified how) or failed."""
        w = self.w

        def state(t: TakedownTask) -> str:
            if t.confirmed_at:
                return w("takedown.state.confirmed", by=t.confirmed_by, how=t.how_verified)
            if t.failed_at:
                return w("takedown.state.failed", reason=t.reason)
            return w.value("takedown.state", t.status.value)

        return Table(
            w("f.containment"),
            (w("col.recipient"), w("col.requested"), w("col.acknowledged"), w("col.removed")),
            tuple(
                (
                    f"{t.name} ({w.number(t.count)})",
                    w.when(t.sent_at) if t.sent_at else w("takedown.not_sent"),
                    w.when(t.acknowledged_at) if t.acknowledged_at else "—",
                    (
                        w.when(t.confirmed_at or t.failed_at) + " – "
                        if t.confirmed_at or t.failed_at
                        else ""
                    )
                    + state(t),
                )
                for t in self.d.takedowns
            ),
            w("none"),
        )

    def measure_list(self, name: str, dated: str) -> Entry:
        """A person's measures, each with its date and whether it is temporary or
        permanent; the taken ones led by what the engine itself did (takedowns asked
        for and verified, people told), so nothing it knows reads as unknown."""
        measures: list[Measure] | None = getattr(self.f, name)
        w = self.w
        engine = self.engine_measures() if name == "measures_taken" else []
        typed = tuple(self.measure_text(m, dated) for m in measures or ())
        if measures is None and not engine:
            return self.missing_entry(f"f.{name}", name)
        rest = (f"{w('measures.others')}: {self.unknown(name)}",) if measures is None else ()
        bullets = (*engine, *typed, *rest)
        return Entry(w(f"f.{name}"), "" if bullets else w("none"), bullets=bullets)

    def measure_text(self, m: Measure, dated: str) -> str:
        w = self.w
        notes = [w(dated, on=w.day(m.on)) if m.on else w("measure.undated")]
        if m.lasting:
            notes.append(w.value("lasting", m.lasting.value))
        return f"{m.what} ({'; '.join(notes)})"

    def engine_measures(self) -> list[str]:
        """What the engine did against the incident's effects, with dates: each takedown
        asked for, each removal verified, and the people told so far."""
        w, found = self.w, []
        for t in self.d.takedowns:
            if t.sent_at:
                found.append(w("measure.takedown_sent", name=t.name, count=t.count, on=t.sent_at))
            if t.confirmed_at:
                found.append(w("measure.takedown_removed", name=t.name, on=t.confirmed_at))
        notice = self.f.subscriber_notice
        if notice and notice.notified and notice.notified_count:
            found.append(w("measure.notified", count=notice.notified_count, on=self.d.drafted_at))
        return found

    def notice(self, justification_item: int | None) -> list[Item]:
        """What subscribers were told (PTS field 8); ``justification_item``: where field 9 is."""
        w, n = self.w, self.f.subscriber_notice
        if self.d.notice_waits_for_containment:
            return [Entry(w("f.notified"), self.waiting())]
        if n is None:
            return [self.missing_entry("f.notified", "subscriber_notice")]
        if not n.notified:
            if justification_item is None:
                return [Entry(w("f.notified"), w("no"))]
            return [Entry(w("f.notified"), w("notice.not_notified", n=justification_item))]
        items: list[Item] = [Entry(w("f.notified"), w("yes"))]
        if n.ordered_by:
            items.append(Entry(w("f.ordered_by"), n.ordered_by))
        means = self.means(n)
        if means:
            items.append(Entry(w("f.means"), means))
        if n.notified_count is not None:
            count = w.number(n.notified_count)
            items.append(
                Entry(
                    w("f.notified_count"),
                    w("notified_count.so_far", count=count) if n.in_progress else count,
                )
            )
        tally = self.tally(n)
        if tally:
            items.append(Entry(w("f.tally"), tally))
        if n.outcomes:
            items.append(
                Table(
                    w("f.outcomes"),
                    (w("col.outcome"), w("col.count")),
                    tuple((self.outcome(k), w.number(c)) for k, c in n.outcomes.items()),
                    w("none"),
                    counts=True,
                )
            )
        if n.skipped_rows:
            items.append(Entry(w("f.skipped"), w("skipped", count=w.number(n.skipped_rows))))
        if n.copy_text:
            items.append(Entry(w("f.copy"), n.copy_text, verbatim=True))
        return items

    def waiting(self) -> str:
        """Notice decided, waiting for containment: why, how far it is, since when, and
        the bound the operator's policy sets on the wait (reached, or when it will be)."""
        d, w = self.d, self.w
        tasks = d.takedowns
        done = sum(1 for t in tasks if t.confirmed_at)
        text = w("notice.after_containment", done=w.number(done), total=w.number(len(tasks)))
        since, bound = d.notice_waiting_since, d.notice_wait_bound
        if since is None or bound is None:
            return text
        key = "notice.wait_bound_reached" if d.drafted_at >= bound else "notice.wait_bound"
        return f"{text}. {w(key, since=since, bound=bound, span=bound - since)}"

    def tally(self, n: SubscriberNotice) -> str:
        """The campaign's own count of people in one sentence: told by telephone, SMS,
        e-mail and letter (and when the letters were posted), listed for a letter not yet
        posted, not reached (no postal address, or the letter came back), not yet reached;
        "" where no campaign counted them (a person recorded the notice)."""
        people = {
            k.removeprefix("people."): v for k, v in n.outcomes.items() if k.startswith("people.")
        }
        if not people:
            return ""
        w, o = self.w, n.outcomes
        posted, returned = o.get("letters.posted", 0), o.get("letters.returned", 0)
        no_address = o.get("letters.no_address", 0)
        listed = people.get("unreachable", 0)
        told = {
            "total": sum(people.values()),
            "called": people.get("called", 0),
            "emailed": people.get("emailed", 0),
        }
        parts = [
            w("notice.tally_sms", texted=people["texted"], **told)
            if "texted" in people
            else w("notice.tally", **told),
            self.lettered(n, posted - returned),
            w("notice.tally_awaiting", count=max(listed - posted - no_address, 0)),
            w(
                "notice.tally_unreached",
                count=no_address + returned,
                no_address=no_address,
                returned=returned,
            ),
            w("notice.tally_pending", count=people.get("pending", 0)),
        ]
        return "; ".join(parts)

    def lettered(self, n: SubscriberNotice, count: int) -> str:
        """How many were told by letter, and when their letters went to the post."""
        w, start, end = self.w, n.letters_from, n.letters_until
        if not count or start is None or end is None:
            return w("notice.tally_letters", count=count)
        first, last = start.astimezone(w.tz).date(), end.astimezone(w.tz).date()
        if first == last:
            return w("notice.tally_letters_on", count=count, on=first)
        return w("notice.tally_letters_between", count=count, first=first, last=last)

    def no_notice(self, notice_item: int | None = None) -> list[Item]:
        """Why subscribers were not told (PTS field 9); ``notice_item``: where field 8 is."""
        w, n = self.w, self.f.subscriber_notice
        if self.d.notice_waits_for_containment:
            waiting = w("notice.waiting_partly", n=notice_item)
            return [Entry(w("f.justification"), waiting)] if notice_item else []
        if n is None:
            return (
                [self.missing_entry("f.justification", "subscriber_notice")] if notice_item else []
            )
        if n.notified:
            return (
                [Entry(w("f.justification"), w("notice.notified", n=notice_item))]
                if notice_item
                else []
            )
        ground = w.value("exemption", n.exemption) if n.exemption else w("exemption.none")
        return [
            Entry(w("f.exemption"), ground),
            Entry(w("f.justification"), n.justification or ""),
        ]

    def means(self, n: SubscriberNotice) -> str:
        """A campaign's means in words; a person's own as they wrote them."""
        w, attempts, hours = self.w, n.call_attempts, n.calling_hours
        if n.plan in PRESETS:
            return walked_plan(n, w)
        if attempts is None:
            legacy = re.match(LEGACY_MEANS, n.means or "")
            if n.means == LEGACY_EMAIL_ONLY:
                attempts = 0
            elif legacy:
                attempts, hours = int(legacy[1]), f"{legacy[2]}-{legacy[3]}"
            else:
                return n.means or ""
        if attempts == 0:
            return w("means.email")
        start, _, end = (hours or "09:00-20:00").partition("-")
        return w("means.calls", attempts=attempts, start=w.clock(start), end=w.clock(end))

    def outcome(self, key: str) -> str:
        group, _, raw = outcome_key(key).partition(".")
        w = self.w
        if group == "people":
            return w.value("people", raw)
        if group == "calls":
            return f"{w('calls')} – {w.value('call', raw)}"
        if group == "emails":
            return f"{w('emails')} – {w.value('email', raw)}"
        if group == "sms":
            return f"{w('sms')} – {w.value('sms', raw)}"
        if group == "identified":
            return f"{w('identified')} – {w.value('identity', raw)}"
        if group == "letters":
            return f"{w('letters')} – {w.value('letter', raw)}"
        return key


def walked_plan(n: SubscriberNotice, w: Voice) -> str:
    """The plan a campaign walked, step by step in the filing's language, on the calling
    hours and call attempts it ran with."""
    start, _, end = (n.calling_hours or "09:00-20:00").partition("-")
    policy = Plan(
        attempts=n.call_attempts or 0,
        window_start=time.fromisoformat(start),
        window_end=time.fromisoformat(end),
    )
    whole = Voice(w.language, w.tz, w.regime, "", w.now)
    steps = describe(on_policy(PRESETS[n.plan or ""], policy))
    return "; ".join(step.words(whole) for step in steps)


LEGACY_OUTCOMES = {
    "told by telephone (identity confirmed)": "people.called",
    "told by e-mail": "people.emailed",
    "unreachable: to be told by letter": "people.unreachable",
    "not yet reached": "people.pending",
}


LEGACY_MEANS = r"telephone, up to (\d+) attempts between (\d\d:\d\d) and (\d\d:\d\d) on the person"
LEGACY_EMAIL_ONLY = "e-mail (plain text and HTML); letter where no e-mail address could be used"
"""How campaigns recorded their means in English before the filing worded them."""


def outcome_key(key: str) -> str:
    """A notice outcome's stable key, also for the English ones recorded before there were
    keys ("told by e-mail", "call attempts: busy", "e-mails: sent")."""
    if key in LEGACY_OUTCOMES:
        return LEGACY_OUTCOMES[key]
    for old, new in (("call attempts: ", "calls."), ("e-mails: ", "emails.")):
        if key.startswith(old):
            return new + key.removeprefix(old)
    return key


def _labels(draft: ReportDraft, w: Voice, facts: Facts) -> dict[str, Any]:
    notice = facts.subscriber_notice
    form = _Form(draft, w)
    return {
        "title": w("title"),
        "kind": w.value("kind", draft.kind.value),
        "stage": w.value("stage", draft.stage),
        "order": w.value("order", draft.order),
        "breach_types": {b.value: w.value("breach", b.value) for b in facts.breach_types or ()},
        "root_cause": w.value("cause", facts.root_cause.value) if facts.root_cause else None,
        "exemption": w.value("exemption", notice.exemption)
        if notice and notice.exemption
        else None,
        "means": form.means(notice) if notice and notice.notified else None,
        "outcomes": {k: form.outcome(k) for k in (notice.outcomes if notice else {})},
        "facts": {name: w(f"fact.{name}") for name in (*REQUIRED_FACTS, *NIS2_FACTS)},
        "lasting": {x.value: w.value("lasting", x.value) for x in Lasting},
        "accountable": form.accountable() or None,
        "timeline": [
            {"what": form.step_text(e), "how_established": w.value("how", e.how_established)}
            for e in draft.timeline
            if e.kind is EntryKind.INCIDENT
        ],
    }


# ------------------------------------------------------------------ renderings


@cache
def _templates() -> jinja2.Environment:
    return environment("breachclock.domain.incident")


def render_text(draft: ReportDraft, laid_out: Document | None = None) -> str:
    """The filing as the e-mail's text, in the regulator's language (``laid_out``: the
    draft already laid out by ``document``, as for the JSON and the PDF)."""
    doc = laid_out or document(draft)
    return _templates().get_template("report.txt.j2").render(doc=doc)


def render_json(draft: ReportDraft, laid_out: Document | None = None) -> str:
    """The machine-readable attachment: the draft (English keys, recorded values as
    recorded), instants with the operator's offset, and the filing's words for them."""
    tz = zone(draft.zone)
    doc = laid_out or document(draft)
    # Which facts an approver let go in another language is the operator's record.
    data: dict[str, Any] = draft.model_dump(
        mode="json", exclude={"previous_filings": {"__all__": {"language_override"}}}
    )
    data["language"] = draft.words
    data["due_at"] = iso_local(draft.due_at, tz)
    data["drafted_at"] = iso_local(draft.drafted_at, tz)
    data["timeline"] = [
        e.model_dump(mode="json") for e in draft.timeline if e.kind is EntryKind.INCIDENT
    ]
    data["missing"] = [{"fact": m, "label": doc.labels["facts"][m]} for m in draft.missing]
    data["labels"] = doc.labels
    return json.dumps(data, ensure_ascii=False, indent=2)
