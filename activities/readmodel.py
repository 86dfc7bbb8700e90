"""Keeping the pages' read model: an incident's state, projected after each change."""

from __future__ import annotations

from temporalio import activity

from activities.api import PROJECT_INCIDENT, Projection
from breachclock.runtime.store.readmodel import ReadModel


class ReadModelActivities:
    def __init__(self, read_model: ReadModel) -> None:
        self.read_model = read_model

    @activity.defn(name=PROJECT_INCIDENT)
    async def project_incident(self, projection: Projection) -> None:
        """Idempotent: a retry, or a version older than the one kept, changes nothing."""
        await self.read_model.project(projection.version, projection.state)
