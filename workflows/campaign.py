"""A notification campaign: every affected person told once, in bounded batches.

The people and their attempts live in the store (``store.people``); this workflow
holds only the list cut into slices of sequence numbers, each with when it is next
due and its counts. A round over a slice is one ``advance`` activity on the
notifications task queue, which handles every due person in it with a key per side
effect. At most ``parallel`` slices run at once, so pending activities stay far
below Temporal's 2,000.

The run continues as new once its history passes the plan's budget, whether or not
rounds are running: it stops starting rounds, gives the running ones a bounded time to
finish, then hands the slices over exactly as they stand, any round still running
due again at once. Such a round (a slice with agents, a dead worker) may go on beside
the next run's round of the same slice: the keys each claims in the store decide, so
nobody is told twice, and the old round is stopped at its next heartbeat (its run is
gone).

When everyone is done the campaign tells its incident (a signal to the incident's
workflow id, which reaches whichever run of the incident is current) and ends.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import api
    from activities.api import Advance, GiveUp, SliceReport
    from breachclock.domain.ids import workflow_id
    from breachclock.domain.notify.delivery import Counts, Plan, Status, coded
    from breachclock.domain.notify.notice import IncidentNotice, Operator
    from breachclock.domain.notify.plan import ChannelPlan, PlanCounts, counted
    from breachclock.domain.notify.sms import SmsNotice
    from breachclock.domain.problems import said
    from breachclock.runtime import metrics
    from workflows.alarm import Alarm
    from workflows.clock import DecisionClock


def notify_queue(task_queue: str) -> str:
    """The notifications queue beside an incidents queue: its workers set the pace."""
    return f"{task_queue}-notifications"


ADVANCE_TIMEOUT = timedelta(hours=12)
"""A slice handed to agents can take hours; the heartbeat notices a dead worker sooner."""
ROUND_ATTEMPTS = RetryPolicy(
    maximum_attempts=5, initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1)
)
"""A few quick tries of a round; past them the slice waits and tries again later."""
ROUND_FAILURES = 24
"""Failed rounds of one slice (each after ``ROUND_ATTEMPTS``), spaced up to an hour apart:
about a day. Past them the people still pending in it are listed for a letter."""
ROUND_BACKOFF = (timedelta(minutes=5), timedelta(hours=1))
END_SIGNAL = "campaign-end-signal"
"""``workflow.patched`` id: campaigns tell their incident when they end."""
PLAN_WALK = "campaign-plan-walk"
"""``workflow.patched`` id: rounds walk people through the incident's plan (``channels``)."""
CLOCK = "campaign-decision-clock"
"""``workflow.patched`` id: rounds start by the campaign's ``DecisionClock``, never by
``workflow.now()`` (``workflows.clock`` says why)."""
ALARM_KEPT = "campaign-alarm-kept"
"""``workflow.patched`` id: the timer toward the next round is left running while that
round is still the next one (``workflows.alarm``), and counted when started, fired or
not. Runs before it cancelled the timer and started another whenever a round ended,
uncounted."""
LEAST_WAIT = timedelta(seconds=1)
"""The shortest timer toward a slice's next round."""
OWN_COUNT = "campaign-own-history-count"
"""``workflow.patched`` id: the campaign continues as new by its own count of the events
and bytes it adds, never by the history length or the server's suggestion. Those come
with each workflow task, and a worker that runs a task's events early to answer a query
(``workflows.clock`` says when) sees them smaller than replay does: the run decided to go
on where replay decided to continue as new, and failed as nondeterministic
("Continue as new workflow machine does not handle this event: ActivityTaskScheduled")."""
START_EVENTS = 16
"""An upper bound of a run's first events: its start, its first task, its patch markers."""
ROUND_EVENTS = 9
"""An upper bound of what one round adds: its activity scheduled, started and completed,
and the two workflow tasks (three events each) that start it and take its result."""
WAKE_EVENTS = 5
"""A timer toward the next round, started and fired, and the task it wakes."""
TIMER_EVENTS = 2
"""A timer toward the next round: started, then fired or cancelled (``ALARM_KEPT``)."""
SIGNAL_EVENTS = 4
"""A signal (the list grew), and the task that takes it."""
REPORT_BYTES = 4096
"""An upper bound of a round's result and its events' own size in the history."""
SIZE_BUDGET = 4 * 1024 * 1024
"""Bytes of history past which a run continues as new: where the server suggests it (its
hard limit is 50 MB)."""


class Slice(BaseModel):
    first: int
    end: int
    next_due: datetime | None
    """None: everyone in it is done."""
    counts: Counts = Counts()
    failures: int = 0
    """Rounds in a row that failed (after their retries)."""
    last_error: str | None = None


class CampaignStart(BaseModel):
    reference: str
    wave: int
    """1 for the first campaign of an incident; people added after it finished form the next."""
    notice: IncidentNotice
    operator: Operator
    plan: Plan
    first: int
    """The first sequence number this wave covers."""
    size: int
    """People on the list when the wave starts (it grows with ``grow``)."""
    slices: list[Slice] | None = None
    """Carried over by continue-as-new, as they stood."""
    cut: int | None = None
    """Carried over: the sequence numbers up to which the list is cut into slices."""
    started_at: datetime | None = None
    channels: ChannelPlan | None = None
    """The plan people are walked through (``plan_runner``); None: the first engine's
    calls then e-mail, by ``plan``'s attempts and spacing."""
    sms: SmsNotice | None = None
    """The approved SMS text, when ``channels`` has an SMS step."""


class CampaignProgress(BaseModel):
    reference: str
    wave: int
    started_at: datetime
    size: int
    counts: Counts
    slices_left: int
    finished_at: datetime | None = None
    errors: list[str] = []
    """Why rounds of some slices are failing now (they are retried)."""
    plan: str | None = None
    """The plan's name, when the campaign walks one."""
    by_channel: PlanCounts = PlanCounts()
    """``counts`` per channel, in the shape the final report reads (``plan.tally``)."""


@workflow.defn(name="NotificationCampaign")
class CampaignWorkflow:
    @workflow.init
    def __init__(self, start: CampaignStart) -> None:
        self.start = start
        self.started_at = start.started_at or workflow.now()
        self.finished_at: datetime | None = None
        self._running: dict[int, asyncio.Task[None]] = {}
        self._changed = False
        self._walks = False
        self._clock = DecisionClock()
        self._alarm = Alarm()
        self._clocked = False
        self._keeps_alarm = False
        self._counted = False
        self._events = START_EVENTS
        self._bytes = 0
        self._round_bytes = 0
        if start.slices is not None:
            self.slices = list(start.slices)
            self.cut = start.cut if start.cut is not None else start.first + start.size
        else:
            self.slices = []
            self.cut = start.first
            self._grow_to(start.first + start.size)

    @workflow.run
    async def run(self, start: CampaignStart) -> CampaignProgress:
        # Decided first thing in the run, before any activity: replay then meets the
        # marker where the run wrote it.
        self._walks = workflow.patched(PLAN_WALK) and start.channels is not None
        self._clocked = workflow.patched(CLOCK)
        self._counted = workflow.patched(OWN_COUNT)
        self._keeps_alarm = workflow.patched(ALARM_KEPT)
        while True:
            if self._should_continue_as_new():
                await self._hand_over()
                workflow.continue_as_new(
                    start.model_copy(
                        update={
                            "slices": self.slices,
                            "cut": self.cut,
                            "started_at": self.started_at,
                        }
                    )
                )
            now = self._now()
            for i, piece in enumerate(self.slices):
                if len(self._running) >= start.plan.parallel:
                    break
                if i not in self._running and piece.next_due is not None and piece.next_due <= now:
                    self._start_round(i)
            if not self._running and all(s.next_due is None for s in self.slices):
                break
            wake = min(
                (
                    s.next_due
                    for i, s in enumerate(self.slices)
                    if s.next_due is not None and i not in self._running
                ),
                default=None,
            )
            timeout = None
            if wake is not None and len(self._running) < start.plan.parallel:
                timeout = (
                    self._clock.until(wake, LEAST_WAIT)
                    if self._clocked
                    else max(wake - workflow.now(), LEAST_WAIT)
                )
            self._changed = False
            if self._keeps_alarm:
                await self._sleep_on_alarm(wake, timeout)
                continue
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=timeout)
            except TimeoutError:
                self._events += WAKE_EVENTS
                if self._clocked:
                    self._clock.advance(wake)
        self._alarm.cancel()
        self.finished_at = workflow.now()
        progress = self.progress()
        if workflow.patched(END_SIGNAL):
            await self._tell_incident(progress)
        return progress

    async def _sleep_on_alarm(self, wake: datetime | None, length: timedelta | None) -> None:
        """Until a round ends or the list grows, or the alarm toward the next round
        (``wake``, given room for it) rings; the alarm runs on while that is unchanged."""
        if self._alarm.set(wake if length is not None else None, wake, length):
            self._events += TIMER_EVENTS
        await workflow.wait_condition(lambda: self._changed or self._alarm.rang)
        if self._alarm.rang:
            self._events += WAKE_EVENTS - TIMER_EVENTS
            if self._clocked:
                self._clock.advance(self._alarm.target)
            self._alarm.clear()

    def _now(self) -> datetime:
        """When rounds are due by: the decision clock, or in a run from before it, the
        task's time."""
        return self._clock.at if self._clocked else workflow.now()

    def _should_continue_as_new(self) -> bool:
        if self._counted:
            return self._events > self.start.plan.history_budget or self._bytes > SIZE_BUDGET
        info = workflow.info()
        return (
            info.get_current_history_length() > self.start.plan.history_budget
            or info.is_continue_as_new_suggested()
        )

    def _count_round(self, advance: Advance) -> None:
        """A round's events and bytes, counted where it is started (its input is the same
        for every round of the run but its slice's range and time)."""
        if not self._round_bytes:
            self._round_bytes = len(advance.model_dump_json()) + REPORT_BYTES
        self._events += ROUND_EVENTS
        self._bytes += self._round_bytes

    def _start_round(self, index: int) -> None:
        task = asyncio.create_task(self._advance(index))
        self._running[index] = task
        # Also when the task is cancelled before it ever ran (its ``finally`` never does).
        task.add_done_callback(lambda done: self._ended(index, done))

    def _ended(self, index: int, task: asyncio.Task[None]) -> None:
        if self._running.get(index) is task:
            del self._running[index]
            self._changed = True

    async def _hand_over(self) -> None:
        """Let the running rounds finish (bounded), so the next run starts from what is
        recorded; a round that does not finish in time (a slice with agents, a dead
        worker) is handed over as it is: the next run takes its slice up at once, and
        the old round, if it still runs, loses every key the new one claims first."""
        try:
            await workflow.wait_condition(
                lambda: not self._running, timeout=self.start.plan.heartbeat * 3
            )
        except TimeoutError:
            workflow.logger.warning(
                "rounds still running at continue-as-new; their slices are handed over",
                extra={"reference": self.start.reference, "rounds": len(self._running)},
            )
        now = workflow.now()
        for index in self._running:
            self.slices[index].next_due = now
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _advance(self, index: int) -> None:
        piece = self.slices[index]
        advance = Advance(
            reference=self.start.reference,
            first=piece.first,
            end=piece.end,
            now=workflow.now(),
            plan=self.start.plan,
            notice=self.start.notice,
            operator=self.start.operator,
            **self._walk(),
        )
        self._count_round(advance)
        try:
            report = await workflow.execute_activity(
                api.ADVANCE,
                advance,
                result_type=SliceReport,
                task_queue=notify_queue(workflow.info().task_queue),
                start_to_close_timeout=ADVANCE_TIMEOUT,
                heartbeat_timeout=self.start.plan.heartbeat,
                retry_policy=ROUND_ATTEMPTS,
            )
        except ActivityError as err:
            await self._failed(piece, str(err.cause or err))
        else:
            self._apply(piece, report)

    def _walk(self) -> dict[str, Any]:
        """What a round needs to walk the plan; nothing for the first engine's path (its
        rounds' input stays as it was)."""
        if not self._walks:
            return {}
        return {"channels": self.start.channels, "sms": self.start.sms}

    async def _failed(self, piece: Slice, error: str) -> None:
        """A round failed past its retries: try the slice again later, up to a point."""
        piece.failures += 1
        piece.last_error = error
        workflow.logger.warning(
            "campaign round failed",
            extra={"reference": self.start.reference, "first": piece.first, "n": piece.failures},
        )
        if piece.failures < ROUND_FAILURES:
            wait = min(ROUND_BACKOFF[0] * 2 ** (piece.failures - 1), ROUND_BACKOFF[1])
            piece.next_due = self._now() + wait
            return
        # Nothing retries for ever: whoever this slice could not reach gets a letter.
        self._events += ROUND_EVENTS
        self._bytes += REPORT_BYTES
        report = await workflow.execute_activity(
            api.GIVE_UP,
            GiveUp(
                reference=self.start.reference,
                first=piece.first,
                end=piece.end,
                now=workflow.now(),
                reason=coded(said("letter_reason.rounds_failed")),
            ),
            result_type=SliceReport,
            task_queue=notify_queue(workflow.info().task_queue),
            start_to_close_timeout=timedelta(minutes=5),
        )
        self._apply(piece, report)

    def _apply(self, piece: Slice, report: SliceReport) -> None:
        if self._clocked:
            self._clock.advance(report.at)
        before, piece.counts = piece.counts, report.counts
        piece.next_due = report.next_due
        piece.failures = 0
        piece.last_error = None
        self._measure(before, report.counts)

    async def _tell_incident(self, progress: CampaignProgress) -> None:
        incident = workflow.get_external_workflow_handle(workflow_id(self.start.reference))
        try:
            await incident.signal("campaign_finished", progress)
        except ApplicationError:
            # The incident's workflow is gone (ended by hand): nobody to tell.
            workflow.logger.warning(
                "incident not told of the campaign's end", extra={"reference": progress.reference}
            )

    def _measure(self, before: Counts, after: Counts) -> None:
        """Notices by outcome, and people by where they ended: what this round added (no
        label names the incident: a series per campaign would never end)."""
        meter = workflow.metric_meter()
        attempts = metrics.NOTIFICATION_ATTEMPTS
        attempted = meter.create_counter(attempts.name, attempts.description, attempts.unit)
        for channel, now, then in (
            ("call", after.calls, before.calls),
            ("email", after.emails, before.emails),
            ("sms", after.sms, before.sms),
        ):
            for outcome, count in now.items():
                added = count - then.get(outcome, 0)  # type: ignore[call-overload]
                if added > 0:
                    attempted.add(added, {"channel": channel, "outcome": str(outcome)})
        people = metrics.PEOPLE_DONE
        done = meter.create_counter(people.name, people.description, people.unit)
        for status, count in after.people.items():
            added = count - before.people.get(status, 0)
            if status is not Status.PENDING and added > 0:
                done.add(added, {"status": status.value})

    def _grow_to(self, end: int) -> None:
        """Cut the people up to sequence number ``end`` into new slices, due at once.

        A slice never changes its range once cut: a round may be working on it.
        """
        while self.cut < end:
            last = min(self.cut + self.start.plan.batch, end)
            self.slices.append(Slice(first=self.cut, end=last, next_due=self._now()))
            self.cut = last

    @workflow.signal
    def grow(self, size: int) -> None:
        """More people were added to the list: it now has ``size`` (sequence numbers 0..size-1)."""
        self._grow_to(size)
        self._events += SIGNAL_EVENTS
        self._changed = True

    @workflow.query
    def progress(self) -> CampaignProgress:
        total = Counts()
        for piece in self.slices:
            total = total.plus(piece.counts)
        return CampaignProgress(
            reference=self.start.reference,
            wave=self.start.wave,
            started_at=self.started_at,
            size=self.cut - self.start.first,
            counts=total,
            slices_left=sum(1 for s in self.slices if s.next_due is not None),
            finished_at=self.finished_at,
            errors=sorted({s.last_error for s in self.slices if s.last_error}),
            plan=self.start.channels.name if self.start.channels else None,
            by_channel=counted(total),
        )
