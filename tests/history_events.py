"""Reading a workflow history's events where the SDK's core leaves its own format."""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.enums.v1 import EventType

LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""The marker the SDK's core records a local activity's result in; its ``data`` detail
is JSON that names the activity's type."""


def local_activity_type(event: Any) -> str | None:
    """The activity type of a local activity's marker (None: another event)."""
    if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
        return None
    attributes = event.marker_recorded_event_attributes
    if attributes.marker_name != LOCAL_ACTIVITY_MARKER:
        return None
    data = json.loads(attributes.details["data"].payloads[0].data)
    return data.get("activity_type")  # type: ignore[no-any-return]
