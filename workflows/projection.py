"""The incident workflow's part in the pages' read model: after each change the loop
projects the state once (``_project``), under a version the workflow counts and carries
over continue-as-new, so the store can keep the newest and ignore repeats and stragglers.

The projection is a local activity: its input (the whole state) is not written into the
history, only a marker of its completion, one event per change. It runs beside the loop,
never holding up a timer or a filing: a projection that fails (the store down) is tried
again after ``RETRY_PROJECTION`` unless a newer change has been projected meanwhile.
The workflow task that carries a change completes once its projection has run, so the
update that made the change answers after the read model has it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import api
    from activities.api import Projection
    from workflows.base import IncidentBase
    from workflows.history import FAILED, LOCAL, TIMER, WAKE


PROJECTED = "project-read-model"
"""``workflow.patched`` id: the loop projects each change into the read model."""
PROJECTION_ATTEMPTS = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1))
RETRY_PROJECTION = timedelta(minutes=1)


class ProjectingIncident(IncidentBase):
    _version: int
    _projecting: int
    """Projections not yet done: the run continues as new only once there are none, so
    the update whose change a projection carries answers after the read model has it."""

    def _project(self, changed: bool) -> None:
        """Project the state, if it ``changed``, as the next version (in the background)."""
        if changed and self._patched(PROJECTED):
            self._background(self._projected(self._next_version()))

    async def _project_last(self) -> None:
        """The closed incident, before the run ends (awaited: its tasks end with it)."""
        if self._patched(PROJECTED):
            await self._projected(self._next_version())

    def _next_version(self) -> int:
        self._version += 1
        self._projecting += 1
        return self._version

    async def _projected(self, version: int) -> None:
        """Project the state as ``version``; after a failure, ask the loop to project
        again later, unless a newer version has gone meanwhile."""
        self._count(LOCAL)
        try:
            await workflow.execute_local_activity(
                api.PROJECT_INCIDENT,
                Projection(version=version, state=self.state),
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=PROJECTION_ATTEMPTS,
            )
            return
        except ActivityError:
            self._count(FAILED)
            workflow.logger.warning(
                "read model not updated", extra={"reference": self.state.reference}
            )
        finally:
            self._projecting -= 1
        self._count(TIMER)
        self._count(WAKE)
        await workflow.sleep(RETRY_PROJECTION)
        if version == self._version:
            self._changed = True

    @workflow.query
    def projection(self) -> Projection:
        """The version last projected, with the state as it is now (for a rebuild: a
        later projection's version is higher, so the live one wins over it)."""
        return Projection(version=self._version, state=self.state)
