"""Workflows: deterministic orchestration of the incident's clocks and side effects."""
