"""One durable workflow per incident, id ``incident-<reference>``.

The workflow holds the incident's state, accepts people's input as validated
updates, and runs a single loop: ask the domain's ``schedule`` what is due, start
those steps (filings, pages) as background tasks, sleep until the next step or
the next change. Side effects happen only in activities, each with a business
key, so a retried, replayed or restarted step never sends twice.

Everything a run must hand to the next lives in the state: a filing being sent
keeps its number there (so every try, in any run, sends under one key), a failed
filing's next try is a time there, a campaign's wave is there and the campaign
reports its end by a signal to this workflow's id. So the run can continue as new
whenever its history is long, waiting only for the activities in flight, each
bounded by its own timeout.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError
from temporalio.workflow import ChildWorkflowHandle

with workflow.unsafe.imports_passed_through():
    from activities import api
    from activities.api import Receipt
    from breachclock.domain.catalogue import Voice
    from breachclock.domain.incident import checks, containment, lifecycle, ownership
    from breachclock.domain.incident.alert import AlertResolved
    from breachclock.domain.incident.containment import (
        PageWait,
        SendTakedown,
        TakedownReport,
        TakedownRequest,
        TakedownTask,
    )
    from breachclock.domain.incident.escalation import (
        PageDraft,
        build_page,
        containment_wait_page,
        page_entry,
        takedown_page,
    )
    from breachclock.domain.incident.lifecycle import FileReport, SendPage, Step
    from breachclock.domain.incident.model import (
        Acknowledge,
        Approve,
        Close,
        Closure,
        Discover,
        EntryKind,
        FactsPatch,
        Filing,
        IncidentState,
        Justify,
        OpenIncident,
        OpenSecurityReport,
        OwedReason,
        Policy,
        Sending,
        Snooze,
        TimelineInput,
        Track,
    )
    from breachclock.domain.incident.report import ReportDraft, build_draft
    from breachclock.domain.problems import Problem, problems_of, said
    from breachclock.domain.regimes import RegimeCode, regime
    from breachclock.runtime import metrics
    from workflows.alarm import Alarm
    from workflows.base import ENGLISH, counted, given, refuse_if, reject
    from workflows.campaign import (
        CampaignProgress,
        CampaignWorkflow,
    )
    from workflows.clock import DecisionClock
    from workflows.history import (
        ACTIVITY,
        END,
        FAILED,
        LOCAL,
        RESULT,
        START,
        TIMER,
        UPSERT,
        WAKE,
        HistoryCount,
    )
    from workflows.messages import (
        Answer,
        ApproveResult,
        Discovered,
        Due,
        IncidentStart,
        answer,
    )
    from workflows.notification import NotifyingIncident
    from workflows.portal import PortalFiling
    from workflows.projection import ProjectingIncident
    from workflows.search import publish


MIN_SLEEP = timedelta(milliseconds=50)
"""The shortest timer the loop sets: a step due sooner is not waited for a whole second."""
REARM_LEAD = timedelta(seconds=20)
"""How far before a step the loop wakes to set the step's exact timer (see ``sleep_toward``)."""


def aim(wake: datetime, now: datetime) -> datetime:
    """The instant the loop's next timer is aimed at, decided by the decision clock
    (``sleep_toward``'s two sleeps, as instants): where it lands is then fixed by
    history, however late the task that set it ran."""
    return wake - REARM_LEAD if wake - now > 2 * REARM_LEAD else wake


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


APPROVE_WAIT = timedelta(seconds=30)
SEND_RETRY_BACKOFF = (timedelta(minutes=1), timedelta(minutes=10))
FILING_ATTEMPTS = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=2))
"""A few quick tries inside the activity; past them the workflow records the error
(escalations show it) and tries again with a growing backoff, for as long as it takes:
a filing must go. Each try is a time in the state, not a task waiting in this run."""
LOCAL_SEND_TIMEOUT = timedelta(seconds=30)
"""How long a page's or an approved filing's one attempt from its workflow task may
take, holding that task: past it, the activity task with its retries takes over."""
PAGE_ATTEMPTS = RetryPolicy(
    maximum_attempts=5, initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=1)
)
"""A page that cannot go within a few minutes is recorded as failed: the next page
(or the deadline's own filing) follows on time instead of queueing behind it."""
FILING_IN_STATE = "filing-retry-in-state"
"""``workflow.patched`` id: a failed filing's retry is a time in the state."""
PAGES_AFTER_FILING = "pages-wait-for-filing"
"""``workflow.patched`` id: a page waits while its track's filing is being sent."""
LATE_REASON_SUPPLEMENT = "late-reason-supplement"
"""``workflow.patched`` id: a late reason given after the late filing went is sent to
the regulator in a supplement (before, the approval answered "already sent" and the
reason was dropped)."""

MONITORING = "Alertmanager"
"""Who the alert's timeline entries are by."""

# Business metrics (``breachclock.runtime.metrics``), through the workflow's replay-safe
# meter (nothing is recorded while replaying, and recording issues no command). Exposed
# with the SDK's on the engine's Prometheus endpoint when BREACHCLOCK_METRICS_ADDRESS is set.


def approved(filing: Filing | None, code: str, **params: Any) -> ApproveResult:
    result = said(code, **params)
    return ApproveResult(filed=filing, message=result.words(ENGLISH), said=result)


@workflow.defn(name="Incident")
class IncidentWorkflow(NotifyingIncident, ProjectingIncident, PortalFiling):
    @workflow.init
    def __init__(self, start: IncidentStart) -> None:
        self._clock = DecisionClock()
        self._alarm = Alarm()
        self._history = HistoryCount()
        self._count(START, start)
        opening = start.opening
        self.state = start.carried or IncidentState(
            reference=opening.reference,
            title=opening.title,
            regime=opening.regime,
            opened_at=workflow.now(),
            opened_by=opening.opened_by,
            policy=start.policy or Policy(),
            facts=opening.facts,
            alert=opening.alert,
        )
        self._ready = start.carried is not None or start.policy is not None
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = False
        self._campaign: ChildWorkflowHandle[CampaignWorkflow, CampaignProgress] | None = None
        self._loading = asyncio.Lock()
        self._engine_notes = 0
        self._renew = False
        self._version = start.projected
        self._projecting = 0

    # ---------------------------------------------------------------- the loop

    @workflow.run
    async def run(self, start: IncidentStart) -> IncidentState:
        self._decide_patches()
        if self._at_deadline:
            self.state.files_at_deadline = True
        if not self._ready:
            # The engine's configuration decides the incident's policy, once, here.
            self._count(LOCAL)
            engine_policy = await workflow.execute_local_activity(
                api.POLICY, result_type=Policy, start_to_close_timeout=timedelta(seconds=30)
            )
            self._count(RESULT, engine_policy)
            self.state.policy = engine_policy.for_regime(self.state.regime)
            self._ready = True
        if start.carried is None:
            self._note(
                self.state.opened_at,
                said("timeline.opened", title=self.state.title),
                self.state.opened_by,
                kind=EntryKind.RECORD,
            )
            self._note_alert()
        first = True
        while not (self.state.closure and not self._in_flight):
            now = self._clock.at if self._clocked else workflow.now()
            upcoming: list[lifecycle.Scheduled | containment.Due] = [
                item
                for index in range(len(self.state.tracks))
                for item in lifecycle.schedule(self.state, index, now)
                if item.step.key not in self._in_flight
            ]
            if self.state.closure is None:
                upcoming += [
                    item
                    for item in self._containment_steps()
                    if item.step.key not in self._in_flight
                ]
            for item in upcoming:
                if item.at <= now and not self._held_back(item.step):
                    self._start(item.step)
            checks = self._campaign_checks(now)
            wake = min((i.at for i in upcoming if i.at > now), default=None)
            if checks:
                wake = min(filter(None, (wake, checks)))
            self._publish()
            self._project(self._changed or first)
            self._renew = self._should_continue_as_new(first)
            first = self._changed = False
            if self._renew and self._idle():
                carried = IncidentStart(
                    opening=start.opening, carried=self.state, projected=self._version
                )
                self._count(END, carried)
                workflow.continue_as_new(carried)
            target = None if wake is None else aim(wake, now)
            timeout = None
            if target is not None and wake is not None:
                timeout = (
                    self._clock.until(target, MIN_SLEEP)
                    if self._clocked
                    else sleep_toward(wake, workflow.now())
                )
            if self._keeps_alarm:
                await self._sleep_on_alarm(wake, target, timeout)
                continue
            if timeout is not None:
                self._count(TIMER)
            try:
                await workflow.wait_condition(
                    lambda: self._changed or (self._renew and self._idle()), timeout=timeout
                )
            except TimeoutError:
                self._count(WAKE)
                if self._clocked:
                    self._clock.advance(target)
        self._alarm.cancel()
        self._publish()
        await self._project_last()
        self._count(ACTIVITY, self.state)
        await workflow.execute_activity(
            api.REGISTER_INCIDENT,
            self.state,
            start_to_close_timeout=timedelta(minutes=1),
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._count(END, self.state)
        return self.state

    async def _sleep_on_alarm(
        self, wake: datetime | None, target: datetime | None, length: timedelta | None
    ) -> None:
        """Until something changes or the alarm toward the next step (``wake``) rings; the
        alarm runs on through wake-ups that leave that step the next one."""
        if self._alarm.set(wake, target, length):
            self._count(TIMER)
        await workflow.wait_condition(
            lambda: self._changed or (self._renew and self._idle()) or self._alarm.rang
        )
        if self._alarm.rang:
            self._count(WAKE)
            if self._clocked:
                self._clock.advance(self._alarm.target)
            self._alarm.clear()

    def _should_continue_as_new(self, first: bool) -> bool:
        """Past the history budget. Whatever is in flight finishes first (each activity is
        bounded by its timeouts, and a failed filing's retry waits in the state); the loop
        goes on meanwhile. Only a wave started by the first engine, which ends by
        returning to this very run, holds it.

        By the run's own count (``workflows.history``), never on the loop's ``first``
        pass: a run's start alone may outgrow a short budget (its patches' markers), and
        each run must do something before it hands over, or they would follow each
        other for ever."""
        if self._counted:
            past = not first and self._history.past(self.state.policy.history_budget)
        else:
            info = workflow.info()
            past = (
                info.get_current_history_length() > self.state.policy.history_budget
                or info.is_continue_as_new_suggested()
            )
        return past and not any(
            w.finished_at is None and not w.signals for w in self.state.notification.waves
        )

    def _publish(self) -> None:
        if publish(self.state):
            self._count(UPSERT)

    def _idle(self) -> bool:
        """Nothing in flight that this run alone could finish: it may continue as new."""
        return not self._in_flight and not self._projecting and workflow.all_handlers_finished()

    def _containment_steps(self) -> list[containment.Due]:
        """Takedown mails and reminders, and the pages when notice has waited for them
        past the policy's bound."""
        policy, notification = self.state.policy, self.state.notification
        steps = containment.containment_steps(self.state.takedowns, policy.takedown_remind_after)
        waited = containment.wait_step(
            notification.waiting_for_containment,
            notification.wait_bound,
            notification.wait_pages,
            notification.last_wait_page_at,
            policy.overdue_repeat,
        )
        return steps if waited is None else [*steps, waited]

    def _held_back(self, step: Step | SendTakedown | PageWait) -> bool:
        """A page waits while its track's filing is being sent: once it went, the page
        would tell people to file what is already filed (the schedule then drops it)."""
        held = isinstance(step, SendPage) and any(
            key.startswith(f"file:{step.regime_index}:") for key in self._in_flight
        )
        return held and self._patched(PAGES_AFTER_FILING)

    def _start(self, step: Step | SendTakedown | PageWait) -> None:
        if isinstance(step, SendTakedown):
            self._track_work(step.key, self._takedown(step))
            return
        if isinstance(step, PageWait):
            self._track_work(step.key, self._page_wait(step))
            return
        work = self._file(step) if isinstance(step, FileReport) else self._page(step)
        self._track_work(step.key, work)

    # ------------------------------------------------------------- filings

    async def _file(self, step: FileReport) -> None:
        if not self._patched(FILING_IN_STATE):
            await self._file_retrying_here(step)
            return
        track = self.state.tracks[step.regime_index]
        sending = track.sending
        if sending is None:
            sending = Sending(
                number=self.state.next_filing_number, stage=step.stage, since=workflow.now()
            )
            self.state.next_filing_number += 1
            track.sending = sending
        sending.retry_at = None
        try:
            if track.via_portal:
                await self._prepare_for_portal(step, track, sending.number)
                sent = None
            else:
                sent = await self._send_filing(step, track, sending.number)
        except FailureError as err:
            sending.failures += 1
            wait = min(SEND_RETRY_BACKOFF[0] * 2 ** (sending.failures - 1), SEND_RETRY_BACKOFF[1])
            sending.retry_at = workflow.now() + wait
            self._filing_failed(track, sending.number, err)
            return
        track.sending = None
        if sent is not None:
            draft, receipt = sent
            self._filed(step, draft.number, draft.recipient, draft, receipt)

    async def _file_retrying_here(self, step: FileReport) -> None:
        """The first engine's way, kept for incidents whose history was made by it: the
        retries wait inside this task (so a run could not continue as new meanwhile)."""
        number = self.state.next_filing_number
        self.state.next_filing_number += 1
        track = self.state.tracks[step.regime_index]
        delay = SEND_RETRY_BACKOFF[0]
        while True:
            try:
                draft, receipt = await self._send_filing(step, track, number)
                break
            except ActivityError as err:
                self._filing_failed(track, number, err)
                self._count(TIMER)
                self._count(WAKE)
                await workflow.sleep(delay)
                delay = min(delay * 2, SEND_RETRY_BACKOFF[1])
        self._filed(step, number, draft.recipient, draft, receipt)

    async def _send_filing(
        self, step: FileReport, track: Track, number: int
    ) -> tuple[ReportDraft, Receipt]:
        """Draft filing ``number`` as it stands now (late reasons included) and send it."""
        draft = build_draft(
            self.state,
            step,
            number,
            workflow.now(),
            lifecycle.filing_reason(self.state, track, step, workflow.now(), self._zone),
        )
        # A person approved it and waits for the answer: its first attempt goes from
        # this task; once that failed, nobody waits, and the retries go by activity task.
        first = track.sending is None or track.sending.failures == 0
        if self._local_approved and draft.approved_by is not None and first:
            receipt = await self._send_here(api.FILE_REPORT, draft, FILING_ATTEMPTS)
        else:
            receipt = await self._send_by_task(api.FILE_REPORT, draft, FILING_ATTEMPTS)
        self._count(RESULT, receipt)
        return draft, receipt

    async def _send_here(self, name: str, draft: object, attempts: RetryPolicy) -> Receipt:
        """Send a page or an approved filing, ``draft``, by activity ``name`` from this
        workflow task, as a local activity tried once; if that attempt fails but not for
        good (a relay that said "try later", or did not answer), by an activity task with
        ``attempts``, as before.

        The attempt runs in this worker while the task stays open, so a query or update
        meanwhile waits for it (``LOCAL_SEND_TIMEOUT`` at most); the retries, which may
        take minutes, do not hold the task. A worker that dies in the middle leaves the
        task to time out, the next worker tries again, and the key's record decides the
        send. A local activity's failure comes as raised, not wrapped in an
        ``ActivityError``: callers catch ``FailureError``, which is both."""
        self._count(LOCAL)
        try:
            receipt: Receipt = await workflow.execute_local_activity(
                name,
                draft,
                result_type=Receipt,
                start_to_close_timeout=LOCAL_SEND_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except FailureError as err:
            self._count(FAILED)
            if isinstance(err, ApplicationError) and err.non_retryable:
                raise
            return await self._send_by_task(name, draft, attempts)
        return receipt

    async def _send_by_task(self, name: str, draft: object, attempts: RetryPolicy) -> Receipt:
        self._count(ACTIVITY, draft)
        receipt: Receipt = await workflow.execute_activity(
            name,
            draft,
            result_type=Receipt,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=attempts,
        )
        return receipt

    def _sent_at(self, receipt: Receipt | None, began: datetime, from_task: bool) -> datetime:
        """When a page or filing counts as sent: the relay's acceptance (``receipt``), never
        before ``began``, the start of the task that sent it or scheduled its activity
        (``SENT_AT_ACCEPTANCE``). A send found made before (its key's record) counts from
        this task. The acceptance is the worker's clock: one behind the server's by a
        moment makes the record early by that moment, never before ``began``. Without
        a receipt (nothing went), now.

        Runs before that patch took the acceptance only in a run whose sends may go from
        the task (``from_task``: ``LOCAL_PAGES``, ``LOCAL_APPROVED_FILINGS``), and never
        before the start of the task that recorded it."""
        now = workflow.now()
        if receipt is None:
            return now
        if self._at_acceptance:
            return max(began, receipt.sent_at)
        return max(now, receipt.sent_at) if from_task else now

    def _filing_failed(self, track: Track, number: int, err: FailureError) -> None:
        # The relay's words stay with engineers (status, the log): a filing gives the
        # coded reason, in its own language, from when it began (``lifecycle.late_reason``).
        track.last_error = str(err.cause or err)
        track.failing_since = track.failing_since or workflow.now()
        workflow.logger.warning(
            "filing failed, retrying",
            extra={"reference": self.state.reference, "number": number, "error": track.last_error},
        )
        self._changed = True

    def _filed(
        self, step: FileReport, number: int, recipient: str, draft: ReportDraft, receipt: Receipt
    ) -> None:
        track = self.state.tracks[step.regime_index]
        sent_at = self._sent_at(receipt, draft.drafted_at, self._local_approved)
        filing = Filing(
            number=number,
            regime=track.regime,
            kind=step.kind,
            stage=step.stage,
            recipient=recipient,
            message_id=receipt.message_id,
            sent_at=sent_at,
            due_at=step.due_at,
            late=lifecycle.is_late(step.due_at, sent_at),
            late_reason=draft.late_reason
            or lifecycle.late_reason(self.state, track, step.due_at, sent_at, self._zone),
            justification=draft.justification,
            missing=draft.missing,
            facts_version=draft.facts_version,
            # Whose go the draft went with: an approval given while it was on its way
            # is answered with it, but did not make it.
            approved_by=draft.approved_by,
            language_override=(track.approve.language_override or []) if track.approve else [],
        )
        self._measure_filing(step.regime_index, filing)
        lifecycle.record_filing(self.state, step.regime_index, filing)
        self._note(
            sent_at,
            said(
                "timeline.filed_late" if filing.late else "timeline.filed",
                number=number,
                kind=step.kind,
                regime=track.regime,
            ),
            filing.approved_by or "breachclock",
            kind=EntryKind.ENGINE,
        )
        workflow.logger.info(
            "filing sent",
            extra={"reference": self.state.reference, "number": number, "kind": step.kind.value},
        )

    # --------------------------------------------------------------- pages

    async def _page(self, step: SendPage) -> None:
        began = workflow.now()
        page = build_page(self.state, step, began)
        track = self.state.tracks[step.regime_index]
        receipt, failure = await self._send_page(page)
        sent_at = self._sent_at(receipt, began, self._local_pages)
        lifecycle.record_page(self.state, step, sent_at, len(page.recipients), failure)
        if failure is not None:
            entry = page_entry(step, track.regime)
            self._note(
                sent_at,
                said("timeline.page_failed", failure=failure, **entry.params),
                "breachclock",
                kind=EntryKind.ENGINE,
            )
            return
        self._note(sent_at, page_entry(step, track.regime), "breachclock", kind=EntryKind.ENGINE)
        level = next((k for k in ("overdue", "reminder") if step.level.startswith(k)), "lead")
        pages = metrics.ESCALATIONS
        workflow.metric_meter().create_counter(pages.name, pages.description, pages.unit).add(
            1, {"regime": track.regime.value, "level": level}
        )

    # ---------------------------------------------------------- containment

    async def _takedown(self, step: SendTakedown) -> None:
        """A takedown request (or its reminder, with a page to the owner), once per key."""
        task = containment.task_for(self.state.takedowns, step.recipient)
        assert task is not None
        policy = self.state.policy
        draft = containment.takedown_mail(
            self.state.reference,
            policy.operator_name,
            policy.contact_point,
            task,
            step.number,
            task.sent_at or workflow.now(),
            Voice(lifecycle.filing_language(self.state, self.state.regime), self._zone),
        )
        self._count(ACTIVITY, draft)
        try:
            receipt = await workflow.execute_activity(
                api.SEND_TAKEDOWN,
                draft,
                result_type=Receipt,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=PAGE_ATTEMPTS,
            )
        except ActivityError as err:
            task.send_error = str(err.cause or err)
            task.retry_at = workflow.now() + SEND_RETRY_BACKOFF[1]
            self._note(
                workflow.now(),
                said("timeline.takedown_mail_failed", name=task.name, error=task.send_error),
                "breachclock",
                kind=EntryKind.ENGINE,
            )
            return
        self._count(RESULT, receipt)
        now = workflow.now()
        task.send_error, task.retry_at = None, None
        if step.number == 0:
            task.sent_at, task.message_id = now, receipt.message_id
            self._note(
                now,
                said(
                    "timeline.takedown_requested",
                    name=task.name,
                    count=task.count,
                    scope=task.scope,
                ),
                task.requested_by,
                kind=EntryKind.ENGINE,
            )
            return
        task.reminders, task.last_reminder_at = step.number, now
        _, failure = await self._send_page(takedown_page(self.state, task, step.number, now))
        self._note(
            workflow.now(),
            said("timeline.takedown_reminded", number=step.number, name=task.name, failure=failure)
            if failure
            else said("timeline.takedown_reminded_paged", number=step.number, name=task.name),
            "breachclock",
            kind=EntryKind.ENGINE,
        )

    async def _page_wait(self, step: PageWait) -> None:
        """Notice has waited for containment past the policy's bound: the decision is
        paged to be weighed again (and again, at the overdue rhythm, while it waits)."""
        notification = self.state.notification
        began = workflow.now()
        page = containment_wait_page(self.state, step.number, began)
        receipt, failure = await self._send_page(page)
        now = self._sent_at(receipt, began, self._local_pages)
        notification.wait_pages, notification.last_wait_page_at = step.number, now
        about = {"n": step.number, "bound": notification.wait_bound}
        self._note(
            now,
            said("timeline.page_failed_containment_wait", failure=failure, **about)
            if failure
            else said("timeline.paged_containment_wait", **about),
            "breachclock",
            kind=EntryKind.ENGINE,
        )

    @workflow.update
    @counted
    async def request_takedown(self, request: TakedownRequest) -> Answer:
        await self._started(request)
        self.state.takedowns.append(
            TakedownTask(
                recipient=request.recipient,
                name=request.name,
                address=request.address,
                scope=request.scope,
                count=request.count,
                requested_by=request.by,
                requested_at=workflow.now(),
            )
        )
        self._changed = True
        return answer("answer.takedown.requested", name=request.name)

    @request_takedown.validator
    def _validate_request_takedown(self, request: TakedownRequest) -> None:
        given(request)
        self._open_only()
        refuse_if(
            containment.request_problem(self.state.takedowns, request),
            checks.timeline_room_problem(self.state),
        )
        self._fits(request)

    @workflow.update
    @counted
    async def report_takedown(self, report: TakedownReport) -> Answer:
        await self._started(report)
        task = containment.task_for(self.state.takedowns, report.recipient)
        assert task is not None
        containment.record_report(task, report, workflow.now())
        self._note(
            report.at or workflow.now(),
            said(
                f"timeline.takedown_{report.status.value}",
                name=task.name,
                how=report.how_verified,
                reason=report.reason,
            ),
            report.by,
        )
        tasks = self.state.takedowns
        counts = {
            "name": task.name,
            "status": report.status,
            "confirmed": containment.confirmed_count(tasks),
            "total": len(tasks),
        }
        notification = self.state.notification
        if notification.waiting_for_containment and containment.all_confirmed(tasks):
            notification.waiting_for_containment = False
            self._note(
                workflow.now(), said("timeline.contained_telling"), None, kind=EntryKind.ENGINE
            )
            await self._start_wave()
            return answer("answer.takedown.reported_telling", people=notification.people, **counts)
        return answer("answer.takedown.reported", **counts)

    @report_takedown.validator
    def _validate_report_takedown(self, report: TakedownReport) -> None:
        given(report)
        self._open_only()
        refuse_if(
            checks.future_problem(report.at, workflow.now())
            or containment.report_problem(self.state.takedowns, report, workflow.now()),
            checks.timeline_room_problem(self.state),
        )
        self._fits(report)

    async def _send_page(self, page: PageDraft) -> tuple[Receipt | None, str | None]:
        """Send a page: its receipt, or why it could not go once its retries are spent."""
        send = self._send_here if self._local_pages else self._send_by_task
        try:
            return await send(api.SEND_PAGE, page, PAGE_ATTEMPTS), None
        except FailureError as err:
            return None, str(err.cause or err)

    # ------------------------------------------------------------- updates

    @workflow.update
    @counted
    async def discover(self, discovery: Discover) -> Discovered:
        await self._started(discovery)
        self.state.discovery = discovery
        self.state.discovery_recorded_at = workflow.now()
        track = self._new_track(Track(regime=self.state.regime, aware_at=discovery.at))
        lifecycle.start_track(track)
        self.state.tracks.append(track)
        self._note(
            discovery.at,
            said("timeline.aware", how=discovery.how),
            discovery.by,
            "reported at discovery",
            kind=EntryKind.INCIDENT,
        )
        return Discovered(
            at=discovery.at,
            deadlines=[
                Due(regime=track.regime, name=stage.name, due_at=lifecycle.stage_due(track, stage))
                for stage in regime(track.regime).stages
                if stage.name in track.anchors
            ],
        )

    @discover.validator
    def _validate_discover(self, discovery: Discover) -> None:
        given(discovery)
        self._open_only()
        refuse_if(checks.discover_problem(self.state, discovery, workflow.now()))
        self._fits(discovery)

    @workflow.update
    @counted
    async def record_facts(self, patch: FactsPatch) -> list[str]:
        await self._started(patch)
        merged = self.state.facts.merged(patch)
        if merged == self.state.facts:
            return merged.missing()  # nothing new: no new version, nothing to file again
        self.state.facts = merged
        self.state.facts_version += 1
        self._note(
            workflow.now(),
            said("timeline.facts", version=self.state.facts_version, fields=sorted(patch.changes)),
            None,
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
        except ValidationError as err:
            reject(*problems_of(err))
        refuse_if(
            checks.facts_problem(self.state, merged),
            *checks.expected_problems(
                self.state.facts.expected,
                merged.expected,
                self.state.policy.operator_zone,
                workflow.now(),
            ),
        )
        self._fits(patch)

    def _note_alert(self) -> None:
        """The alert that opened the incident (the on-call's way back to the graph), and
        the closed incident the same alert group opened before it."""
        alert = self.state.alert
        if alert is None:
            return
        fired = said(
            "timeline.alert_fired",
            name=alert.labels.get("alertname", "?"),
            fingerprint=alert.fingerprint or "?",
            link=alert.generator_url or "?",
        )
        self._note(
            alert.starts_at or self.state.opened_at, fired, MONITORING, kind=EntryKind.ENGINE
        )
        if alert.follows:
            follows = said("timeline.alert_follows", reference=alert.follows)
            self._note(self.state.opened_at, follows, MONITORING, kind=EntryKind.ENGINE)

    @workflow.update
    @counted
    async def alert_resolved(self, resolved: AlertResolved) -> Answer:
        """Monitoring says the alert stopped firing: noted, once; the incident stays open."""
        await self._started()
        entry = said("timeline.alert_resolved", fingerprint=resolved.fingerprint or "?")
        if any(
            e.at == resolved.at and e.code == entry.code and e.params == entry.params
            for e in self.state.timeline
        ):
            return answer("answer.event.already")
        self._note(resolved.at, entry, MONITORING, kind=EntryKind.ENGINE)
        return answer("answer.event.recorded")

    @alert_resolved.validator
    def _validate_resolved(self, resolved: AlertResolved) -> None:
        given(resolved)
        self._open_only()

    @workflow.update
    @counted
    async def add_event(self, event: TimelineInput) -> Answer:
        await self._started(event)
        if self._recorded(event):
            return answer("answer.event.already")
        self._note(event.at, event.what, event.by, event.how_established, kind=EntryKind.INCIDENT)
        return answer("answer.event.recorded")

    @add_event.validator
    def _validate_event(self, event: TimelineInput) -> None:
        given(event)
        self._open_only()
        refuse_if(checks.event_problem(self.state, event, workflow.now(), self._recorded(event)))
        self._fits(event)

    def _recorded(self, event: TimelineInput) -> bool:
        """The same event again (a command run twice): recognised, not added twice."""
        return any(
            e.at == event.at
            and e.what == event.what
            and e.by == event.by
            and e.how_established == event.how_established
            for e in self.state.timeline
        )

    @workflow.update
    @counted
    async def approve(self, approval: Approve) -> ApproveResult:
        await self._started(approval)
        track = self._track_for(approval.track)
        index = self.state.tracks.index(track)
        before = len(self.state.filings)

        def filed() -> Filing | None:
            if approval.filing is None:  # approvals recorded before they named their filing
                return self.state.filings[-1] if len(self.state.filings) > before else None
            return lifecycle.filing_for(self.state, index, approval.filing, approval.facts_version)

        existing = filed()
        owed = lifecycle.reason_owed_for(self.state, index, approval, existing, workflow.now())
        if owed is not None and self._patched(LATE_REASON_SUPPLEMENT):
            self._owe_reason(track, owed, approval)
            if existing is not None:
                return await self._reason_sent(track)
        if existing is not None:
            return approved(
                existing,
                "answer.approve.already_sent",
                number=existing.number,
                kind=existing.kind,
                sent=existing.sent_at,
            )
        if track.prepared is None and track.approve is None:
            track.approve = approval
            track.approve_at = workflow.now()
            self._changed = True
            if approval.language_override:  # (no approval before it carried one)
                stage = approval.filing or ""
                fields = approval.language_override
                self._note(
                    workflow.now(),
                    said("timeline.language_override", stage=stage, fields=fields),
                    approval.by,
                )
        self._count(TIMER)
        try:
            await workflow.wait_condition(
                lambda: filed() is not None or track.prepared is not None, timeout=APPROVE_WAIT
            )
        except TimeoutError:
            self._count(WAKE)
            return approved(None, "answer.approve.queued")
        filing = filed()
        if filing is None and track.prepared is not None:  # a person files it on the portal
            number, portal = track.prepared.number, track.prepared.recipient
            return approved(
                None, "answer.approve.prepared_for_portal", number=number, portal=portal
            )
        assert filing is not None
        return approved(filing, "answer.approve.sent", number=filing.number)

    def _owe_reason(self, track: Track, late: Filing, approval: Approve) -> None:
        """Keep a late filing's reason, given after it went, for the regulator (the
        schedule sends it in a supplement) and in the timeline."""
        reason = approval.late_reason
        assert reason is not None
        now = workflow.now()
        track.reason_owed = OwedReason(filing=late.number, reason=reason, by=approval.by, at=now)
        self._note(
            now,
            said(
                "timeline.late_reason_given",
                number=late.number,
                regime=track.regime,
                reason=reason,
            ),
            approval.by,
        )
        self._changed = True

    async def _reason_sent(self, track: Track) -> ApproveResult:
        """The answer to an approval whose only news was a late filing's reason: the
        supplement that carries it, once sent (or that it is queued)."""
        before = len(self.state.filings)
        self._count(TIMER)
        try:
            await workflow.wait_condition(lambda: track.reason_owed is None, timeout=APPROVE_WAIT)
        except TimeoutError:
            self._count(WAKE)
            return approved(None, "answer.approve.queued")
        supplement = next(
            f for f in self.state.filings[before:] if f.stage == lifecycle.LATE_REASON
        )
        return approved(supplement, "answer.approve.reason_sent", number=supplement.number)

    @approve.validator
    def _validate_approve(self, approval: Approve) -> None:
        given(approval)
        self._open_only()
        refuse_if(checks.approval_problem(self.state, approval, workflow.now()))
        self._fits(approval)

    @workflow.update
    @counted
    async def justify(self, justification: Justify) -> Answer:
        await self._started(justification)
        track = self._track_for(justification.track)
        if track.justification == justification.text:
            return answer("answer.justify.already")
        track.justification = justification.text
        self._note(
            workflow.now(), said("timeline.justified", text=justification.text), justification.by
        )
        return answer("answer.justify.recorded")

    @justify.validator
    def _validate_justify(self, justification: Justify) -> None:
        given(justification)
        self._open_only()
        refuse_if(checks.justify_problem(self.state, justification))
        self._fits(justification)

    @workflow.update
    @counted
    async def open_security_report(self, request: OpenSecurityReport) -> Answer:
        await self._started(request)
        assert self.state.discovery is not None
        track = self._new_track(
            Track(regime=RegimeCode.NIS2, aware_at=request.aware_at or self.state.discovery.at)
        )
        lifecycle.start_track(track)
        self.state.tracks.append(track)
        self._note(workflow.now(), said("timeline.security_opened"), request.by)
        return answer("answer.security.opened", tracks=len(self.state.tracks))

    @open_security_report.validator
    def _validate_security(self, request: OpenSecurityReport) -> None:
        given(request)
        self._open_only()
        refuse_if(checks.security_problem(self.state, request, workflow.now()))
        self._fits(request)

    @workflow.update
    @counted
    async def close(self, request: Close) -> Answer:
        await self._started(request)
        never = lifecycle.reports_due(self.state)
        self.state.closure = Closure(
            at=workflow.now(), by=request.by, reason=request.reason, never_filed=never
        )
        self._note(
            workflow.now(),
            said(
                "timeline.closed_never_filed" if never else "timeline.closed",
                reason=request.reason or "—",
                never_filed=[report.replace(":", ".") for report in never],
            ),
            request.by,
        )
        self._changed = True
        return answer("answer.closed", reference=self.state.reference)

    @close.validator
    def _validate_close(self, request: Close) -> None:
        given(request)
        self._open_only()
        refuse_if(checks.close_problem(self.state, request, sending=bool(self._in_flight)))
        self._fits(request)

    @workflow.update
    @counted
    async def acknowledge(self, request: Acknowledge) -> Answer:
        await self._started(request)
        target = ownership.ack_target(self.state, request)
        assert not isinstance(target, Problem)  # the validator refused that
        before = self.state.tracks[target.index].acknowledged.get(target.deadline)
        result = ownership.acknowledge(self.state, target, request, workflow.now())
        if before is None:
            self._note(
                workflow.now(),
                said(
                    "timeline.acknowledged_by_link" if request.link else "timeline.acknowledged",
                    deadline=target.deadline,
                ),
                request.by,
            )
        return Answer(message=result.words(ENGLISH), said=result)

    @acknowledge.validator
    def _validate_acknowledge(self, request: Acknowledge) -> None:
        given(request)
        self._open_only()
        refuse_if(
            ownership.ack_problem(self.state, request), checks.timeline_room_problem(self.state)
        )
        self._fits(request)

    @workflow.update
    @counted
    async def snooze(self, request: Snooze) -> Answer:
        await self._started(request)
        until = ownership.snooze_until(request, workflow.now())
        self.state.snoozed_until = until
        self._note(workflow.now(), said("timeline.snoozed", until=until), request.by)
        return answer("answer.snoozed", until=until)

    @snooze.validator
    def _validate_snooze(self, request: Snooze) -> None:
        given(request)
        self._open_only()
        refuse_if(checks.snooze_problem(self.state, request))
        self._fits(request)

    @workflow.query
    def status(self) -> IncidentState:
        return self.state

    @workflow.query
    def history_count(self) -> HistoryCount:
        """What this run has added to its history, by its own count (``workflows.history``):
        it continues as new by this, in runs since ``OWN_COUNT``."""
        return self._history
