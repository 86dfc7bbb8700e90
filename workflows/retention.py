"""The retention sweep: started by a Temporal schedule (``breachclock-retention``, hourly),
it runs the one activity that deletes what the retention says must go."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)

with workflow.unsafe.imports_passed_through():
    from activities import api
    from activities.api import Purge, Purged

SCHEDULE_ID = "breachclock-retention"


@workflow.defn(name="Retention")
class RetentionWorkflow:
    @workflow.run
    async def run(self) -> Purged:
        purged: Purged = await workflow.execute_activity(
            api.PURGE_EXPIRED,
            Purge(now=workflow.now()),
            result_type=Purged,
            start_to_close_timeout=timedelta(minutes=30),
        )
        return purged


async def ensure_schedule(client: Client, task_queue: str, every: timedelta) -> None:
    """The hourly sweep, created once (every engine asks; the first one makes it)."""
    try:
        await client.create_schedule(
            SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    RetentionWorkflow.run, id=SCHEDULE_ID, task_queue=task_queue
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
            ),
        )
    except ScheduleAlreadyRunningError:
        pass
