"""The incident's search attributes kept up to date (``runtime.search_attributes``
says which there are; the domain says what the next deadline is)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

from breachclock.domain.incident.lifecycle import initial_due, next_deadline
from breachclock.domain.incident.model import IncidentState
from breachclock.runtime.search_attributes import (
    ALL_KEYS,
    INITIAL_DUE,
    NEXT_DEADLINE,
    REGIME,
    STATE,
)


def attributes(state: IncidentState) -> TypedSearchAttributes:
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(STATE, state.state_label),
        SearchAttributePair(REGIME, state.regime.value),
    ]
    for key, value in ((INITIAL_DUE, initial_due(state)), (NEXT_DEADLINE, next_deadline(state))):
        if value is not None:
            pairs.append(SearchAttributePair(key, value))
    return TypedSearchAttributes(pairs)


def publish(state: IncidentState) -> bool:
    """Upsert the attributes that changed (each upsert is a history event); whether any did."""
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
    return bool(updates)
