"""The time a workflow decides by: one that only history moves.

``workflow.now()`` is the start of the workflow task being run. But a worker can run a
task's new events before the task exists: a query reaching a worker that does not have
the workflow cached replays its history to answer, applies the events that came after
the last completed task (a timer that fired, a round's result) at that last task's
time, and sends what the code decided then with the next real task. Replay runs the
same events at the next task's time. A decision that compares a due time with
``workflow.now()`` can therefore differ between the run and its replay (a
nondeterminism error, and the workflow stops), or, live, sleep the whole way again: a
deadline missed by hours. Seen on a campaign after its worker was SIGKILLed (issue 21);
``tests/workflows/test_replay_stale.py`` replays every saved history with each task
given the previous task's time.

So a workflow decides by a clock that moves only on what history fixes: the run's first
task, an update (updates come only with a real task), a timer the workflow set (to the
instant it aimed at, not to when it was run), and times an activity reported. How long
a timer runs is still reckoned from the later of the clock and ``workflow.now()``:
replay does not compare a timer's length."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow


class DecisionClock:
    """The instant decisions are taken at; it never goes back."""

    def __init__(self) -> None:
        self.at: datetime = workflow.now()

    def advance(self, to: datetime | None) -> None:
        if to is not None and to > self.at:
            self.at = to

    def until(self, target: datetime, least: timedelta) -> timedelta:
        """How long a timer aimed at ``target`` runs: from the best estimate of the real
        time (a stale task's ``now`` is behind the clock), never shorter than ``least``."""
        return max(target - max(workflow.now(), self.at), least)
