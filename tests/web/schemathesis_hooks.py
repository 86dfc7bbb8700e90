"""Schemathesis hooks for tests/web/test_schemathesis.py (loaded by SCHEMATHESIS_HOOKS).

A client gives each new request a new ``Idempotency-Key``; Schemathesis makes up the
same few values for every case, and the API rightly refuses a key reused with another
body (422). Each request sent here gets a fresh key, as a client's would."""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    for name in list(case.headers or {}):
        if name.lower() == "idempotency-key":
            case.headers[name] = uuid.uuid4().hex
