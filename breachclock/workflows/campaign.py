"""A notification campaign: every affected person told once, in bounded batches.

The people and their attempts live in the store (``notify_store``); this workflow
holds only the list cut into slices of sequence numbers, each with when it is next
due and its counts. A round over a slice is one ``advance`` activity on the
notifications task queue, which handles every due person in it with a key per side
effect. At most ``parallel`` slices run at once, so pending activities stay far
below Temporal's 2,000, and the workflow continues as new well before its history
grows long (the limit this is built for: 10,240 events), carrying only the slices.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from breachclock.activities.notify import Advance, NotifyActivities, SliceReport
    from breachclock.notify.delivery import Counts, Plan, Status
    from breachclock.notify.notice import IncidentNotice, Operator


def notify_queue(task_queue: str) -> str:
    """The notifications queue beside an incidents queue: its workers set the pace."""
    return f"{task_queue}-notifications"


NOTICES_METRIC = "breachclock_notification_attempts"
"""Calls and e-mails made; attributes channel, outcome."""
PEOPLE_METRIC = "breachclock_campaign_people"
"""People in a running campaign by status (pending, called, emailed, unreachable)."""
HISTORY_BUDGET = 4_000
"""Continue as new past this many events: far from 10,240, and rounds stay cheap to replay."""
ADVANCE_TIMEOUT = timedelta(hours=12)
"""A slice handed to agents can take hours; the heartbeat notices a dead worker sooner."""


class Slice(BaseModel):
    first: int
    end: int
    next_due: datetime | None
    """None: everyone in it is done."""
    counts: Counts = Counts()


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
    """Carried over by continue-as-new."""
    started_at: datetime | None = None


class CampaignProgress(BaseModel):
    reference: str
    wave: int
    started_at: datetime
    size: int
    counts: Counts
    slices_left: int
    finished_at: datetime | None = None


@workflow.defn(name="NotificationCampaign")
class CampaignWorkflow:
    @workflow.init
    def __init__(self, start: CampaignStart) -> None:
        self.start = start
        self.started_at = start.started_at or workflow.now()
        self.slices: list[Slice] = list(start.slices or [])
        self.size = start.first
        self.finished_at: datetime | None = None
        self._grow_to(start.first + start.size)
        self._running: set[int] = set()
        self._changed = False

    @workflow.run
    async def run(self, start: CampaignStart) -> CampaignProgress:
        tasks: set[asyncio.Task[None]] = set()
        while True:
            now = workflow.now()
            waiting = [
                i
                for i, s in enumerate(self.slices)
                if s.next_due is not None and i not in self._running
            ]
            for i in waiting:
                due = self.slices[i].next_due
                if len(self._running) >= start.plan.parallel:
                    break
                if due is not None and due <= now:
                    self._running.add(i)
                    task = asyncio.create_task(self._advance(i))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            if not self._running and all(s.next_due is None for s in self.slices):
                break
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    start.model_copy(
                        update={
                            "slices": self.slices,
                            "first": start.first,
                            "size": self.size - start.first,
                            "started_at": self.started_at,
                        }
                    )
                )
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
                timeout = max(wake - workflow.now(), timedelta(seconds=1))
            self._changed = False
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=timeout)
            except TimeoutError:
                pass
        self.finished_at = workflow.now()
        return self.progress()

    async def _advance(self, index: int) -> None:
        piece = self.slices[index]
        try:
            report: SliceReport = await workflow.execute_activity_method(
                NotifyActivities.advance,
                Advance(
                    reference=self.start.reference,
                    first=piece.first,
                    end=piece.end,
                    now=workflow.now(),
                    plan=self.start.plan,
                    notice=self.start.notice,
                    operator=self.start.operator,
                ),
                task_queue=notify_queue(workflow.info().task_queue),
                start_to_close_timeout=ADVANCE_TIMEOUT,
                heartbeat_timeout=self.start.plan.heartbeat,
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=2)),
            )
            before, piece.counts = piece.counts, report.counts
            piece.next_due = report.next_due
            self._measure(before, report.counts)
        finally:
            self._running.discard(index)
            self._changed = True

    def _measure(self, before: Counts, after: Counts) -> None:
        """Notices by outcome (what this round added), and where the campaign stands."""
        meter = workflow.metric_meter()
        attempts = meter.create_counter(
            NOTICES_METRIC, "Notification attempts by channel and outcome", "{attempt}"
        )
        for channel, now, then in (
            ("call", after.calls, before.calls),
            ("email", after.emails, before.emails),
        ):
            for outcome, count in now.items():
                added = count - then.get(outcome, 0)  # type: ignore[call-overload]
                if added > 0:
                    attempts.add(added, {"channel": channel, "outcome": str(outcome)})
        progress = self.progress().counts
        people = meter.create_gauge(PEOPLE_METRIC, "People in a campaign by status", "{person}")
        for status in Status:
            people.set(
                progress.people.get(status, 0),
                {"reference": self.start.reference, "status": status.value},
            )

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        long = info.get_current_history_length() > HISTORY_BUDGET
        return (long or info.is_continue_as_new_suggested()) and not self._running

    def _grow_to(self, end: int) -> None:
        """Cut the people up to sequence number ``end`` into new slices, due at once.

        A slice never changes its range once cut: a round may be working on it.
        """
        while self.size < end:
            last = min(self.size + self.start.plan.batch, end)
            self.slices.append(Slice(first=self.size, end=last, next_due=workflow.now()))
            self.size = last

    @workflow.signal
    def grow(self, size: int) -> None:
        """More people were added to the list: it now has ``size`` (sequence numbers 0..size-1)."""
        self._grow_to(size)
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
            size=self.size - self.start.first,
            counts=total,
            slices_left=sum(1 for s in self.slices if s.next_due is not None),
            finished_at=self.finished_at,
        )
