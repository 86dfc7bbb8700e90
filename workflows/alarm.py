"""A loop's one timer, kept for as long as it is set toward the same step.

A workflow loop that sleeps with ``wait_condition(..., timeout=...)`` cancels its
timer whenever it wakes for another reason (an update, an activity's end) and starts
a new one, even toward the same instant: two events in the history for every such
wake, and a cancel that can race the timer firing. The real server takes that race
in its stride. Temporal's time-skipping test server does not: it refuses a workflow
task that cancels a timer which fired while the task was with the worker ("invalid
history builder state for action", sdk-java#2606) and then never times the task out
or hands it out again (sdk-java#3088), so the run is stranded. A page due at a
deadline, followed 50 ms later by the next step, did that under load in CI.

An ``Alarm`` is therefore left running while the step it is set toward is still the
next one, and is cancelled only when the next step changes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow


class Alarm:
    """``toward``: the step's time the alarm was set for; ``target``: the instant it was
    aimed at (before ``toward`` when the loop approaches in two sleeps)."""

    def __init__(self) -> None:
        self._timer: asyncio.Task[None] | None = None
        self.toward: datetime | None = None
        self.target: datetime | None = None

    def set(
        self, toward: datetime | None, target: datetime | None, length: timedelta | None
    ) -> bool:
        """Keep the running alarm if it is set toward ``toward``; otherwise cancel it and,
        given a ``length``, start one of that length aimed at ``target``. Whether a
        timer was started (the history gains its events)."""
        if self._timer is not None and not self._timer.done() and toward == self.toward:
            return False
        self.cancel()
        if length is None:
            return False
        self._timer = asyncio.create_task(workflow.sleep(length))
        self.toward, self.target = toward, target
        return True

    @property
    def rang(self) -> bool:
        return self._timer is not None and self._timer.done() and not self._timer.cancelled()

    def clear(self) -> None:
        """Forget an alarm that rang, so the next ``set`` starts a fresh one."""
        self._timer = None
        self.toward = self.target = None

    def cancel(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self.clear()
