"""What the engine itself knows, asked by workflows as activities: its configuration,
and how a campaign's workflow stands on the server."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.api import CAMPAIGN_END, POLICY, CampaignEnd
from breachclock.domain.incident.model import Policy

ENDED_WITHOUT_FINISHING = {
    WorkflowExecutionStatus.TERMINATED: "Terminated",
    WorkflowExecutionStatus.CANCELED: "Cancelled",
    WorkflowExecutionStatus.FAILED: "Failed",
    WorkflowExecutionStatus.TIMED_OUT: "Timed out",
}


class EngineActivities:
    def __init__(self, client: Client, policy: Policy) -> None:
        self.client = client
        self._policy = policy

    @activity.defn(name=POLICY)
    async def policy(self) -> Policy:
        """The engine's configuration as it decides a new incident's policy: the worker's
        settings, read when the incident's workflow starts (not the client's)."""
        return self._policy

    @activity.defn(name=CAMPAIGN_END)
    async def campaign_end(self, workflow_id: str) -> CampaignEnd:
        try:
            described = await self.client.get_workflow_handle(workflow_id).describe()
        except RPCError as err:
            if err.status is RPCStatusCode.NOT_FOUND:
                return CampaignEnd(failure="its workflow is gone from the server")
            raise
        return CampaignEnd(failure=ENDED_WITHOUT_FINISHING.get(described.status))  # type: ignore[arg-type]
