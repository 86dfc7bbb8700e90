"""A span for each HTTP request, so a request's trace runs on through the Temporal
client's interceptor into the workflow, its activities and the SMTP conversation.

Named and labelled by the route's template (``POST /api/incidents/{reference}/approvals``),
never the path as sent, its query or its headers: a path can name a person (``/people/{id}``).
A caller's W3C ``traceparent`` is continued.
"""

from __future__ import annotations

from opentelemetry import propagate
from opentelemetry.trace import NoOpTracer, SpanKind, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class TracedRequests:
    """ASGI middleware: one server span per HTTP request (none with a no-op tracer)."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or isinstance(self.tracer, NoOpTracer):
            await self.app(scope, receive, send)
            return
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method = str(scope["method"])
        with self.tracer.start_as_current_span(
            method,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.scheme": str(scope["scheme"])},
        ) as span:

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", int(message["status"]))
                await send(message)

            try:
                await self.app(scope, receive, sending)
            finally:
                route = template(scope)
                if route is not None:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)


def template(scope: Scope) -> str | None:
    """The matched route's template with every router's prefix
    (``/api/incidents/{reference}``): FastAPI keeps it on the route context it matched;
    the route object it leaves in the scope knows only its own router's part."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else None
