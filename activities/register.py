"""Writing a closed incident into the operator's own register."""

from __future__ import annotations

from temporalio import activity

from breachclock.domain.incident.model import IncidentState
from breachclock.runtime.store.records import RecordStore


class RegisterActivities:
    def __init__(self, store: RecordStore) -> None:
        self.store = store

    @activity.defn
    async def register_incident(self, state: IncidentState) -> None:
        assert state.closure is not None, "only closed incidents are registered"
        await self.store.register(state.reference, state.closure.at, state.model_dump_json())
