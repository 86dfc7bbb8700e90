"""The search attributes the engine registers on its namespace: what ``list`` and
``temporal workflow list --query`` see. Only the state, regime and deadlines: they are
stored unencrypted on the server, so nothing about a person goes here (the reference is
in the workflow id)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STATE = SearchAttributeKey.for_keyword("IncidentState")
REGIME = SearchAttributeKey.for_keyword("IncidentRegime")
INITIAL_DUE = SearchAttributeKey.for_datetime("InitialReportDue")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
ALL_KEYS = (STATE, REGIME, INITIAL_DUE, NEXT_DEADLINE)
