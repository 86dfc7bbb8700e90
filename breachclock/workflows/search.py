"""Search attributes: what ``list`` and ``temporal workflow list --query`` see.

Only the reference (in the id), state, regime and deadlines: these are stored
unencrypted on the server, so nothing about a person goes here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

from breachclock.incident import lifecycle
from breachclock.incident.model import IncidentState
from breachclock.incident.regimes import regime

STATE = SearchAttributeKey.for_keyword("IncidentState")
REGIME = SearchAttributeKey.for_keyword("IncidentRegime")
INITIAL_DUE = SearchAttributeKey.for_datetime("InitialReportDue")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
ALL_KEYS = (STATE, REGIME, INITIAL_DUE, NEXT_DEADLINE)


def next_deadline(state: IncidentState) -> datetime | None:
    """The earliest deadline not yet met, over every regulator's clocks."""
    if state.closure:
        return None
    dues = []
    for track in state.tracks:
        stage = lifecycle.current_stage(track)
        if stage is None or track.awaiting_final:
            continue
        due = lifecycle.stage_due(track, stage)
        if due is not None:
            dues.append(due)
    return min(dues, default=None)


def initial_due(state: IncidentState) -> datetime | None:
    main = state.track()
    if main is None:
        return None
    first = regime(main.regime).stages[0]
    return lifecycle.stage_due(main, first)


def attributes(state: IncidentState) -> TypedSearchAttributes:
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(STATE, state.state_label),
        SearchAttributePair(REGIME, state.regime.value),
    ]
    for key, value in ((INITIAL_DUE, initial_due(state)), (NEXT_DEADLINE, next_deadline(state))):
        if value is not None:
            pairs.append(SearchAttributePair(key, value))
    return TypedSearchAttributes(pairs)


def publish(state: IncidentState) -> None:
    """Upsert the attributes that changed (each upsert is a history event)."""
    wanted = attributes(state)
    current = workflow.info().typed_search_attributes
    updates: list[SearchAttributeUpdate[Any]] = []
    for key in ALL_KEYS:
        typed: SearchAttributeKey[Any] = key
        value = wanted.get(typed)
        if current.get(typed) != value:
            updates.append(typed.value_set(value) if value is not None else typed.value_unset())
    if updates:
        workflow.upsert_search_attributes(updates)
