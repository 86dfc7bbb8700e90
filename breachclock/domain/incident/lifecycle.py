"""What is due, and when: the incident's clocks as a pure function of its state.

``schedule`` lists every step a track has coming (file a report, page someone,
remind) with the instant it falls due. The workflow runs the steps that are due
and sleeps until the earliest one that is not. Because the list is derived from
the state alone, a deadline that moves, a fact that arrives or a worker that was
down for a day all come out right without any timer bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from breachclock.domain.catalogue import Language, Voice
from breachclock.domain.incident.model import (
    Approve,
    Filing,
    FilingKind,
    IncidentState,
    Page,
    Policy,
    Track,
)
from breachclock.domain.regimes import RegimeCode, Stage, StageKind, regime

FIRST_KINDS = {
    "initial_report": FilingKind.INITIAL,
    "notification": FilingKind.INITIAL,
    "early_warning": FilingKind.EARLY_WARNING,
    "incident_notification": FilingKind.NOTIFICATION,
}


@dataclass(frozen=True)
class FileReport:
    regime_index: int
    kind: FilingKind
    stage: str
    due_at: datetime | None

    @property
    def key(self) -> str:
        return f"file:{self.regime_index}:{self.stage}"


@dataclass(frozen=True)
class SendPage:
    regime_index: int
    level: str
    """'6h', '2h', '30m' before the deadline, 'overdue-N', or 'reminder-N'."""
    audience: int
    deadline: str
    due_at: datetime | None
    covers: tuple[str, ...] = field(default=())
    """Earlier escalation keys this page makes moot (all fell due while the engine was down)."""

    @property
    def key(self) -> str:
        return f"{self.deadline}:{self.level}"


Step = FileReport | SendPage


@dataclass(frozen=True)
class Scheduled:
    at: datetime
    step: Step


def current_stage(track: Track) -> Stage | None:
    stages = regime(track.regime).stages
    return stages[track.stage_index] if track.stage_index < len(stages) else None


def track_of_stage(state: IncidentState, stage: str) -> RegimeCode | None:
    """The regulator whose next filing is for ``stage`` (as pages name it), if any."""
    return next(
        (t.regime for t in state.tracks if (s := current_stage(t)) and s.name == stage), None
    )


def stage_due(track: Track, stage: Stage) -> datetime | None:
    anchor = track.anchors.get(stage.name)
    return None if anchor is None else stage.due(anchor)


def lead_label(lead: timedelta) -> str:
    minutes = int(lead.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


LATE_REASON = "late_reason"
"""The stage name of a supplement that carries a late filing's reason (``OwedReason``)."""


def schedule(state: IncidentState, index: int, now: datetime) -> list[Scheduled]:
    """Every coming step of track ``index``, each with the instant it is due.

    A late filing's reason owed to the regulator goes first, once no other filing of
    the track is due or being sent: a track sends one filing at a time (its number and
    retries are the track's ``sending``)."""
    steps = _schedule(state, index, now)
    track = state.tracks[index]
    owed = track.reason_owed
    if owed is None or state.closure is not None:
        return steps
    supplement = FileReport(index, FilingKind.SUPPLEMENTARY, LATE_REASON, None)
    sending = track.sending.stage if track.sending else None
    if sending == LATE_REASON:
        return [s for s in steps if not isinstance(s.step, FileReport)] + [
            Scheduled(owed.at, supplement)
        ]
    other = [s for s in steps if isinstance(s.step, FileReport) and s.at <= max(now, owed.at)]
    if sending is None and not other:
        steps = sorted([*steps, Scheduled(owed.at, supplement)], key=lambda s: s.at)
    return steps


def _schedule(state: IncidentState, index: int, now: datetime) -> list[Scheduled]:
    track = state.tracks[index]
    stage = current_stage(track)
    if state.closure is not None:
        return []
    if stage is None:
        if track.approve_at is None or not correction_pending(state, index):
            return []
        return [
            Scheduled(
                track.approve_at, FileReport(index, FilingKind.CORRECTION, "correction", None)
            )
        ]
    policy = state.policy
    due = stage_due(track, stage)
    steps = _filing_steps(state, index, stage, due, now)
    if track.awaiting_final:
        steps += _reminders(track, index, stage, policy)
    elif due is not None:
        steps += _escalations(track, index, stage, due, now, policy)
    return sorted(_owned(state, track, steps), key=lambda s: s.at)


def _owned(state: IncidentState, track: Track, steps: list[Scheduled]) -> list[Scheduled]:
    """``steps`` as acknowledgements and a snooze change them (see ``ownership``): pages
    of an acknowledged deadline go no wider than the page acknowledged; lead and
    reminder pages wait for a snooze to end. Filings and overdue pages are untouched."""
    until = state.snoozed_until
    result = []
    for item in steps:
        step = item.step
        if isinstance(step, SendPage):
            ack = track.acknowledged.get(step.deadline)
            if ack is not None and step.audience > ack.level:
                step = replace(step, audience=ack.level)
            at = item.at
            if until is not None and at < until and not step.level.startswith("overdue"):
                at = until
            item = Scheduled(at, step)
        result.append(item)
    return result


def _filing_steps(
    state: IncidentState, index: int, stage: Stage, due: datetime | None, now: datetime
) -> list[Scheduled]:
    track = state.tracks[index]
    if track.prepared is not None:
        return []  # on the portal's side now: a person files it and records the receipt
    margin_point = None if due is None else due - filing_lead(state.policy, track)
    asked = track.approve_at

    def at(*candidates: datetime | None) -> datetime | None:
        present = [c for c in candidates if c is not None]
        return min(present) if present else None

    def step(kind: FilingKind, when: datetime | None) -> list[Scheduled]:
        if when is None:
            return []
        if track.sending is not None and track.sending.retry_at is not None:
            when = track.sending.retry_at  # a failed try: the next one is due then
        # After an extension the deadline is met; the rest follows "as soon as possible".
        return [
            Scheduled(
                when, FileReport(index, kind, stage.name, None if track.awaiting_final else due)
            )
        ]

    if stage.kind is StageKind.AUTOMATIC:
        return step(FIRST_KINDS.get(stage.name, FilingKind.INITIAL), at(asked, margin_point))
    complete = not state.facts.missing()
    if track.awaiting_final:
        if complete:
            return step(FilingKind.FINAL, now)
        return step(FilingKind.SUPPLEMENTARY, asked)
    if complete:
        return step(FilingKind.FINAL, at(asked, margin_point))
    if track.justification:
        return step(FilingKind.EXTENSION, at(asked, margin_point))
    if state.files_at_deadline and due is not None and margin_point is not None:
        window = due - max(state.policy.escalation_leads, default=state.policy.auto_file_margin)
        return step(*known_at_deadline(asked, min(window, margin_point), margin_point))
    return step(FilingKind.SUPPLEMENTARY, asked)


def known_at_deadline(
    asked: datetime | None, window: datetime, margin_point: datetime
) -> tuple[FilingKind, datetime]:
    """A follow-up with facts missing and no justification. A person's go before the
    deadline's ``window`` (its first page, which says the engine files at the margin)
    sends a partial report, and the stage stays open; a go within it answers that page
    and is the deadline's one filing of what is known (``FilingKind.AT_DEADLINE``), as is
    the engine's own at the margin. So an approval given as the engine files, or just
    before, makes no second filing."""
    if asked is not None and asked < window:
        return FilingKind.SUPPLEMENTARY, asked
    return FilingKind.AT_DEADLINE, margin_point if asked is None else min(asked, margin_point)


def filing_lead(policy: Policy, track: Track) -> timedelta:
    """How long before its deadline a filing nobody approved goes as it stands: the
    engine's margin for mail; for a portal, where a person must still sign in and file
    it, the earliest escalation's lead (its page already carries the documents)."""
    if track.via_portal:
        return max(policy.escalation_leads, default=policy.auto_file_margin)
    return policy.auto_file_margin


def _escalations(
    track: Track, index: int, stage: Stage, due: datetime, now: datetime, policy: Policy
) -> list[Scheduled]:
    leads = sorted(policy.escalation_leads, reverse=True)
    pending = [
        (level, due - lead, f"{stage.name}:{lead_label(lead)}")
        for level, lead in enumerate(leads)
        if f"{stage.name}:{lead_label(lead)}" not in track.pages_sent
    ]
    fallen_due = [p for p in pending if p[1] <= now]
    fallen_keys = tuple(key for _, _, key in fallen_due)
    steps: list[Scheduled] = []
    if fallen_due and due > now:
        # Only the most urgent of the escalations that fell due together is sent.
        level, when, _ = fallen_due[-1]
        label = lead_label(leads[level])
        steps.append(
            Scheduled(when, SendPage(index, label, level, stage.name, due, fallen_keys[:-1]))
        )
    for level, when, _ in pending:
        if when > now:
            label = lead_label(leads[level])
            steps.append(Scheduled(when, SendPage(index, label, level, stage.name, due)))
    overdue_sent = sum(1 for key in track.pages_sent if key.startswith(f"{stage.name}:overdue-"))
    # Repeat from the last page, not from the deadline: after downtime the engine
    # pages once, not once for every interval it missed. Once overdue, the overdue
    # page stands in for every "due in …" page that was never sent.
    when = due if track.last_overdue_at is None else track.last_overdue_at + policy.overdue_repeat
    covers = fallen_keys if due <= now else ()
    label = f"overdue-{overdue_sent + 1}"
    steps.append(Scheduled(when, SendPage(index, label, len(leads), stage.name, due, covers)))
    return steps


def _reminders(track: Track, index: int, stage: Stage, policy: Policy) -> list[Scheduled]:
    since = track.last_reminder_at or track.done.get(stage.name) or track.anchors[stage.name]
    count = sum(1 for key in track.pages_sent if key.startswith(f"{stage.name}:reminder-"))
    return [
        Scheduled(
            since + policy.reminder_interval,
            SendPage(index, f"reminder-{count + 1}", 0, stage.name, None),
        )
    ]


def record_filing(state: IncidentState, index: int, filing: Filing) -> None:
    """Advance track ``index`` after ``filing`` went out."""
    track = state.tracks[index]
    state.filings.append(filing)
    if filing.stage == LATE_REASON:  # beside the track's clocks: nothing else moves
        track.reason_owed = None
        return
    track.approve = None
    track.approve_at = None
    track.last_error = None
    track.failing_since = None
    if filing.kind is FilingKind.SUPPLEMENTARY:
        return
    if filing.kind is FilingKind.CORRECTION:
        # Only offered once the track is finished: there is no current stage.
        track.final_facts_version = filing.facts_version
        return
    stages = regime(track.regime).stages
    stage = stages[track.stage_index]
    # An extension meets the deadline; the final after it does not move that date.
    track.done.setdefault(stage.name, filing.sent_at)
    if filing.kind in (FilingKind.EXTENSION, FilingKind.AT_DEADLINE):
        track.awaiting_final = True
        return
    _enter(track, stages, track.stage_index + 1, filing.sent_at)
    nxt = current_stage(track)
    if (
        not filing.missing
        and nxt is not None
        and nxt.kind is StageKind.FOLLOW_UP
        and not nxt.needs_own_filing
    ):
        track.done[nxt.name] = filing.sent_at
        _enter(track, stages, track.stage_index + 1, filing.sent_at)
    if current_stage(track) is None:
        track.final_facts_version = filing.facts_version


def record_page(
    state: IncidentState, step: SendPage, sent_at: datetime, recipients: int, failure: str | None
) -> None:
    """What a page (sent, or given up on with ``failure``) changes: its key and the
    escalations it made moot are done, the overdue or reminder rhythm restarts from it."""
    track = state.tracks[step.regime_index]
    track.pages_sent += [step.key, *step.covers]
    if step.level.startswith("overdue"):
        track.last_overdue_at = sent_at
    if step.level.startswith("reminder"):
        track.last_reminder_at = sent_at
    state.pages.append(
        Page(
            key=step.key,
            level=step.level,
            deadline=step.deadline,
            due_at=step.due_at,
            sent_at=sent_at,
            recipients=recipients,
            failed=failure,
            audience=step.audience,
        )
    )


def start_track(track: Track) -> None:
    """Anchor the first stage(s) of a new track at awareness."""
    stages = regime(track.regime).stages
    for stage in stages:
        if stage.anchor.value == "awareness":
            track.anchors[stage.name] = track.aware_at
    _enter(track, stages, 0, track.aware_at)


def _enter(track: Track, stages: tuple[Stage, ...], index: int, at: datetime) -> None:
    track.stage_index = index
    track.awaiting_final = False
    if index >= len(stages):
        return
    stage = stages[index]
    track.anchors.setdefault(stage.name, at)
    if stage.kind is StageKind.FOLLOW_UP and stage.due(at) is None:
        # No fixed deadline (GDPR phases): straight to "the rest as soon as possible".
        track.awaiting_final = True


def is_late(due: datetime | None, sent_at: datetime) -> bool:
    return due is not None and sent_at > due


def late_reason(
    state: IncidentState, track: Track, due_at: datetime | None, at: datetime, tz: ZoneInfo
) -> str | None:
    """Why a filing due at ``due_at`` and sent at ``at`` is late; None when it is not.

    The person's own reason first, then a failing relay, a discovery recorded late, and
    last the engine having been down: the reasons the filing then says it is late."""
    if due_at is None or not is_late(due_at, at):
        return None
    if track.approve and track.approve.late_reason:
        return track.approve.late_reason
    voice = Voice(filing_language(state, track.regime), tz)
    if track.last_error:
        now_at = current_stage(track)
        stage = voice.value("stage", now_at.name if now_at else LATE_REASON)
        if track.failing_since is None:
            return voice("filing.late.relay_failed", stage=stage)
        return voice("filing.late.relay_failed_since", stage=stage, since=track.failing_since)
    recorded = state.discovery_recorded_at
    if recorded and recorded > due_at:
        return voice("filing.late.recorded_after", recorded=recorded, due=due_at)
    return voice("filing.late.engine_down", due=due_at)


def filing_language(state: IncidentState, code: RegimeCode) -> Language:
    """The language a filing to ``code`` is written in (NIS2: the policy's choice)."""
    return state.policy.nis2_language if code is RegimeCode.NIS2 else regime(code).language


def filing_reason(
    state: IncidentState, track: Track, step: FileReport, at: datetime, tz: ZoneInfo
) -> str | None:
    """The late reason a filing sent at ``at`` carries: a supplement's, the one owed;
    any other's, why it is late (``late_reason``)."""
    if step.stage == LATE_REASON and track.reason_owed is not None:
        return track.reason_owed.reason
    return late_reason(state, track, step.due_at, at, tz)


def reason_owed_for(
    state: IncidentState, index: int, approval: Approve, existing: Filing | None, now: datetime
) -> Filing | None:
    """The late filing an approval's ``late_reason`` must still reach the regulator for,
    in a supplement: the filing it names, sent late already (the engine filed it at the
    deadline, or at once for an awareness recorded after it); or, approving a filing
    that is not late, the track's last late filing. None where the reason goes with the
    filing approved (it is late), or has been sent already."""
    reason = approval.late_reason
    track = state.tracks[index]
    if not reason:
        return None
    if existing is None:
        stage = current_stage(track)
        due = stage_due(track, stage) if stage else None
        if due is not None and now > due:
            return None  # the filing approved is late itself and says why
        late = [f for f in state.filings if f.regime is track.regime and f.late]
        existing = late[-1] if late else None
    if existing is None or not existing.late or existing.late_reason == reason:
        return None
    told = any(
        f.stage == LATE_REASON and f.regime is track.regime and f.late_reason == reason
        for f in state.filings
    )
    owed = track.reason_owed
    return None if told or (owed is not None and owed.reason == reason) else existing


def filing_for(
    state: IncidentState, index: int, stage: str, facts_version: int | None
) -> Filing | None:
    """The filing an approval of ``stage`` (at ``facts_version``) asks for, if it went.

    An automatic stage is filed once. A follow-up stage may take several partial
    reports: one went for this approval if it carried these facts or newer ones, and
    with no version named, any filing that ended the stage counts."""
    track = state.tracks[index]
    candidates = [f for f in state.filings if f.regime is track.regime and f.stage == stage]
    if facts_version is not None:
        candidates = [f for f in candidates if f.facts_version >= facts_version]
    elif stage not in track.done:
        candidates = []
    return candidates[-1] if candidates else None


def correction_pending(state: IncidentState, index: int) -> bool:
    track = state.tracks[index]
    return (
        current_stage(track) is None
        and track.final_facts_version is not None
        and state.facts_version > track.final_facts_version
    )


def pending_filing(state: IncidentState, index: int, now: datetime) -> FileReport | None:
    """The filing an approval would send now (what ``report`` drafts)."""
    tracks = list(state.tracks)
    tracks[index] = tracks[index].model_copy(update={"approve_at": now})
    probe = state.model_copy(update={"tracks": tracks})
    return next(
        (s.step for s in schedule(probe, index, now) if isinstance(s.step, FileReport)), None
    )


def unfiled(state: IncidentState, index: int) -> list[str]:
    """The stages of track ``index`` whose report has not gone (and, once closed, never will)."""
    track = state.tracks[index]
    return [s.name for s in regime(track.regime).stages[track.stage_index :]]


def reports_due(state: IncidentState) -> list[str]:
    """Every report still to be filed, over every track (``pts:supplementary_report``)."""
    return [
        f"{track.regime.value}:{stage}"
        for index, track in enumerate(state.tracks)
        for stage in unfiled(state, index)
    ]


def next_deadline(state: IncidentState) -> datetime | None:
    """The earliest deadline not yet met, over every regulator's clocks."""
    if state.closure:
        return None
    dues = []
    for track in state.tracks:
        stage = current_stage(track)
        if stage is None or track.awaiting_final:
            continue
        due = stage_due(track, stage)
        if due is not None:
            dues.append(due)
    return min(dues, default=None)


def initial_due(state: IncidentState) -> datetime | None:
    """When the main regulator's first report is due (None before discovery)."""
    main = state.track()
    if main is None:
        return None
    return stage_due(main, regime(main.regime).stages[0])
