"""Bounded request bodies: a JSON or form body larger than ``JSON_LIMIT`` is refused
with 413 while it arrives, before it is held in memory or parsed. The subscriber
upload streams to a file under its own limit and is left to its route."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from breachclock.domain.incident.limits import INPUT_LIMIT
from breachclock.domain.problems import problem
from breachclock.web.problems import HttpProblem

JSON_LIMIT = INPUT_LIMIT
"""The largest body a JSON route takes: what one update may carry."""

STREAMED = ("/subscribers",)
"""Routes whose body streams to a file under the upload limit."""


def too_large(limit: int) -> HttpProblem:
    return HttpProblem(413, problem("request.too_large", limit=limit))


class BoundedBodies:
    """ASGI middleware: count a request's body as it is received; past the limit, the
    route's read fails with 413 (the app's handlers answer it as problem details)."""

    def __init__(self, app: ASGIApp, limit: int = JSON_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).endswith(STREAMED):
            await self.app(scope, receive, send)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise too_large(self.limit)
            return message

        await self.app(scope, bounded, send)


def private_pdf(pdf: bytes, name: str) -> Response:
    """A PDF holding personal data (a print batch's letters), as a download nothing
    between may keep: not cached, not stored."""
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
