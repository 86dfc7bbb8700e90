"""An incident run's own count of the history it adds: what it continues as new by.

The history's length and size, and the server's suggestion to continue as new, come
with each workflow task, and a run and its replay do not see the same: a worker that
runs a task's events early to answer a query (``workflows.clock`` says when) sees them
smaller than replay does. A run that decided by them went on where its replay continued
as new ("Continue as new workflow machine does not handle this event"). So the run
counts, as it goes, what each thing it does adds to its history: only the code's own
path moves the count, the same live and in replay.

Each figure below is an upper bound of what that thing adds in normal operation, the
workflow tasks that carry it included. A task usually brings several things at once,
so the count runs ahead of the history (``tests/workflows/test_history_count.py``
compares it with real histories). What no code sees is not counted: a workflow task
that failed or timed out (a worker killed in the middle of one) and the tasks it is
tried again in, and, past the one each is counted with, the tasks a local activity
running longer than about 8 seconds keeps the run's task alive with (a store that
hangs). The budgets' margin below the server's limits absorbs them: a run continues as
new by 4,096 events and 4 MB, where the server only warns at 10,240 events and 10 MB
and stops a run at 51,200 and 50 MB.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import BaseModel
from pydantic_core import to_json

EVENT_BYTES = 512
"""An upper bound of one event's own bytes in the history, its payloads aside: ids,
names, times, the task queue, a retry policy, a payload's metadata and encryption."""
FAILURE_BYTES = 8 * 1024
"""An upper bound of one failure in the history: its message and stack trace."""
SUGGESTED_EVENTS = 4 * 1024
"""Events past which a run continues as new whatever its budget: where the server
suggests it (``limit.historyCount.suggestContinueAsNew``), as runs before this count did."""
SIZE_BUDGET = 4 * 1024 * 1024
"""Bytes past which a run continues as new: where the server suggests it
(``limit.historySize.suggestContinueAsNew``). The event it ends with adds the state it
carries (``incident.limits.STATE_LIMIT``, 1.5 MB) on top."""


class Adds(NamedTuple):
    """What one thing a run does adds to its history: ``events``, and ``bytes`` beyond
    each event's own ``EVENT_BYTES`` and the payloads counted with it."""

    events: int
    bytes: int = 0


TASK = Adds(3)
"""A workflow task: scheduled, started, completed."""
START = Adds(1 + 3)
"""The run's start (its input counted with it) and its first task."""
PATCH = Adds(2)
"""A ``workflow.patched`` id decided in: its marker, and the search attribute the SDK
upserts with it (``TemporalChangeVersion``)."""
ACTIVITY = Adds(3 + 3, 2 * FAILURE_BYTES)
"""An activity: scheduled (its input counted with it), started, completed or failed, and
the task that takes its result (its result counted after it); a retried attempt's failure
in the started event, and its own if it failed."""
LOCAL = Adds(1 + 3)
"""A local activity (its input is not in the history): its marker, with its result (or
``FAILED``), and a task: the one it outlasts (the SDK completes a task every ~8 seconds
while one runs) or the one its result comes in."""
TIMER = Adds(2)
"""A timer: started, then fired or cancelled (``WAKE`` when it fires)."""
WAKE = TASK
"""The task a timer that fired wakes the run in."""
UPDATE = Adds(2 + 3)
"""An update the run accepted: accepted (its input counted with it), completed (its
result counted after it, or ``FAILED``), and the task that brings it. Refused by its
validator it leaves nothing: its task is dropped (a speculative task)."""
SIGNAL = Adds(1 + 3)
"""A signal received (its input counted with it), and the task that takes it."""
CHILD = Adds(2 + 3 + 1 + 3, FAILURE_BYTES)
"""A child workflow: its start initiated (its input counted with it), started, and the
task that takes that; its end (completed, failed, ended by hand) and the task that takes
it. The end carries the campaign's progress, a few counts: bounded as a failure is."""
SIGNAL_OUT = Adds(2 + 3, FAILURE_BYTES)
"""A signal to another workflow: initiated (its input counted with it), then signalled
or failed, and the task that takes that."""
UPSERT = Adds(1)
"""The incident's search attributes upserted (a few short values)."""
END = Adds(1)
"""The run's last event: completed (its state counted with it), or continued as new
(the next run's input)."""
RESULT = Adds(0)
"""A result or input counted on its own, with what brought it."""
FAILED = Adds(0, FAILURE_BYTES)
"""The failure an update or a local activity ended with, where the run saw it."""


def payload_size(value: object) -> int:
    """Bytes of ``value`` as the pydantic converter writes it (JSON)."""
    return len(to_json(value))


class HistoryCount(BaseModel):
    """The events and bytes a run has added to its history, by its own count."""

    events: int = 0
    bytes: int = 0

    def add(self, adds: Adds, *payloads: object) -> None:
        self.events += adds.events
        self.bytes += (
            adds.events * EVENT_BYTES + adds.bytes + sum(payload_size(p) for p in payloads)
        )

    def past(self, budget: int) -> bool:
        """Past the run's ``budget`` of events (or the server's suggestion), or its size."""
        return self.events > min(budget, SUGGESTED_EVENTS) or self.bytes > SIZE_BUDGET
