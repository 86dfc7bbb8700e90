"""Server-sent events: an open page is told within a second or two that what it shows
has changed (a filing went, someone acknowledged, a campaign moved), and fetches its
live parts again.

Each open page's stream looks once a second (``LOOK``) at what the page shows through
the same service read the page itself makes, and sends an event when that changed.
A stream ends after ``LIFE``; the browser's ``EventSource`` reconnects by itself, so
a page left open does not hold a connection and a loop for ever.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

LOOK = 1.0
"""Seconds between two looks at what a page shows."""
LIFE = 300.0
"""Seconds a stream lasts before the browser reconnects."""


def fingerprint(shown: Any) -> str:
    text = json.dumps(shown, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def changes(request: Request, probe: Callable[[], Awaitable[Any]]) -> StreamingResponse:
    """A stream of ``change`` events, one each time ``probe``'s answer changes."""

    async def events() -> AsyncIterator[str]:
        yield f"retry: {int(LOOK * 1000)}\n\n"
        last: str | None = None
        ends = time.monotonic() + LIFE
        while time.monotonic() < ends and not await request.is_disconnected():
            now: str | None
            try:
                now = fingerprint(await probe())
            except Exception:  # a failed look is tried again; the page stays as it is
                now = last
            if now != last:  # the first look too: what changed since the page was made
                yield f"event: change\ndata: {now}\n\n"
            last = now
            await asyncio.sleep(LOOK)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
