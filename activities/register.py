"""Writing a closed incident into the operator's own register."""

from __future__ import annotations

from temporalio import activity

from activities.api import REGISTER_INCIDENT
from breachclock.domain.incident.model import IncidentState
from breachclock.runtime.store.records import RecordStore


class RegisterActivities:
    def __init__(self, store: RecordStore) -> None:
        self.store = store

    @activity.defn(name=REGISTER_INCIDENT)
    async def register_incident(self, state: IncidentState) -> None:
        assert state.closure is not None, "only closed incidents are registered"
        await self.store.register(state.reference, state.closure.at, state.model_dump_json())
