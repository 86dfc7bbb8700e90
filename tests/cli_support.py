"""Helpers for tests that run the project's own programs as subprocesses."""

from __future__ import annotations

from temporalio.testing import WorkflowEnvironment


def address(env: WorkflowEnvironment) -> str:
    """host:port of a test server, for a subprocess's TEMPORAL_ADDRESS."""
    return str(env.client.service_client.config.target_host)
