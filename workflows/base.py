"""What every part of the incident workflow shares: its state, the record it keeps
(``_note``), the budget every input must fit, and how background work is tracked so
that the run knows what is in flight."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

if TYPE_CHECKING:
    from workflows.clock import DecisionClock

with workflow.unsafe.imports_passed_through():
    from breachclock.domain.catalogue import Voice
    from breachclock.domain.incident import checks
    from breachclock.domain.incident.limits import (
        KEPT_PAGES,
        STATE_LIMIT,
        json_size,
        too_big,
    )
    from breachclock.domain.incident.model import (
        EntryKind,
        Filing,
        IncidentState,
        TimelineEntry,
        Track,
    )
    from breachclock.domain.instants import zone
    from breachclock.domain.problems import Problem, Said, problem
    from breachclock.domain.regimes import RegimeCode
    from breachclock.runtime import metrics
    from workflows.history import FAILED, PATCH, RESULT, UPDATE, Adds, HistoryCount


REJECTED = "Rejected"
"""The ``ApplicationError`` type of a validator's refusal; its details are the problems."""


DECIDED_AT_START = "patches-decided-at-start"
"""``workflow.patched`` id: this run took every path the patches below guard, decided in
the workflow task that started it (``IncidentBase._patched``)."""
NOTIFY_PLANS = "notify-plans"
"""``workflow.patched`` id: a decision may choose the notification plan (an SMS step);
runs started before it keep the first engine's calls and e-mails."""


PORTAL_FILING = "portal-filing"
"""``workflow.patched`` id: a track of a regime that takes filings on a portal is filed
there by a person, who records the receipt (``workflows.portal``)."""
BUDGET_IN_HANDLER = "budget-checked-in-handler"
"""``workflow.patched`` id: an update's input is measured against the state's budget in
its handler too, not only in its validator (``IncidentBase._started``)."""
DECISION_CLOCK = "incident-decision-clock"
"""``workflow.patched`` id: steps fall due by the run's ``DecisionClock``, never by
``workflow.now()`` (``workflows.clock`` says why)."""


FILES_AT_DEADLINE = "files-at-deadline"
"""``workflow.patched`` id: a follow-up due with facts missing and no justification is
filed at its deadline with what is known (``FilingKind.AT_DEADLINE``); runs before it
only paged, and nothing reached the regulator."""
CONTAINMENT_WAIT_BOUND = "containment-wait-bound"
"""``workflow.patched`` id: notice that waits for containment is escalated when the wait
reaches the policy's ``containment_wait`` (runs before it waited without a bound)."""
OWN_COUNT = "incident-own-history-count"
"""``workflow.patched`` id: the run continues as new by its own count of the events and
bytes it adds (``workflows.history``), never by the history length or the server's
suggestion, which a worker that runs a task's events early to answer a query sees
smaller than replay does (runs before it decided by them)."""

LOCAL_PAGES = "pages-local"
"""``workflow.patched`` id: a page goes as a local activity from the workflow task its
timer wakes, and counts as sent at the relay's acceptance where that is later than the
task's start. Runs before it scheduled an activity task and recorded its result in a
task of its own: two more trips through the server between the timer and the mail.
Filings stay activity tasks: their layout queues under load, and a local activity holds
its workflow task (and the worker's slot for it) while it waits (with 10,000 incidents
falling due, tasks ran over 5 s); a filing a person approved is the exception
(``LOCAL_APPROVED_FILINGS``)."""

SENT_AT_ACCEPTANCE = "sent-at-acceptance"
"""``workflow.patched`` id: a page or filing counts as sent at the relay's acceptance
wherever it went from (the worker's clock), never before the start of the task that sent
it or scheduled its activity (``IncidentWorkflow._sent_at``). Runs before it took the acceptance only for a
send made from the task itself; one sent by activity task counted as sent when the next
task recorded it: with 1,000 incidents falling due, 31 ms after the relay took it
(median; 49 ms p99), and a filing the relay took just in time could be recorded late."""

ALARM_KEPT = "alarm-kept"
"""``workflow.patched`` id: the loop's timer is left running while the step it is set
toward is still the next one (``workflows.alarm``). Runs before it cancelled the timer
and started another at every wake-up: two events each, and a cancel that strands the
run on the time-skipping test server when the timer fired meanwhile."""

LOCAL_APPROVED_FILINGS = "approved-filings-local"
"""``workflow.patched`` id: a filing a person approved goes as a local activity from the
task that takes the approval, and counts as sent at the relay's acceptance where that is
later than the task's start, as a page does (``LOCAL_PAGES``). The manager waits for the
answer on the screen; two trips through the server took a sixth of it (approve to the
mail accepted, alternating: median 82-84 ms by activity task, 70-71 ms from the task;
p95 92-98 and 86-93 ms). Approvals come one person at a time; filings made at a
deadline, which can fall due by the thousand, stay activity tasks. Runs before it
scheduled an activity task for every filing."""


ENGLISH = Voice("en")
"""How the engine writes its own entries' ``what`` (the reader's language comes from ``code``)."""


def is_page_entry(entry: TimelineEntry) -> bool:
    """An entry recording a page (what compaction drops first)."""
    if entry.code is not None:
        return entry.code.startswith("timeline.paged")
    return entry.what.startswith("paged (")


def reject(*problems: Problem) -> NoReturn:
    """Refuse an update: its message in English (for the Temporal CLI and logs), the
    problems themselves as the failure's details, for every surface to word."""
    raise ApplicationError(
        "; ".join(p.words(ENGLISH) for p in problems),
        *[p.model_dump(mode="json") for p in problems],
        type=REJECTED,
        non_retryable=True,
    )


def refuse_if(*found: Problem | None) -> None:
    """Refuse with every problem found; go ahead when there is none."""
    problems = [p for p in found if p is not None]
    if problems:
        reject(*problems)


Incident = TypeVar("Incident", bound="IncidentBase")
Arg = TypeVar("Arg")
Result = TypeVar("Result")


def counted(
    handler: Callable[[Incident, Arg], Coroutine[Any, Any, Result]],
) -> Callable[[Incident, Arg], Coroutine[Any, Any, Result]]:
    """An update handler whose update the run counts in its history (``workflows.history``):
    its events and input, then its result or failure. Put under ``@workflow.update``."""

    @functools.wraps(handler)
    async def update(self: Incident, arg: Arg) -> Result:
        self._count(UPDATE, arg)
        try:
            result = await handler(self, arg)
        except Exception:
            self._count(FAILED)
            raise
        self._count(RESULT, result)
        return result

    return update


def given(arg: object) -> None:
    """An SDK client's None reaches a validator as None, unconverted: refuse it plainly."""
    if arg is None:
        reject(problem("input.none"))


class IncidentBase:
    state: IncidentState
    _ready: bool
    _in_flight: set[str]
    _tasks: set[asyncio.Task[None]]
    _changed: bool
    _engine_notes: int
    _current: bool = False
    _plans: bool = False
    _portal: bool = False
    _clocked: bool = False
    _budget_in_handler: bool = False
    _clock: DecisionClock
    """Made in ``__init__``, the run's first task (an update may come before ``run``)."""
    _at_deadline: bool = False
    _wait_bound: bool = False
    _counted: bool = False
    _local_pages: bool = False
    _local_approved: bool = False
    _at_acceptance: bool = False
    _keeps_alarm: bool = False
    _history: HistoryCount
    """What this run has added to its history, by its own count (made in ``__init__``)."""

    def _decide_patches(self) -> None:
        """First thing in the run. A patch the first engine decided later, after the
        policy's local activity, replay could not always follow: queries arriving while
        that activity runs can close the workflow task with only its marker, so the code
        after it ran in the next task, where the patch's marker was written; replay knows
        the activity's result from its marker at once and runs that code a task early,
        before it is told of the patch. A new patch is therefore decided here too."""
        self._current = workflow.patched(DECIDED_AT_START)
        self._plans = workflow.patched(NOTIFY_PLANS)
        self._portal = workflow.patched(PORTAL_FILING)
        self._clocked = workflow.patched(DECISION_CLOCK)
        self._budget_in_handler = workflow.patched(BUDGET_IN_HANDLER)
        # Never silent at a deadline: the follow-up filed at the 3-day mark, and the wait
        # for containment before notice bounded.
        self._at_deadline = workflow.patched(FILES_AT_DEADLINE)
        self._wait_bound = workflow.patched(CONTAINMENT_WAIT_BOUND)
        # Continued as new by its own count, which starts with these patches' markers.
        self._counted = workflow.patched(OWN_COUNT)
        self._local_pages = workflow.patched(LOCAL_PAGES)
        self._local_approved = workflow.patched(LOCAL_APPROVED_FILINGS)
        self._at_acceptance = workflow.patched(SENT_AT_ACCEPTANCE)
        self._keeps_alarm = workflow.patched(ALARM_KEPT)
        decided = (
            self._current,
            self._plans,
            self._portal,
            self._clocked,
            self._budget_in_handler,
            self._at_deadline,
            self._wait_bound,
            self._counted,
            self._local_pages,
            self._local_approved,
            self._at_acceptance,
            self._keeps_alarm,
        )
        self._count(Adds(PATCH.events * sum(decided)))

    def _patched(self, first_engine_patch: str) -> bool:
        """Whether to take the path ``first_engine_patch`` guards: always, in a run that
        decided at its start; in a run that did not, as the first engine decided it.
        Only for the patches that existed when ``DECIDED_AT_START`` came (read model,
        filing retry in the state, pages after filing, late-reason supplement, staged
        pages, campaign end signal): a later one is decided in ``_decide_patches``."""
        return self._current or workflow.patched(first_engine_patch)

    def _count(self, adds: Adds, *payloads: object) -> None:
        """Count what the run adds to its history: ``adds``, with ``payloads`` in it."""
        self._history.add(adds, *payloads)

    def _track_work(self, key: str, work: Coroutine[Any, Any, None]) -> None:
        self._in_flight.add(key)

        async def tracked() -> None:
            try:
                await work
            finally:
                self._in_flight.discard(key)
                self._changed = True

        self._background(tracked())

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)  # a reference, so the task is not collected mid-flight
        task.add_done_callback(self._tasks.discard)

    def _measure_filing(self, index: int, filing: Filing) -> None:
        """Count the filing; for the main track's first, the time since awareness."""
        meter = workflow.metric_meter()
        filings = metrics.FILINGS
        meter.create_counter(filings.name, filings.description, filings.unit).add(
            1, {"regime": filing.regime.value, "kind": filing.kind.value, "late": filing.late}
        )
        discovery = self.state.discovery
        first = not any(f.regime == filing.regime for f in self.state.filings)
        if index == 0 and first and discovery is not None:
            first_filing = metrics.FIRST_FILING
            meter.create_histogram_float(
                first_filing.name, first_filing.description, first_filing.unit
            ).record(
                (filing.sent_at - discovery.at).total_seconds(),
                {"regime": filing.regime.value, "kind": filing.kind.value},
            )

    # ------------------------------------------------------------- helpers

    @property
    def _zone(self) -> ZoneInfo:
        return zone(self.state.policy.operator_zone)

    def _open_only(self) -> None:
        refuse_if(checks.open_problem(self.state))

    async def _started(self, adding: BaseModel | None = None) -> None:
        """Input that arrives while the workflow still asks the engine for its policy
        waits for it (its validator already accepted it). Every update starts here, in
        the task that brought it: the decision clock moves to that task's time.

        ``adding`` is measured against the budget again: updates validated in one task
        each saw the state before the others, so ten at once could take it past its
        limit (a record must stay well inside Temporal's payload limit)."""
        self._clock.advance(workflow.now())
        await workflow.wait_condition(lambda: self._ready)
        if adding is not None and self._budget_in_handler:
            self._fits(adding)

    def _fits(self, adding: BaseModel) -> None:
        """Refuse input that would take the state past its budget (``incident.limits``)."""
        refuse_if(too_big(json_size(self.state), json_size(adding)))

    def _track_for(self, code: RegimeCode | None) -> Track:
        refuse_if(checks.track_problem(self.state, code))
        track = self.state.track(code)
        assert track is not None
        return track

    def _note(
        self,
        at: datetime,
        what: Said | str,
        by: str | None,
        how: str = "recorded by breachclock",
        kind: EntryKind = EntryKind.RECORD,
    ) -> None:
        """Record an entry: ``what`` the engine says (a ``Said``, worded for each reader),
        or a person's own words for an event they add."""
        entry = TimelineEntry(
            at=at,
            what=what.words(ENGLISH) if isinstance(what, Said) else what,
            by=by,
            how_established=how,
            recorded_at=workflow.now(),
            kind=kind,
            code=what.code if isinstance(what, Said) else None,
            params=what.params if isinstance(what, Said) else {},
        )
        self.state.timeline.append(entry)
        self._changed = True
        if kind is EntryKind.ENGINE:
            self._engine_notes += 1
            if self._engine_notes % 50 == 0 and json_size(self.state) > STATE_LIMIT:
                self._compact()

    def _compact(self) -> None:
        """Past the state's limit the engine drops its oldest records of pages (the
        timeline's notes of them, and all but the last ``KEPT_PAGES`` pages); the
        incident's own steps, filings and people's records all stay."""
        pages = self.state.pages
        dropped = len(pages) - KEPT_PAGES
        if dropped <= 0:
            return
        self.state.pages = pages[dropped:]
        self.state.pages_dropped += dropped
        self.state.timeline = [
            e for e in self.state.timeline if not (e.kind is EntryKind.ENGINE and is_page_entry(e))
        ]
