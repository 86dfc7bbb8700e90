"""One durable workflow per incident, id ``incident-<reference>``.

The workflow holds the incident's state, accepts people's input as validated
updates, and runs a single loop: ask the domain's ``schedule`` what is due, start
those steps (filings, pages) as background tasks, sleep until the next step or
the next change. Side effects happen only in activities, each with a business
key, so a retried, replayed or restarted step never sends twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from breachclock.activities.filing import MailActivities
    from breachclock.activities.mailer import Receipt
    from breachclock.activities.notify import NotifyActivities, SubscriberPage
    from breachclock.activities.register import RegisterActivities
    from breachclock.incident import lifecycle
    from breachclock.incident.escalation import build_page
    from breachclock.incident.instants import show, zone
    from breachclock.incident.lifecycle import FileReport, SendPage, Step
    from breachclock.incident.model import (
        Approve,
        Close,
        Closure,
        Discover,
        EntryKind,
        FactsPatch,
        Filing,
        IncidentState,
        Justify,
        NoticeOrder,
        OpenIncident,
        OpenSecurityReport,
        Page,
        Policy,
        SubscriberNotice,
        TimelineEntry,
        TimelineInput,
        Track,
        Wave,
    )
    from breachclock.incident.regimes import RegimeCode, StageKind, regime
    from breachclock.incident.report import build_draft
    from breachclock.notify.assessment import (
        Assessment,
        Decision,
        Recommendation,
        check_decision,
        recommend,
    )
    from breachclock.notify.notice import IncidentNotice, missing_passages
    from breachclock.notify.reporting import notice_fact, operator_for
    from breachclock.notify.subscribers import Language, Rejected, Subscriber
    from breachclock.workflows.campaign import CampaignProgress, CampaignStart, CampaignWorkflow
    from breachclock.workflows.search import publish

CLOCK_SKEW = timedelta(minutes=5)
MIN_SLEEP = timedelta(milliseconds=50)
"""The shortest timer the loop sets: a step due sooner is not waited for a whole second."""
REARM_LEAD = timedelta(seconds=20)
"""How far before a step the loop wakes to set the step's exact timer (see ``sleep_toward``)."""


def sleep_toward(wake: datetime, now: datetime) -> timedelta:
    """How long the loop sleeps toward a step due at ``wake``.

    Temporal starts a timer when the workflow task completes, but its length is
    reckoned from ``now``, the task's start: a task that waited in a busy worker
    (a burst of incidents, a restart's backlog) arms a timer that fires late by
    that wait. A step further off than twice the lead is therefore approached in
    two sleeps: to ``REARM_LEAD`` before it, then, from a fresh task, to the step.
    """
    remaining = wake - now
    if remaining > 2 * REARM_LEAD:
        return remaining - REARM_LEAD
    return max(remaining, MIN_SLEEP)


def campaign_id(reference: str, wave: int) -> str:
    return f"campaign-{reference}-{wave}"


APPROVE_WAIT = timedelta(seconds=30)
SEND_RETRY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=10))
FILING_ATTEMPTS = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=2))
"""A few quick tries inside the activity; past them the workflow records the error
(escalations show it) and tries again with a growing backoff, indefinitely."""

# Business metrics, through the workflow's replay-safe meter (nothing is recorded while
# replaying, and recording issues no command). Exposed with the SDK's on the engine's
# Prometheus endpoint when BREACHCLOCK_METRICS_ADDRESS is set.
FILINGS_METRIC = "breachclock_filings"
"""Filings sent; attributes regime, kind, late."""
FIRST_FILING_METRIC = "breachclock_discovery_to_initial_filing_seconds"
"""From awareness (the discovery's time) to the main track's first filing."""
ESCALATIONS_METRIC = "breachclock_escalations"
"""Pages sent; attributes regime, level = lead | overdue | reminder."""


class IncidentStart(BaseModel):
    opening: OpenIncident
    policy: Policy
    carried: IncidentState | None = None
    """The state carried over by continue-as-new."""


class ApproveResult(BaseModel):
    filed: Filing | None
    message: str


class SubscriberLoad(BaseModel):
    """One page of the affected list, and (with the first page) the rows skipped as invalid."""

    model_config = ConfigDict(hide_input_in_errors=True)  # people's names, numbers, addresses

    source: str
    """The file's name, so loading it again replaces its skipped rows instead of adding them."""
    people: list[Subscriber] = Field(default_factory=list, max_length=1000)
    skipped: list[Rejected] = Field(default_factory=list, max_length=1000)
    skipped_total: int = 0


class LoadResult(BaseModel):
    added: int
    repeated: int
    people: int
    """On the list now."""


MAX_LOAD_PAGE = 1000


def reject(message: str) -> NoReturn:
    raise ApplicationError(message, type="Rejected", non_retryable=True)


def given(arg: object) -> None:
    """An SDK client's None reaches a validator as None, unconverted: refuse it plainly."""
    if arg is None:
        reject("no input given: the update takes a JSON object with its fields")


@workflow.defn(name="Incident")
class IncidentWorkflow:
    @workflow.init
    def __init__(self, start: IncidentStart) -> None:
        opening = start.opening
        self.state = start.carried or IncidentState(
            reference=opening.reference,
            title=opening.title,
            regime=opening.regime,
            opened_at=workflow.now(),
            opened_by=opening.opened_by,
            policy=start.policy,
            facts=opening.facts,
        )
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = False
        self._campaign: ChildWorkflowHandle[CampaignWorkflow, CampaignProgress] | None = None
        self._loading = asyncio.Lock()

    # ---------------------------------------------------------------- the loop

    @workflow.run
    async def run(self, start: IncidentStart) -> IncidentState:
        if start.carried is None:
            self._note(
                self.state.opened_at,
                f"incident opened: {self.state.title}",
                self.state.opened_by,
                kind=EntryKind.RECORD,
            )
        while not (self.state.closure and not self._in_flight):
            now = workflow.now()
            upcoming = [
                item
                for index in range(len(self.state.tracks))
                for item in lifecycle.schedule(self.state, index, now)
                if item.step.key not in self._in_flight
            ]
            for item in upcoming:
                if item.at <= now:
                    self._start(item.step)
            wake = min((i.at for i in upcoming if i.at > now), default=None)
            publish(self.state)
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    IncidentStart(
                        opening=start.opening, policy=self.state.policy, carried=self.state
                    )
                )
            self._changed = False
            timeout = None if wake is None else sleep_toward(wake, workflow.now())
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=timeout)
            except TimeoutError:
                pass
        publish(self.state)
        await workflow.execute_activity_method(
            RegisterActivities.register_incident,
            self.state,
            start_to_close_timeout=timedelta(minutes=1),
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    def _should_continue_as_new(self) -> bool:
        # Not while a campaign runs: its result comes back to this run only.
        return (
            workflow.info().is_continue_as_new_suggested()
            and not self._in_flight
            and self.state.notification.running is None
        )

    def _start(self, step: Step) -> None:
        self._in_flight.add(step.key)
        work = self._file(step) if isinstance(step, FileReport) else self._page(step)

        async def tracked() -> None:
            try:
                await work
            finally:
                self._in_flight.discard(step.key)
                self._changed = True

        self._background(tracked())

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)  # a reference, so the task is not collected mid-flight
        task.add_done_callback(self._tasks.discard)

    async def _file(self, step: FileReport) -> None:
        number = self.state.next_filing_number
        self.state.next_filing_number += 1
        track = self.state.tracks[step.regime_index]
        delay = SEND_RETRY_BACKOFF[0]
        while True:
            draft = build_draft(
                self.state, step, number, workflow.now(), self._late_reason(track, step)
            )
            try:
                receipt: Receipt = await workflow.execute_activity_method(
                    MailActivities.file_report,
                    draft,
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=FILING_ATTEMPTS,
                )
                break
            except ActivityError as err:
                cause = str(err.cause or err)
                track.last_error = f"{cause} (at {show(workflow.now(), self._zone)})"
                workflow.logger.warning(
                    "filing failed, retrying",
                    extra={"reference": self.state.reference, "number": number},
                )
                self._changed = True
                await workflow.sleep(delay)
                delay = min(delay * 2, SEND_RETRY_BACKOFF[1])
        # The workflow's clock, not the worker's: deterministic, and in a crash between
        # the relay's acceptance and the activity's completion it errs towards "late".
        sent_at = workflow.now()
        filing = Filing(
            number=number,
            regime=track.regime,
            kind=step.kind,
            stage=step.stage,
            recipient=draft.recipient,
            message_id=receipt.message_id,
            sent_at=sent_at,
            due_at=step.due_at,
            late=lifecycle.is_late(step.due_at, sent_at),
            late_reason=draft.late_reason or self._late_reason(track, step, sent_at),
            justification=draft.justification,
            missing=draft.missing,
            facts_version=draft.facts_version,
            approved_by=track.approve.by if track.approve else None,
        )
        self._measure_filing(step, filing)
        lifecycle.record_filing(self.state, step.regime_index, filing)
        kind = step.kind.value.replace("_", " ")
        self._note(
            sent_at,
            f"filing no. {number} ({kind}) sent to {regime(track.regime).regulator}"
            + (" — LATE" if filing.late else ""),
            filing.approved_by or "breachclock",
            kind=EntryKind.ENGINE,
        )
        workflow.logger.info(
            "filing sent", extra={"reference": self.state.reference, "number": number, "kind": kind}
        )

    def _late_reason(
        self, track: Track, step: FileReport, at: datetime | None = None
    ) -> str | None:
        """Why a filing is late; None when it is not (yet) late."""
        if not lifecycle.is_late(step.due_at, at or workflow.now()):
            return None
        assert step.due_at is not None
        if track.approve and track.approve.late_reason:
            return track.approve.late_reason
        if track.last_error:
            return f"the report could not be sent before the deadline: {track.last_error}"
        recorded = self.state.discovery_recorded_at
        if recorded and recorded > step.due_at:
            return (
                f"awareness was recorded only at {show(recorded, self._zone)}, after the deadline "
                f"({show(step.due_at, self._zone)}); filed at once"
            )
        return (
            f"the engine was unavailable at the deadline ({show(step.due_at, self._zone)}); "
            "filed as soon as it was running again"
        )

    async def _page(self, step: SendPage) -> None:
        page = build_page(self.state, step, workflow.now())
        await workflow.execute_activity_method(
            MailActivities.send_page,
            page,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
        )
        sent_at = workflow.now()
        track = self.state.tracks[step.regime_index]
        track.pages_sent += [step.key, *step.covers]
        if step.level.startswith("overdue"):
            track.last_overdue_at = sent_at
        if step.level.startswith("reminder"):
            track.last_reminder_at = sent_at
        self.state.pages.append(
            Page(
                key=step.key,
                level=step.level,
                deadline=step.deadline,
                due_at=step.due_at,
                sent_at=sent_at,
                recipients=len(page.recipients),
            )
        )
        self._note(
            sent_at, f"paged ({step.level}): {page.subject}", "breachclock", kind=EntryKind.ENGINE
        )
        level = next((k for k in ("overdue", "reminder") if step.level.startswith(k)), "lead")
        workflow.metric_meter().create_counter(
            ESCALATIONS_METRIC, "Escalation pages sent", "{page}"
        ).add(1, {"regime": track.regime.value, "level": level})

    def _measure_filing(self, step: FileReport, filing: Filing) -> None:
        """Count the filing; for the main track's first, the time since awareness."""
        meter = workflow.metric_meter()
        meter.create_counter(FILINGS_METRIC, "Reports filed with regulators", "{filing}").add(
            1, {"regime": filing.regime.value, "kind": filing.kind.value, "late": filing.late}
        )
        discovery = self.state.discovery
        first = not any(f.regime == filing.regime for f in self.state.filings)
        if step.regime_index == 0 and first and discovery is not None:
            meter.create_histogram_float(
                FIRST_FILING_METRIC,
                "Time from awareness to the main track's first filing",
                "s",
            ).record(
                (filing.sent_at - discovery.at).total_seconds(),
                {"regime": filing.regime.value, "kind": filing.kind.value},
            )

    # ------------------------------------------------------------- updates

    @workflow.update
    async def discover(self, discovery: Discover) -> IncidentState:
        self.state.discovery = discovery
        self.state.discovery_recorded_at = workflow.now()
        track = Track(regime=self.state.regime, aware_at=discovery.at)
        lifecycle.start_track(track)
        self.state.tracks.append(track)
        self._note(
            discovery.at,
            f"operator aware of the incident: {discovery.how}",
            discovery.by,
            "reported at discovery",
            kind=EntryKind.INCIDENT,
        )
        return self.state

    @discover.validator
    def _validate_discover(self, discovery: Discover) -> None:
        given(discovery)
        self._open_only()
        if self.state.discovery is not None:
            reject(
                f"the incident was already discovered at {show(self.state.discovery.at, self._zone)}"
            )
        if discovery.at > workflow.now() + CLOCK_SKEW:
            reject("the discovery time is in the future")
        occurred = self.state.facts.occurred
        if occurred and discovery.at < occurred.at:
            reject(
                f"discovery ({show(discovery.at, self._zone)}) cannot be before the incident "
                f"occurred ({show(occurred.at, self._zone)})"
            )

    @workflow.update
    async def record_facts(self, patch: FactsPatch) -> list[str]:
        self.state.facts = self.state.facts.merged(patch)
        self.state.facts_version += 1
        fields = ", ".join(sorted(patch.changes))
        self._note(
            workflow.now(), f"facts recorded (version {self.state.facts_version}): {fields}", None
        )
        return self.state.facts.missing()

    @record_facts.validator
    def _validate_facts(self, patch: FactsPatch) -> None:
        given(patch)
        self._open_only()
        try:
            merged = self.state.facts.merged(patch)
            OpenIncident(
                reference=self.state.reference,
                title=self.state.title,
                regime=self.state.regime,
                opened_by=self.state.opened_by,
                facts=merged,
            )
        except ValueError as err:
            reject(str(err))
        discovery = self.state.discovery
        if discovery and merged.occurred and merged.occurred.at > discovery.at:
            reject(
                f"the incident cannot have occurred ({show(merged.occurred.at, self._zone)}) "
                f"after it was discovered ({show(discovery.at, self._zone)})"
            )

    @workflow.update
    async def add_event(self, event: TimelineInput) -> None:
        self._note(event.at, event.what, event.by, event.how_established, kind=EntryKind.INCIDENT)

    @add_event.validator
    def _validate_event(self, event: TimelineInput) -> None:
        given(event)
        self._open_only()
        if event.at > workflow.now() + CLOCK_SKEW:
            reject("a timeline event cannot be in the future")

    @workflow.update
    async def approve(self, approval: Approve) -> ApproveResult:
        track = self._track_for(approval.track)
        before = len(self.state.filings)
        track.approve = approval
        track.approve_at = workflow.now()
        self._changed = True
        try:
            await workflow.wait_condition(
                lambda: len(self.state.filings) > before, timeout=APPROVE_WAIT
            )
        except TimeoutError:
            return ApproveResult(
                filed=None, message="approved; the filing is queued and is being retried"
            )
        filing = self.state.filings[-1]
        return ApproveResult(filed=filing, message=f"filing no. {filing.number} sent")

    @approve.validator
    def _validate_approve(self, approval: Approve) -> None:
        given(approval)
        self._open_only()
        if self.state.discovery is None:
            reject("nothing to approve before discovery: record it with 'discover'")
        track = self._track_for(approval.track)
        index = self.state.tracks.index(track)
        stage = lifecycle.current_stage(track)
        if stage is None and not lifecycle.correction_pending(self.state, index):
            reject("every report for this regulator has been filed and no fact changed since")
        if any(key.startswith(f"file:{index}:") for key in self._in_flight) or track.approve:
            reject("a filing for this regulator is already being sent")
        if stage is None:
            return
        due = lifecycle.stage_due(track, stage)
        late = due is not None and workflow.now() > due
        missing = self.state.facts.missing()
        if (
            late
            and missing
            and stage.kind is StageKind.FOLLOW_UP
            and not (track.justification or track.awaiting_final)
        ):
            reject(
                f"the {stage.name} deadline passed with facts missing: "
                "give the justification first ('justify')"
            )
        if late and not approval.late_reason and not track.last_error:
            assert due is not None
            reject(
                f"the {stage.name} was due {show(due, self._zone)}: give the reasons with --late-reason"
            )

    @workflow.update
    async def justify(self, justification: Justify) -> IncidentState:
        track = self._track_for(justification.track)
        track.justification = justification.text
        self._note(
            workflow.now(),
            f"justification for missing facts: {justification.text}",
            justification.by,
        )
        return self.state

    @justify.validator
    def _validate_justify(self, justification: Justify) -> None:
        given(justification)
        self._open_only()
        track = self._track_for(justification.track)
        if lifecycle.current_stage(track) is None:
            reject("every report for this regulator has been filed: nothing to justify")
        if not self.state.facts.missing():
            reject("no facts are missing: there is nothing to justify; file with 'approve'")

    @workflow.update
    async def open_security_report(self, request: OpenSecurityReport) -> IncidentState:
        assert self.state.discovery is not None
        track = Track(regime=RegimeCode.NIS2, aware_at=request.aware_at or self.state.discovery.at)
        lifecycle.start_track(track)
        self.state.tracks.append(track)
        self._note(workflow.now(), "NIS2 security-incident report opened", request.by)
        return self.state

    @open_security_report.validator
    def _validate_security(self, request: OpenSecurityReport) -> None:
        given(request)
        self._open_only()
        if self.state.discovery is None:
            reject("record the discovery first: the security report's clocks start at awareness")
        if self.state.track(RegimeCode.NIS2) is not None:
            reject("a NIS2 security-incident report is already open for this incident")
        if request.aware_at and request.aware_at > workflow.now() + CLOCK_SKEW:
            reject("the awareness time is in the future")

    @workflow.update
    async def close(self, request: Close) -> IncidentState:
        self.state.closure = Closure(at=workflow.now(), by=request.by, reason=request.reason)
        self._note(
            workflow.now(),
            f"incident closed{': ' + request.reason if request.reason else ''}",
            request.by,
        )
        self._changed = True
        return self.state

    @close.validator
    def _validate_close(self, request: Close) -> None:
        given(request)
        self._open_only()
        unfinished = [t.regime.value for t in self.state.tracks if lifecycle.current_stage(t)]
        if (unfinished or not self.state.filings) and not request.reason:
            what = (
                f"reports to {', '.join(unfinished)} are not complete"
                if unfinished
                else "nothing was reported"
            )
            reject(f"{what}: closing needs a reason for the register (--reason)")
        if self._in_flight:
            reject("a filing or page is being sent; close again in a moment")
        if self.state.notification.running is not None:
            reject("subscribers are still being notified: close once the campaign has finished")

    # ------------------------------------------------- telling subscribers

    @workflow.update
    async def assess(self, assessment: Assessment) -> Recommendation:
        notification = self.state.notification
        notification.assessment = assessment
        notification.recommendation = recommend(assessment)
        verdict = "notify" if notification.recommendation.notify else "no notice needed"
        self._note(workflow.now(), f"subscriber-notice assessment recorded: {verdict}", None)
        return notification.recommendation

    @assess.validator
    def _validate_assess(self, assessment: Assessment) -> None:
        given(assessment)
        self._open_only()
        if self.state.notification.told:
            reject("subscribers are already being told: the assessment cannot change now")

    @workflow.update
    async def add_subscribers(self, load: SubscriberLoad) -> LoadResult:
        notification = self.state.notification
        async with self._loading:  # one page at a time: sequence numbers follow each other
            added: int = await workflow.execute_activity_method(
                NotifyActivities.store_subscribers,
                SubscriberPage(reference=self.state.reference, people=load.people),
                start_to_close_timeout=timedelta(minutes=2),
            )
            notification.people += added
            notification.repeated += len(load.people) - added
            if load.skipped or load.skipped_total:
                notification.skipped[load.source] = load.skipped
                notification.skipped_total[load.source] = load.skipped_total
            seen = {p.language.value if p.language else "" for p in load.people}
            notification.languages = sorted(set(notification.languages) | seen)
        if added:
            self._note(
                workflow.now(),
                f"{added} affected people added to the notification list (now {notification.people})",
                None,
                kind=EntryKind.ENGINE,
            )
            await self._grow_campaign()
        return LoadResult(
            added=added, repeated=len(load.people) - added, people=notification.people
        )

    @add_subscribers.validator
    def _validate_add_subscribers(self, load: SubscriberLoad) -> None:
        given(load)
        self._open_only()
        ids = [p.id for p in load.people]
        if len(set(ids)) != len(ids):
            reject("a page names the same person twice")
        notice = self.state.notification.notice
        if notice is not None:
            problems = missing_passages(notice, {p.language for p in load.people})
            if problems:
                reject(
                    "the recorded notice cannot be sent to everyone on this page: "
                    + "; ".join(problems)
                )

    @workflow.update
    async def set_notice(self, notice: IncidentNotice) -> None:
        self.state.notification.notice = notice
        self._note(workflow.now(), "subscriber notice text recorded", None)

    @set_notice.validator
    def _validate_set_notice(self, notice: IncidentNotice) -> None:
        given(notice)
        self._open_only()
        if notice.reference != self.state.reference:
            reject(f"the notice names reference {notice.reference}, not {self.state.reference}")
        if notice.regime is not self.state.regime:
            reject(
                f"the notice is for regime {notice.regime.value}, the incident's is {self.state.regime.value}"
            )
        if self.state.notification.running is not None:
            reject("a campaign is sending this notice now: it cannot change under it")
        self._check_languages(notice)

    @workflow.update
    async def decide_notice(self, decision: Decision) -> str:
        notification = self.state.notification
        notification.decision = decision
        if not decision.notify:
            assert decision.justification is not None
            self._set_notice_fact(
                SubscriberNotice(
                    notified=False,
                    justification=decision.justification,
                    exemption=decision.exemption,
                )
            )
            self._note(workflow.now(), "decided not to notify subscribers", decision.decided_by)
            return "decided not to notify; the justification goes into the next filing"
        self._note(workflow.now(), "decided to notify subscribers", decision.decided_by)
        await self._start_wave()
        return f"notifying {notification.people} people"

    @decide_notice.validator
    def _validate_decide(self, decision: Decision) -> None:
        given(decision)
        self._open_only()
        notification = self.state.notification
        if notification.assessment is None:
            reject("record the assessment first ('assess'): the decision is weighed against it")
        if notification.told:
            reject("subscribers are already being told")
        problems = check_decision(notification.assessment, decision)
        if problems:
            reject(" ".join(problems))
        if decision.notify:
            self._ready_to_notify()

    @workflow.update
    async def order_notice(self, order: NoticeOrder) -> str:
        self.state.notification.order = order
        self._note(
            workflow.now(),
            f"{order.by} ordered the subscribers notified"
            + (f" ({order.decision_reference})" if order.decision_reference else ""),
            order.recorded_by,
        )
        await self._start_wave()
        return f"notifying {self.state.notification.people} people, as ordered by {order.by}"

    @order_notice.validator
    def _validate_order(self, order: NoticeOrder) -> None:
        given(order)
        self._open_only()
        if self.state.notification.told:
            reject("subscribers are already being told")
        self._ready_to_notify()

    def _ready_to_notify(self) -> None:
        notification = self.state.notification
        if notification.notice is None:
            reject("record the notice text first ('notice')")
        if notification.people == 0:
            reject("load the affected people first ('subscribers')")
        self._check_languages(notification.notice)

    def _check_languages(self, notice: IncidentNotice) -> None:
        languages = [Language(code) if code else None for code in self.state.notification.languages]
        problems = missing_passages(notice, languages)
        if problems:
            reject("the notice cannot be sent to everyone on the list: " + "; ".join(problems))

    async def _start_wave(self) -> None:
        notification = self.state.notification
        assert notification.notice is not None
        number = len(notification.waves) + 1
        first = notification.covered
        wave = Wave(number=number, first=first, end=notification.people, started_at=workflow.now())
        notification.waves.append(wave)
        self._campaign = await workflow.start_child_workflow(
            CampaignWorkflow.run,
            CampaignStart(
                reference=self.state.reference,
                wave=number,
                notice=notification.notice,
                operator=operator_for(self.state.policy),
                plan=self.state.policy.notify_plan,
                first=first,
                size=wave.end - first,
            ),
            id=campaign_id(self.state.reference, number),
            # The people are told even if this incident's run were ended by hand.
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        self._set_notice_fact(
            notice_fact(
                notification, self.state.policy.notify_plan, operator_for(self.state.policy)
            ),
            new_version=False,
        )
        self._note(
            workflow.now(),
            f"notification campaign {number} started for {wave.end - first} people",
            None,
            kind=EntryKind.ENGINE,
        )
        self._background(self._await_wave(wave, self._campaign))

    async def _await_wave(
        self, wave: Wave, handle: ChildWorkflowHandle[CampaignWorkflow, CampaignProgress]
    ) -> None:
        try:
            progress = await handle
        except ChildWorkflowError as err:
            # Ended by hand, or failed: the wave is over; deciding again starts another.
            wave.finished_at = workflow.now()
            wave.failure = str(err.cause or err)
            self._campaign = None
            self._note(
                workflow.now(),
                f"notification campaign {wave.number} ended without finishing: {wave.failure}",
                None,
                kind=EntryKind.ENGINE,
            )
            return
        wave.finished_at = workflow.now()
        wave.counts = progress.counts
        wave.end = wave.first + progress.size
        self._campaign = None
        notification = self.state.notification
        self._set_notice_fact(
            notice_fact(
                notification, self.state.policy.notify_plan, operator_for(self.state.policy)
            )
        )
        told = progress.counts.people
        self._note(
            workflow.now(),
            f"notification campaign {wave.number} finished: "
            + ", ".join(f"{n} {status.value}" for status, n in sorted(told.items())),
            None,
            kind=EntryKind.ENGINE,
        )
        if notification.people > notification.covered:
            await self._start_wave()

    async def _grow_campaign(self) -> None:
        """People added once notice was decided are told too: by the running wave, or a new one."""
        notification = self.state.notification
        wave = notification.running
        if wave is None or self._campaign is None:
            if notification.told:
                await self._start_wave()
            return
        wave.end = notification.people
        try:
            await self._campaign.signal(CampaignWorkflow.grow, wave.end)
        except ApplicationError:
            # It finished meanwhile: its result sets the wave's true end, and the
            # people past it get a wave of their own (``_await_wave``).
            workflow.logger.info("campaign finished before it could grow")

    def _set_notice_fact(self, fact: SubscriberNotice, new_version: bool = True) -> None:
        """The report's subscriber-notice fact; a new facts version when it is news for the regulator."""
        self.state.facts = self.state.facts.model_copy(update={"subscriber_notice": fact})
        if new_version:
            self.state.facts_version += 1
        self._changed = True

    @workflow.query
    def status(self) -> IncidentState:
        return self.state

    # ------------------------------------------------------------- helpers

    @property
    def _zone(self) -> ZoneInfo:
        return zone(self.state.policy.operator_zone)

    def _open_only(self) -> None:
        if self.state.closure is not None:
            reject(f"incident {self.state.reference} is closed")

    def _track_for(self, code: RegimeCode | None) -> Track:
        track = self.state.track(code)
        if track is None:
            reject(f"no report to {(code or self.state.regime).value} is open for this incident")
        return track

    def _note(
        self,
        at: datetime,
        what: str,
        by: str | None,
        how: str = "recorded by breachclock",
        kind: EntryKind = EntryKind.RECORD,
    ) -> None:
        entry = TimelineEntry(
            at=at, what=what, by=by, how_established=how, recorded_at=workflow.now(), kind=kind
        )
        self.state.timeline.append(entry)
        self._changed = True
