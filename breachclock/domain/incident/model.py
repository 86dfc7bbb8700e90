"""The incident's data: what people tell us, and what the engine has done.

Input models forbid unknown fields, so a misspelt fact is an error rather than a
silent loss. Models that can hold personal data hide the input in their
validation errors, so a rejected phone number or name never reaches a log.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, GetJsonSchemaHandler, field_validator, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from breachclock.domain.catalogue import Language, Voice
from breachclock.domain.incident.alert import AlertSource
from breachclock.domain.incident.containment import TakedownTask
from breachclock.domain.incident.limits import EVENT_TEXT, FACTS_LIMIT, LIST_ITEMS, json_size
from breachclock.domain.inputs import REFERENCE_PATTERN, Day, InputModel, Name, Text, Truth, Whole
from breachclock.domain.instants import Instant, zone
from breachclock.domain.notify.assessment import Assessment, Decision, Recommendation
from breachclock.domain.notify.delivery import Counts, Plan
from breachclock.domain.notify.letters import Letters
from breachclock.domain.notify.notice import IncidentNotice
from breachclock.domain.notify.subscribers import Rejected
from breachclock.domain.problems import Param, Said, invalid
from breachclock.domain.regimes import RegimeCode, privacy_regimes, regime


class BreachType(StrEnum):
    LOSS = "loss"
    ALTERATION = "alteration"
    DISCLOSURE = "disclosure"


class RootCause(StrEnum):
    ORGANISATION_OR_PROCESS = "organisation_or_process"
    TECHNICAL_FAULT = "technical_fault"
    MISTAKE = "mistake"
    INTENTIONAL = "intentional"


class SecurityAspect(StrEnum):
    AVAILABILITY = "availability"
    AUTHENTICITY = "authenticity"
    INTEGRITY = "integrity"
    CONFIDENTIALITY = "confidentiality"


class EstablishedTime(InputModel):
    """A time and how it was established (logs, or an estimate and its basis)."""

    at: Instant
    how: Text


class Lasting(StrEnum):
    """Whether a measure holds until a permanent one replaces it (PTS asks for both)."""

    TEMPORARY = "temporary"
    PERMANENT = "permanent"


class Measure(InputModel):
    """One measure against the incident or its causes. Its state is the list it is in
    (``measures_taken``: done, ``on`` the date done; ``measures_planned``: ``on`` the
    date due), as PTS's form asks for them apart."""

    what: Text
    on: Day | None = None
    """Done measures: the date done. Planned measures: the date due."""
    lasting: Lasting | None = None
    """Temporary or permanent; None: not said."""

    @model_validator(mode="before")
    @classmethod
    def _from_a_sentence(cls, value: Any) -> Any:
        """A measure given as a plain sentence (how facts files and API callers once
        wrote them) reads as a measure with that text and nothing else known."""
        return {"what": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The schema says what the validator takes: a measure, or a plain sentence."""
        measure = handler(core_schema)
        sentence = handler.resolve_ref_schema(measure)["properties"]["what"]
        return {"anyOf": [dict(handler.resolve_ref_schema(measure)), sentence]}


class SubscriberNotice(InputModel):
    """The decision on telling subscribers, as it stands in the report (PTS fields 8–9)."""

    notified: Truth
    justification: Text | None = None
    """Why not, when not notified (PTS field 9)."""
    means: str | None = None
    """How they were told, in a person's words; a campaign's own means are in the two
    fields below (the filing words them in the regulator's language)."""
    call_attempts: Whole | None = Field(default=None, ge=0, le=20)
    """A campaign's calls per person before e-mail (0: e-mail only); None: not a campaign."""
    calling_hours: Annotated[str, Field(pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")] | None = None
    """A campaign's calling hours on the person's own clock, ``HH:MM-HH:MM``."""
    plan: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,60}$")] | None = None
    """The notification plan a campaign walked (``notify.plan.PRESETS``), when not the
    calls then e-mail that ``call_attempts`` says."""
    notified_count: Whole | None = Field(default=None, ge=0)
    copy_text: str | None = None
    ordered_by: str | None = None
    """The regulator that ordered the notice, when it was ordered."""
    exemption: str | None = None
    """When not notified: the ground (``unintelligible``: art. 4 protection;
    ``no_adverse_effect``: not likely to adversely affect them)."""
    in_progress: Truth = False
    outcomes: dict[str, Whole] = Field(default_factory=dict)
    """People by how they were (or were not yet) told, and attempts by outcome, under
    stable keys: ``people.<status>``, ``calls.<call outcome>``, ``emails.<outcome>``
    (``notify.reporting.outcome_counts``); the filing names each in its language."""
    skipped_rows: Whole = 0
    """Rows of the affected list that were invalid and skipped (--skip-invalid)."""
    letters_from: Instant | None = None
    letters_until: Instant | None = None
    """When the first and the last letters recorded as posted went to the post."""

    @model_validator(mode="after")
    def _justified(self) -> SubscriberNotice:
        if not self.notified and not self.justification:
            raise invalid("notice_fact.justification_needed", "justification")
        return self


class Facts(InputModel):
    """Everything the report to the regulator asks for; None means not yet known."""

    occurred: EstablishedTime | None = None
    affected_count: Whole | None = Field(default=None, ge=0)
    affected_scale: str | None = None
    """The scale in other terms, where no exact count can be had."""
    breach_types: Annotated[list[BreachType], Field(max_length=LIST_ITEMS)] | None = None
    circumstances: Text | None = None
    services: Annotated[list[Name], Field(max_length=LIST_ITEMS)] | None = None
    data_kinds: Annotated[list[Name], Field(max_length=LIST_ITEMS)] | None = None
    systems: Annotated[list[Name], Field(max_length=LIST_ITEMS)] | None = None
    location_and_media: Text | None = None
    root_cause: RootCause | None = None
    root_cause_detail: Text | None = None
    contributing_causes: Annotated[list[Text], Field(max_length=LIST_ITEMS)] | None = None
    subscriber_effect: Text | None = None
    potential_consequences: Text | None = None
    measures_taken: Annotated[list[Measure], Field(max_length=LIST_ITEMS)] | None = None
    measures_planned: Annotated[list[Measure], Field(max_length=LIST_ITEMS)] | None = None
    other_providers: Text | None = None
    cross_border: Text | None = None
    subscriber_notice: SubscriberNotice | None = None
    security_aspects: Annotated[list[SecurityAspect], Field(max_length=LIST_ITEMS)] | None = None
    suspected_malicious: Truth | None = None
    """Whether the incident is suspected of being caused by unlawful or malicious acts
    (NIS2 art. 23(4)(a): the early warning says so "where applicable"; None: not yet
    established, and the NIS2 filings say that)."""
    cross_border_impact: Truth | None = None
    """Whether the incident has or could have a cross-border impact (NIS2 art. 23(4)(a)
    and (d)(iv)); ``cross_border`` says how, in words."""
    indicators_of_compromise: Text | None = None
    """The indicators of compromise, where available (NIS2 art. 23(4)(b))."""
    in_communications_service: Truth = True
    unknown_because: dict[str, Text] = Field(
        default_factory=dict, json_schema_extra=lambda schema: _fact_names(schema)
    )
    """Why a fact is still unknown, by field name; the report prints it."""
    expected: dict[str, Day] = Field(
        default_factory=dict, json_schema_extra=lambda schema: _fact_names(schema)
    )
    """When a fact still unknown is expected to be established, by field name: a filing
    made with the fact missing says so (where no date is recorded, the policy's
    ``expected_after`` stands in, and the filing says it is the operator's default)."""

    @field_validator("unknown_because", "expected")
    @classmethod
    def _known_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(REQUIRED_FACTS) - set(NIS2_FACTS))
        if unknown:
            raise invalid("facts.unknown_because_unknown", fields=unknown)
        return value

    def merged(self, patch: FactsPatch) -> Facts:
        """These facts with every field the patch names replaced (corrections included)."""
        return Facts.model_validate({**self.model_dump(), **patch.changes})

    def missing(self) -> list[str]:
        """The facts a complete report still needs, in the report's order."""
        absent = []
        for name in REQUIRED_FACTS:
            if name == "affected_count":
                if self.affected_count is None and not self.affected_scale:
                    absent.append(name)
            elif getattr(self, name) is None:
                absent.append(name)
        return absent


class FactsPatch(InputModel):
    """Facts to record or correct: only the fields named here change.

    A plain ``Facts`` would not do: through the data converter every field arrives
    set, and the unnamed ones would overwrite what is known with "unknown".
    """

    changes: dict[str, Any]

    @field_validator("changes")
    @classmethod
    def _valid_facts(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise invalid("facts.none_given")
        checked = Facts.model_validate(value)
        return checked.model_dump(mode="json", include=set(value))


TEXT_FACTS: tuple[str, ...] = (
    "circumstances",
    "location_and_media",
    "root_cause_detail",
    "subscriber_effect",
    "potential_consequences",
    "other_providers",
    "cross_border",
)
"""The facts a person writes as paragraphs of text (a filing carries them as typed)."""

REQUIRED_FACTS: tuple[str, ...] = (
    "occurred",
    "affected_count",
    "breach_types",
    "circumstances",
    "services",
    "data_kinds",
    "systems",
    "location_and_media",
    "root_cause",
    "subscriber_effect",
    "potential_consequences",
    "measures_taken",
    "measures_planned",
    "other_providers",
    "cross_border",
    "subscriber_notice",
)


NIS2_FACTS: tuple[str, ...] = (
    "suspected_malicious",
    "cross_border_impact",
    "indicators_of_compromise",
)
"""Facts only NIS2's filings ask for (art. 23(4)): optional, so a privacy report is
complete without them; a NIS2 filing says "not yet established" for each still None,
and takes why (``unknown_because``) and when (``expected``) as for the others."""


def _fact_names(schema: dict[str, Any]) -> None:
    """The schema of ``unknown_because`` and ``expected`` names the facts they take, as
    their validator does."""
    schema["propertyNames"] = {"enum": [*REQUIRED_FACTS, *NIS2_FACTS]}


class OpenIncident(InputModel):
    """What the incident manager knows when opening an incident."""

    reference: Annotated[str, Field(pattern=REFERENCE_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=300)]
    regime: RegimeCode = RegimeCode.PTS
    opened_by: Name
    facts: Facts = Facts()
    alert: AlertSource | None = None
    """The alert that opened it, when monitoring did."""

    @model_validator(mode="after")
    def _facts_fit(self) -> OpenIncident:
        size = json_size(self.facts)
        if size > FACTS_LIMIT:
            raise invalid(
                "facts.too_big",
                "facts",
                size_kib=round(size / 1024),
                limit_kib=round(FACTS_LIMIT / 1024),
            )
        return self

    @model_validator(mode="after")
    def _one_privacy_regulator(self) -> OpenIncident:
        if self.regime not in privacy_regimes():
            raise invalid("open.not_a_privacy_regime", "regime", regime=self.regime)
        if self.regime is RegimeCode.IMY and self.facts.in_communications_service:
            raise invalid("open.imy_in_service", "regime")
        if self.regime is RegimeCode.PTS and not self.facts.in_communications_service:
            raise invalid("open.pts_outside_service", "regime")
        return self


class Discover(InputModel):
    """The moment the operator became aware: the clocks start here."""

    at: Instant
    by: Name
    how: Text


class TimelineInput(InputModel):
    at: Instant
    what: Annotated[str, Field(min_length=1, max_length=EVENT_TEXT)]
    by: Name | None = None
    how_established: Annotated[str, Field(min_length=1, max_length=200)] = "reported"


class Approve(InputModel):
    """A person's go for one filing: they name it, so a second approval of the same one
    (a re-run, two people at once) is answered with it instead of filing again."""

    by: Name
    filing: Annotated[str, Field(max_length=64)] | None = None
    """The stage approved (``initial_report``, ``supplementary_report``, …, or
    ``correction``), as ``report`` and ``status`` name the pending filing."""
    facts_version: Annotated[Whole, Field(ge=0)] | None = None
    """The facts version the person saw: a later version may be filed again (a further
    partial report, a correction); the same one is answered with its filing."""
    late_reason: Text | None = None
    track: RegimeCode | None = None
    language_override: (
        Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=LIST_ITEMS)] | None
    ) = None
    """The facts whose text the approver lets go in another language than the filing's
    (the check's warnings, overridden): recorded in the timeline and the filing."""


class RecordReceipt(InputModel):
    """A person filed a prepared filing on the authority's portal: the receipt it gave."""

    by: Name
    filing: Annotated[int, Field(ge=1, le=100_000)]
    """The filing's number, as the page and the prepared documents name it."""
    receipt: Annotated[
        str, Field(min_length=1, max_length=100, pattern=r"^[\w./:-]+( [\w./:-]+)*$")
    ]
    at: Instant
    """The time the receipt shows."""
    pdf_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    track: RegimeCode | None = None


class Justify(InputModel):
    by: Name
    text: Annotated[str, Field(min_length=20, max_length=20_000)]
    track: RegimeCode | None = None


class OpenSecurityReport(InputModel):
    by: Name
    aware_at: Instant | None = None
    """When the operator became aware that it is a significant security incident."""


class Acknowledge(InputModel):
    """Someone owns a page: its deadline's pages stop reaching wider (the deadline and its
    automatic filing stand). With no ``deadline``, the latest page sent."""

    by: Name
    deadline: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    track: RegimeCode | None = None
    link: Annotated[str, Field(pattern=r"^[0-9a-f]{16,64}$")] | None = None
    """The one-time link's id, when acknowledged through the page e-mail's link."""


SNOOZE_MINUTES = (30, 60, 120)


class Snooze(InputModel):
    """Hold the incident's reminder and lead pages for a while; never a filing, nor a
    page that a deadline was missed."""

    by: Name
    minutes: Literal[30, 60, 120]


class Close(InputModel):
    by: Name
    reason: Text | None = None
    abandon_reports: bool = False
    """Close although reports are still due: each is recorded as never filed, with the
    reason (which is then required)."""


class FilingKind(StrEnum):
    INITIAL = "initial"
    EARLY_WARNING = "early_warning"
    NOTIFICATION = "notification"
    SUPPLEMENTARY = "supplementary"
    EXTENSION = "extension"
    AT_DEADLINE = "at_deadline"
    """A follow-up filed at its deadline with what is known, facts still missing and no
    justification recorded (the engine's own at the deadline, or a person's go given
    then): it meets the deadline as an extension does, each missing fact marked with the
    date it is expected, and the rest follows as soon as possible."""
    FINAL = "final"
    CORRECTION = "correction"


class EntryKind(StrEnum):
    """What a timeline entry records, which decides where a filing shows it."""

    INCIDENT = "incident"
    """A step of the incident or its remediation (PTS field 1): awareness, a person's event."""
    RECORD = "record"
    """A person's action in breachclock: facts recorded, a decision, a justification, closing."""
    ENGINE = "engine"
    """The engine's own doing: a filing or page sent, a campaign started or finished."""


class TimelineEntry(BaseModel):
    at: datetime
    what: str
    """What happened: a person's words for an event they added; for what the engine
    records, its English wording (for logs, and entries from before ``code``)."""
    by: str | None = None
    how_established: str = "recorded by breachclock"
    recorded_at: datetime
    kind: EntryKind = EntryKind.RECORD
    code: str | None = None
    """The catalogue's key (``timeline.aware``): how the engine's own entries are worded
    in the reader's language, with ``params``."""
    params: dict[str, Param] = Field(default_factory=dict)

    def words(self, voice: Voice) -> str:
        """What happened, in ``voice``'s language where the engine wrote it."""
        if self.code is None:
            return self.what
        return Said(code=self.code, params=self.params).words(voice)  # plural forms too


class PortalReceipt(BaseModel):
    """What the authority's portal gave the person who filed there: its number, the time
    it shows, and (optionally) the digest of its PDF as uploaded to the engine."""

    number: str
    at: datetime
    recorded_by: str
    recorded_at: datetime
    pdf_sha256: str | None = None


class Filing(BaseModel):
    number: int
    regime: RegimeCode
    kind: FilingKind
    stage: str
    recipient: str
    message_id: str
    sent_at: datetime
    due_at: datetime | None
    late: bool
    late_reason: str | None = None
    justification: str | None = None
    missing: list[str]
    facts_version: int
    approved_by: str | None = None
    language_override: list[str] = Field(default_factory=list)
    """The facts its approver let go in another language than its own (the timeline
    says when)."""
    receipt: PortalReceipt | None = None
    """A filing made on a portal by a person: the receipt they recorded (``sent_at`` is
    the receipt's time)."""


class Page(BaseModel):
    key: str
    level: str
    deadline: str
    due_at: datetime | None
    sent_at: datetime
    recipients: int
    failed: str | None = None
    """Why the page could not be sent (its retries spent); ``sent_at`` is when it gave up."""
    audience: int | None = None
    """The audience level it reached (pages recorded before this was kept: None)."""


class Sending(BaseModel):
    """A filing on its way: its number is taken, so every try (and every run after a
    continue-as-new) sends under the same business key."""

    number: int
    stage: str
    since: datetime
    failures: int = 0
    retry_at: datetime | None = None
    """When the next try is due after a failure (None: being tried now)."""


class Acknowledgement(BaseModel):
    by: str
    at: datetime
    level: int
    """The audience level of the page acknowledged: later pages reach no further."""
    link: str | None = None


class OwedReason(BaseModel):
    """A person's reason for a filing that went late before they gave it (the engine
    filed at the deadline, or at once for an awareness recorded after it): owed to the
    regulator in a supplement of its own."""

    filing: int
    """The late filing's number."""
    reason: str
    by: str | None = None
    at: datetime
    """When the reason was given: the supplement is due at once."""


class Track(BaseModel):
    """One regulator's clocks for this incident (the privacy report, or NIS2 beside it)."""

    regime: RegimeCode
    aware_at: datetime
    stage_index: int = 0
    anchors: dict[str, datetime] = Field(default_factory=dict)
    done: dict[str, datetime] = Field(default_factory=dict)
    awaiting_final: bool = False
    justification: str | None = None
    approve: Approve | None = None
    approve_at: datetime | None = None
    pages_sent: list[str] = Field(default_factory=list)
    last_reminder_at: datetime | None = None
    last_overdue_at: datetime | None = None
    last_error: str | None = None
    """The relay's own answer, for engineers (status, the engine log); never in a filing."""
    failing_since: datetime | None = None
    """When sending this track's filing first failed; a late filing says so (with the
    stage), in the filing's words (tracks from before it: the relay failed, undated)."""
    final_facts_version: int | None = None
    sending: Sending | None = None
    acknowledged: dict[str, Acknowledgement] = Field(default_factory=dict)
    """Per deadline (stage name), who owns its pages: at most one per stage."""
    reason_owed: OwedReason | None = None
    via_portal: bool = False
    """Filed by a person on the authority's portal: decided when the track starts, from
    the regime's channel (a track started before portals existed keeps e-mail)."""
    prepared: Filing | None = None
    """The filing the engine prepared for the portal, waiting for its receipt: until a
    person records it, the stage's deadline and escalations run on."""
    """A late filing's reason that a person gave after it went, not yet sent."""


class Policy(BaseModel):
    """The operator's timing choices, fixed into the incident when it opens."""

    auto_file_margin: timedelta = timedelta(minutes=15)
    escalation_leads: list[timedelta] = Field(
        default_factory=lambda: [timedelta(hours=6), timedelta(hours=2), timedelta(minutes=30)]
    )
    overdue_repeat: timedelta = timedelta(hours=6)
    reminder_interval: timedelta = timedelta(days=1)
    takedown_remind_after: timedelta = timedelta(hours=24)
    """A takedown not confirmed this long: the recipient is reminded, the owner paged."""
    containment_wait: timedelta = timedelta(hours=24)
    """How long notice decided "after containment" may wait for the last takedown before
    the decision is escalated to be weighed again (``containment.wait_step``). 611/2013
    art. 3 asks for notice "without undue delay" after detection and allows a delay only
    where the authority agrees it would harm the investigation; the operator's own wait,
    so that nobody hears the data is gone before it is, is therefore bounded by the
    regulation's own measure of a prompt step: the 24 hours it gives for telling the
    authority (art. 2(2))."""
    expected_after: timedelta = timedelta(days=3)
    """A fact still missing when a follow-up is filed at its deadline, with no date of its
    own recorded (``Facts.expected``), is expected this long after the filing: the three
    days 611/2013 art. 2(3) gives from the first notification to the second."""
    audiences: list[list[str]] = Field(default_factory=list)
    """Who is paged at each escalation level, widening: leads in order, then overdue."""
    regulator_addresses: dict[RegimeCode, str] = Field(default_factory=dict)
    operator_zone: str = "Europe/Stockholm"
    regime_zones: dict[RegimeCode, str] = Field(default_factory=dict)
    """A zone per regulator where the operator's team there works in another (the Danish
    authority's incidents shown in Copenhagen time); ``for_regime`` applies it."""
    operator_name: str = "Operator"
    operator_org_number: str | None = None
    """The operator's organisation number (PTS's form asks for it)."""
    contact_point: str = ""
    """How to reach the contact point (e-mail, phone); the role is ``contact_role``."""
    contact_role: str | None = None
    """The contact point's role as the operator names it; none: the filing's own term
    for a data protection officer, in the filing's language."""
    nis2_language: Literal["en", "sv"] = "en"
    """The language of NIS2 reports (PTS and IMY get Swedish, the Danish authority Danish)."""
    owner: str | None = None
    """Who answers for the filings the engine makes at a deadline on its own (the
    policy's owner, under whose standing authority they go), by name."""
    owner_role: str | None = None
    """The owner's role as the operator names it."""
    staff_language: Language = "en"
    """The language pages to the operator's own staff are in (the console's; incidents
    opened before pages were worded: English, as they were)."""
    customer_phone: str | None = None
    customer_email: str | None = None
    customer_web: str | None = None
    """How notified people reach the operator (the notice prints these)."""
    notify_plan: Plan = Field(default_factory=Plan)
    history_budget: int = Field(default=8_000, ge=20, le=40_000)
    """Events an incident's run may reach before it continues as new (tests force it low)."""
    campaign_check: timedelta = timedelta(hours=1)
    """How often a running campaign is looked at from outside, in case it was ended by
    hand (it tells the incident itself when it finishes)."""

    def for_regime(self, code: RegimeCode) -> Policy:
        """The policy of an incident under ``code``: its operator zone, if one is set for it."""
        own = self.regime_zones.get(code)
        return self.model_copy(update={"operator_zone": own}) if own else self

    @field_validator("operator_zone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        zone(value)
        return value


class Wave(BaseModel):
    """One campaign run over the people on the list from sequence number ``first``."""

    number: int
    first: int
    end: int
    """Sequence numbers [first, end): grows while the wave runs and people are added."""
    started_at: datetime
    finished_at: datetime | None = None
    counts: Counts | None = None
    failure: str | None = None
    """Why the wave ended without finishing (its workflow was ended by hand, or failed)."""
    checked_at: datetime | None = None
    """When the campaign's workflow was last looked at from outside."""
    signals: bool = False
    """The campaign tells the incident when it ends (every wave started by this engine)."""


class NoticeOrder(InputModel):
    """A regulator ordered the subscribers told (as PTS did in the Tre case)."""

    by: Name
    """The regulator, e.g. PTS."""
    decision_reference: Annotated[str, Field(max_length=200)] | None = None
    text: Text | None = None
    recorded_by: Name


class Notification(BaseModel):
    """Telling the affected people: the assessment, the decision, the list and the campaigns."""

    assessment: Assessment | None = None
    recommendation: Recommendation | None = None
    decision: Decision | None = None
    order: NoticeOrder | None = None
    notice: IncidentNotice | None = None
    people: int = 0
    """On the list (each person once)."""
    repeated: int = 0
    """Rows loaded again that named someone already on the list."""
    skipped: dict[str, list[Rejected]] = Field(default_factory=dict)
    """By file: invalid rows skipped with --skip-invalid (line and reason, no contact details;
    the first 1,000 of each file). Loading a file again replaces its entry."""
    skipped_total: dict[str, int] = Field(default_factory=dict)
    languages: list[str] = Field(default_factory=list)
    """Languages the list asks for ("" for the regime's default)."""
    items: list[str] = Field(default_factory=list)
    """The affected items the list names (CRM names): the notice must label each."""
    waves: list[Wave] = Field(default_factory=list)
    loaded_pages: list[str] = Field(default_factory=list)
    """The keys of the staged pages taken on: loading one again adds nobody."""
    waiting_for_containment: bool = False
    """Notice is decided, after containment: calls begin once every takedown is confirmed."""
    waiting_since: datetime | None = None
    """When notice began to wait for containment (the decision's time)."""
    wait_bound: datetime | None = None
    """When that wait reaches the policy's ``containment_wait``: then, and every
    ``overdue_repeat`` after while it still waits, the decision is escalated to be weighed
    again (None: an incident whose run began before waits were bounded)."""
    wait_pages: int = 0
    """Pages sent because the wait passed its bound."""
    last_wait_page_at: datetime | None = None
    letters: Letters | None = None
    """The letters' counts, as the engine's record of print batches last gave them."""

    @property
    def told(self) -> bool:
        """A campaign runs or has run to its end (a failed one does not count)."""
        return any(w.failure is None for w in self.waves)

    @property
    def running(self) -> Wave | None:
        return next((w for w in self.waves if w.finished_at is None), None)

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped_total.values())

    @property
    def covered(self) -> int:
        """People (by sequence number) that some campaign wave has taken on."""
        return max((w.end for w in self.waves if w.failure is None), default=0)


class Closure(BaseModel):
    at: datetime
    by: str
    reason: str | None
    never_filed: list[str] = []
    """The reports that were due when it closed (``pts:supplementary_report``), given up
    with the reason above."""


class IncidentState(BaseModel):
    """The whole incident as the workflow holds it (and carries across continue-as-new)."""

    reference: str
    title: str
    regime: RegimeCode
    opened_at: datetime
    opened_by: str
    policy: Policy
    facts: Facts = Facts()
    facts_version: int = 0
    discovery: Discover | None = None
    discovery_recorded_at: datetime | None = None
    tracks: list[Track] = Field(default_factory=list)
    filings: list[Filing] = Field(default_factory=list)
    pages: list[Page] = Field(default_factory=list)
    pages_dropped: int = 0
    """The oldest pages no longer listed (the state keeps within its limit)."""
    timeline: list[TimelineEntry] = Field(default_factory=list)
    closure: Closure | None = None
    next_filing_number: int = 1
    notification: Notification = Field(default_factory=Notification)
    takedowns: list[TakedownTask] = Field(default_factory=list)
    """Containment: takedown requests and what became of them (``TAKEDOWN_LIMIT``)."""
    snoozed_until: datetime | None = None
    """Reminder and lead pages wait until then (filings and overdue pages never do)."""
    alert: AlertSource | None = None
    """The alert that opened it, when monitoring did."""
    files_at_deadline: bool = False
    """A follow-up due with facts missing and no justification is filed at its deadline
    with what is known (``FilingKind.AT_DEADLINE``); set by every run that may take that
    path (runs begun before it kept silent, paging only)."""

    def track(self, regime: RegimeCode | None = None) -> Track | None:
        wanted = regime or self.regime
        return next((t for t in self.tracks if t.regime is wanted), None)

    @property
    def state_label(self) -> Literal["opened", "discovered", "reported", "completed", "closed"]:
        if self.closure:
            return "closed"
        if self.discovery is None:
            return "opened"
        main = self.track()
        if main is None or not self.filings:
            return "discovered"
        if main.stage_index >= len(regime(main.regime).stages):
            return "completed"
        return "reported"


def clean_reference(value: Any) -> str:
    text = str(value)
    if not re.fullmatch(REFERENCE_PATTERN, text):
        raise invalid("reference.invalid", text=text[:80])
    return text
