"""What every API route shares: who is asking and may they (the guards), the request's
body read as the domain's input model, and the ``Idempotency-Key`` that makes a retried
write the same write.

A body is declared to FastAPI as the domain model without the fields the server fills
(who acted: the signed-in principal, never the body), so the OpenAPI document shows
what a client sends and a missing or mistyped field is 422 with its pointer. It is then
read again by ``Engine.parse``, with the operator's zone, as the CLI reads it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, create_model

from breachclock.domain.catalogue import Voice
from breachclock.domain.problems import problem
from breachclock.service.engine import Engine, Invalid
from breachclock.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Action,
    Auth,
    Principal,
    check_csrf,
)
from breachclock.web.problems import HttpProblem, language_of
from workflows.messages import Answer

T = TypeVar("T", bound=BaseModel)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def auth_of(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


BEARER = HTTPBearer(auto_error=False, description="An API token (``/api/tokens``).")
SESSION = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The console's session (a browser)."
)
"""How a caller proves who it is, declared in the OpenAPI document (each route's
``security``); ``Auth.principal`` reads them, so these declare and do not check."""


async def signed_in(
    request: Request,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    _session: Annotated[str | None, Security(SESSION)],
) -> Principal:
    who = await auth_of(request).principal(request)
    if who is None:
        raise HttpProblem(401, problem("auth.sign_in"))
    return who


def allowed(
    action: Action, audit: str | None = None
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A route's guard: signed in, the role allows ``action``, a browser's write carries
    its CSRF token; the request goes in the audit log as ``audit`` (and its incident)."""

    async def guard(request: Request, who: Annotated[Principal, Depends(signed_in)]) -> Principal:
        if not who.may(action):
            raise HttpProblem(403, problem("auth.role_forbids", role=who.role.value))
        if request.method not in ("GET", "HEAD"):
            sent = request.headers.get(CSRF_HEADER)
            if sent is None and who.csrf is not None and _is_form(request):
                field = (await request.form()).get(CSRF_FIELD)
                sent = field if isinstance(field, str) else None
            check_csrf(who, sent)
        if audit is not None:
            reference = request.path_params.get("reference")
            await auth_of(request).record(who, request, audit, reference)
        return who

    return guard


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


Reader = Annotated[Principal, Depends(allowed(Action.READ, "read"))]
Responder = Annotated[Principal, Depends(allowed(Action.RESPOND, "change"))]
Manager = Annotated[Principal, Depends(allowed(Action.MANAGE, "change"))]
Agent = Annotated[Principal, Depends(allowed(Action.CALL))]
Lister = Annotated[Principal, Depends(allowed(Action.READ, "list"))]
Intake = Annotated[Principal, Depends(allowed(Action.INTAKE))]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="The same key with the same body is the same write: answered as the "
        "first, done once. The same key with another body is refused (422).",
    ),
]


def request_model(model: type[BaseModel], *filled: str) -> type[BaseModel]:
    """``model`` as a client sends it: without the fields the server ``filled`` (who
    acted). Its checks are structural; the domain model's own rules run in ``parse``."""
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in model.model_fields.items()
        if name not in filled
    }
    derived: type[BaseModel] = create_model(
        f"{model.__name__}Request",
        __config__=model.model_config,
        __doc__=model.__doc__,
        **fields,
    )
    return derived


async def body_of(request: Request) -> dict[str, Any]:
    """The request's JSON object as sent (FastAPI has read and checked it already)."""
    data = await request.json()
    return data if isinstance(data, dict) else {}


async def parse(request: Request, model: type[T], **filled: Any) -> T:
    """The body as the domain's ``model``, with the server's ``filled`` fields, read in
    the operator's zone (refused as ``Invalid``: 422)."""
    return engine_of(request).parse(model, **{**await body_of(request), **filled})


@asynccontextmanager
async def keyed(request: Request, key: str | None) -> AsyncIterator[Engine]:
    """The engine, with the request's ``Idempotency-Key`` as its updates' id. A key is
    remembered with the body it first came with: the same key with another body is
    refused (the first answer would silently stand for a different request)."""
    engine = engine_of(request)
    if key is not None:
        scope = hashlib.sha256(f"{request.url.path}\0{key}".encode()).hexdigest()
        body = hashlib.sha256(canonical(await request.body())).hexdigest()
        first = await auth_of(request).store.request_body(scope, body, datetime.now(UTC))
        if first != body:
            raise Invalid(problem("request.key_reused"))
    with engine.keyed(key):
        yield engine


def canonical(body: bytes) -> bytes:
    """A JSON body with its keys sorted and no spacing, so the same request re-sent by
    another client library is the same body."""
    try:
        return json.dumps(json.loads(body or b"null"), sort_keys=True).encode()
    except (ValueError, RecursionError):
        return body


class Message(BaseModel):
    """An update's answer: a line in the caller's language, and its code for a program."""

    message: str
    code: str | None = None

    @classmethod
    def of(cls, answer: Answer, request: Request) -> Message:
        if answer.said is None:
            return cls(message=answer.message)
        return cls(message=answer.said.words(Voice(language_of(request))), code=answer.said.code)
