"""Workflow ids: they carry the incident's reference only (they are not encrypted)."""

from __future__ import annotations

INCIDENT_PREFIX = "incident-"


def workflow_id(reference: str) -> str:
    """The incident's workflow: one per reference, whatever runs it continued as."""
    return f"{INCIDENT_PREFIX}{reference}"


def campaign_id(reference: str, wave: int) -> str:
    """One notification campaign (wave) of an incident."""
    return f"campaign-{reference}-{wave}"
