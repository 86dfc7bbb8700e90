"""What every part of the incident workflow shares: its state, the record it keeps
(``_note``), the budget every input must fit, and how background work is tracked so
that the run knows what is in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from breachclock.domain.incident.limits import (
        KEPT_PAGES,
        STATE_LIMIT,
        json_size,
        too_big,
    )
    from breachclock.domain.incident.model import (
        EntryKind,
        IncidentState,
        TimelineEntry,
        Track,
    )
    from breachclock.domain.instants import zone
    from breachclock.domain.regimes import RegimeCode


def reject(message: str) -> NoReturn:
    raise ApplicationError(message, type="Rejected", non_retryable=True)


def given(arg: object) -> None:
    """An SDK client's None reaches a validator as None, unconverted: refuse it plainly."""
    if arg is None:
        reject("no input given: the update takes a JSON object with its fields")


class IncidentBase:
    state: IncidentState
    _ready: bool
    _in_flight: set[str]
    _tasks: set[asyncio.Task[None]]
    _changed: bool
    _engine_notes: int

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

    # ------------------------------------------------------------- helpers

    @property
    def _zone(self) -> ZoneInfo:
        return zone(self.state.policy.operator_zone)

    def _open_only(self) -> None:
        if self.state.closure is not None:
            reject(f"incident {self.state.reference} is closed")

    async def _started(self) -> None:
        """Input that arrives while the workflow still asks the engine for its policy
        waits for it (its validator already accepted it)."""
        await workflow.wait_condition(lambda: self._ready)

    def _fits(self, adding: BaseModel, what: str) -> None:
        """Refuse input that would take the state past its budget (``incident.limits``)."""
        problem = too_big(json_size(self.state), json_size(adding), what)
        if problem:
            reject(problem)

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
            e
            for e in self.state.timeline
            if not (e.kind is EntryKind.ENGINE and e.what.startswith("paged ("))
        ]
