"""Facts for the tests: a complete report, and the same without its root cause."""

from __future__ import annotations

from typing import Any

from breachclock.domain.incident.model import Facts

ROOT_CAUSE: dict[str, Any] = {
    "root_cause": "mistake",
    "root_cause_detail": "a missing flag was mapped to 'publish'",
}

ALL_BUT_ROOT_CAUSE: dict[str, Any] = {
    "occurred": {
        "at": "2025-11-25T02:00:00+01:00",
        "how": "estimate: migration date in the change log",
    },
    "affected_count": 3300,
    "breach_types": ["disclosure"],
    "circumstances": "a migration program set 'publish' on secret numbers",
    "services": ["mobile"],
    "data_kinds": ["secret numbers", "addresses"],
    "systems": ["customer database"],
    "location_and_media": "data centre, export files",
    "subscriber_effect": "numbers findable in directories",
    "potential_consequences": "unwanted contact",
    "measures_taken": [{"what": "removal requested", "on": "2026-01-10"}],
    "measures_planned": [],
    "other_providers": "none",
    "cross_border": "none",
    "subscriber_notice": {
        "notified": True,
        "means": "telephone then e-mail",
        "notified_count": 3300,
    },
}

COMPLETE: dict[str, Any] = {**ALL_BUT_ROOT_CAUSE, **ROOT_CAUSE}

OUTSIDE_SERVICE = Facts(in_communications_service=False)
