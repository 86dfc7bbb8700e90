"""The incident workflow's part in the pages' read model: after each change the loop
projects the state once (``_project``), under a version the workflow counts and carries
over continue-as-new, so the store can keep the newest and ignore repeats and stragglers.

The projection is a local activity: its input (the whole state) is not written into the
history, only a marker of its completion, one event per change. A projection that fails
(the store down) does not hold the incident up: the next change projects again, and the
loop comes back to it after ``RETRY_PROJECTION`` if nothing changes meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import api
    from activities.api import Projection
    from workflows.base import IncidentBase


PROJECTED = "project-read-model"
"""``workflow.patched`` id: the loop projects each change into the read model."""
PROJECTION_ATTEMPTS = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1))
RETRY_PROJECTION = timedelta(minutes=1)


class ProjectingIncident(IncidentBase):
    _version: int
    _unprojected: bool

    async def _project(self, changed: bool) -> None:
        """Project the state if it ``changed`` (or the last try failed), as the next version."""
        if not (changed or self._unprojected) or not workflow.patched(PROJECTED):
            return
        self._version += 1
        try:
            await workflow.execute_local_activity(
                api.PROJECT_INCIDENT,
                Projection(version=self._version, state=self.state),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=PROJECTION_ATTEMPTS,
            )
        except ActivityError:
            workflow.logger.warning(
                "read model not updated", extra={"reference": self.state.reference}
            )
            self._unprojected = True
            return
        self._unprojected = False

    def _projection_wake(self, wake: datetime | None) -> datetime | None:
        """When the loop must wake at the latest: soon, while a projection is owed."""
        if not self._unprojected:
            return wake
        retry = workflow.now() + RETRY_PROJECTION
        return retry if wake is None else min(wake, retry)

    @workflow.query
    def projection(self) -> Projection:
        """The version last projected, with the state as it is now (for a rebuild: a
        later projection's version is higher, so the live one wins over it)."""
        return Projection(version=self._version, state=self.state)
