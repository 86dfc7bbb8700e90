"""A codec server: decoded payloads for the Temporal UI and ``temporal --codec-endpoint``.

Payloads reach the Temporal server sealed (``breachclock.runtime.codec``); people allowed to
read them point the UI or the CLI here, and this server opens them with the same keys::

    BREACHCLOCK_CODEC_SERVER_TOKEN=… python -m breachclock.runtime.codec_server
    temporal workflow show -w incident-INC-2026-001 \\
        --codec-endpoint http://127.0.0.1:8888 --codec-auth "Bearer …"

``POST /encode`` and ``POST /decode`` take and return ``{"payloads": [{"metadata":
{k: base64}, "data": base64}, …]}`` (also under ``/codec/``, for an ingress that puts
the server on the console's host). A request is answered for

- ``Authorization: Bearer <BREACHCLOCK_CODEC_SERVER_TOKEN>`` (the CLI's ``--codec-auth``);
  without a configured token the server does not start;
- ``Authorization: Bearer <an API token>`` of a manager or auditor (the console's tokens;
  the Temporal UI's "pass access token");
- the console's session cookie of a signed-in manager or auditor: the Temporal UI sends
  it with "include cross-origin credentials" (``TEMPORAL_CODEC_INCLUDE_CREDENTIALS``)
  when the codec server is on the console's host (cookies are per host, not per port).

Anyone else gets 401, so the UI shows them ciphertext. Browsers may call it from the
Temporal UI's origins only: ``BREACHCLOCK_CODEC_SERVER_ORIGIN``, by default the embedded
UI's on ``BREACHCLOCK_UI_PORT``. It listens on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from cryptography.exceptions import InvalidTag
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from breachclock.runtime import logs
from breachclock.runtime.codec import CodecDataError, CodecKeyError
from breachclock.runtime.config import Settings, settings_or_exit
from breachclock.runtime.store import AccountStore, open_account_store

DEFAULT_HOST = "127.0.0.1"
PREFIXES = ("", "/codec")
SESSION_COOKIE = "bc_session"
"""The console's session cookie (``breachclock.web.auth.SESSION_COOKIE``)."""
DECODE_ROLES = frozenset({"manager", "auditor"})
"""Who may read decoded payloads (personal data): those who may read everything in the
console. An on-call or agent account sees ciphertext."""
SECRET_LIMIT = 512
"""A bearer token or cookie longer than this is nobody's (and is not looked up)."""
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"
ALLOWED_METHODS = "POST, OPTIONS"
# Temporal limits one payload to 2 MiB; the UI sends a whole history's worth at once.
MAX_BODY = 64 * 1024 * 1024

# Protobuf's JSON form of bytes: base64, standard or URL-safe, padding optional.
BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
BAD_BODY = 'the body must be JSON {"payloads": [{"metadata": {k: base64}, "data": base64}, …]}'

_TOKEN = web.AppKey("token", bytes)
_ORIGINS = web.AppKey("origins", frozenset[str])
_ACCOUNTS = web.AppKey("accounts", AccountStore)

Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


class NoTokenError(RuntimeError):
    """The codec server was asked to start without a bearer token."""


def _origins(origin: str) -> frozenset[str]:
    """One origin, or several separated by commas; a trailing slash is not part of one."""
    return frozenset(o.strip().rstrip("/") for o in origin.split(",") if o.strip())


def _cors_headers(request: web.Request) -> dict[str, str]:
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None or origin not in request.app[_ORIGINS]:
        return {}
    return {
        hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: origin,
        hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS: "true",
        hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ALLOWED_HEADERS,
        hdrs.ACCESS_CONTROL_ALLOW_METHODS: ALLOWED_METHODS,
        hdrs.ACCESS_CONTROL_MAX_AGE: "600",
    }


async def _authorised(request: web.Request) -> bool:
    """The codec server's token, or a manager's or auditor's API token or session."""
    accounts = request.app.get(_ACCOUNTS)
    scheme, _, given = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    given = given.strip()
    if scheme.lower() == "bearer" and given and len(given) <= SECRET_LIMIT:
        if hmac.compare_digest(given.encode(), request.app[_TOKEN]):
            return True
        if accounts is not None:
            found = await accounts.token(given, datetime.now(UTC), request.remote or "unknown")
            return found is not None and found.role in DECODE_ROLES
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if accounts is None or not cookie or len(cookie) > SECRET_LIMIT:
        return False
    session = await accounts.session(cookie, datetime.now(UTC))
    return session is not None and session.role in DECODE_ROLES


def _text(status: int, message: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", headers=headers)


@web.middleware
async def _cors_and_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    cors = _cors_headers(request)
    response: web.StreamResponse
    if request.method == hdrs.METH_OPTIONS and request.headers.get(hdrs.ORIGIN) and not cors:
        response = _text(403, "origin not allowed")
    elif request.method != hdrs.METH_OPTIONS and not await _authorised(request):
        # A preflight carries no credentials; everything else must.
        response = _text(401, "unauthorized", **{hdrs.WWW_AUTHENTICATE: "Bearer"})
    else:
        try:
            response = await handler(request)
        except web.HTTPException as err:  # 404, 405, 413: answered with the CORS headers too
            response = web.Response(status=err.status, text=err.text, headers=err.headers)
    response.headers.update(cors)
    response.headers[hdrs.VARY] = "Origin"
    return response


async def _preflight(request: web.Request) -> web.Response:
    return web.Response(status=204)


def _not_base64(body: Any) -> str | None:
    """Where a bytes field is not base64, which protobuf would read as something else
    (it drops what is not in the alphabet: "!!!" would be read as no bytes at all)."""
    if not isinstance(body, dict) or not isinstance(body.get("payloads"), list):
        return None  # ParseDict says what is wrong with the shape
    for number, payload in enumerate(body["payloads"], start=1):
        if not isinstance(payload, dict):
            continue
        fields = [("data", payload.get("data"))]
        metadata = payload.get("metadata")
        if isinstance(metadata, dict):
            fields += [(f"metadata {k!r}"[:80], v) for k, v in metadata.items()]
        for name, value in fields:
            if isinstance(value, str) and not BASE64.fullmatch(value):
                return f"payload {number}: {name} is not base64"
    return None


def _handler(transform: Transform) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
            problem = _not_base64(body)
            if problem is not None:
                return _text(400, f"{BAD_BODY}: {problem}")
            payloads = json_format.ParseDict(body, Payloads())
        except (ValueError, TypeError, AttributeError, RecursionError, json_format.ParseError):
            # not JSON, not UTF-8, nested too deeply, a huge number, or the wrong shape
            return _text(400, BAD_BODY)
        try:
            result = await transform(payloads.payloads)
        except (CodecKeyError, CodecDataError) as err:
            return _text(422, f"cannot decode: {err}")
        except InvalidTag:
            return _text(
                422, "cannot decode: a payload failed authentication (damaged, or not ours)"
            )
        except (ValueError, DecodeError):
            return _text(422, "cannot decode: a payload is malformed")
        answer: dict[str, Any] = json_format.MessageToDict(Payloads(payloads=result))
        answer.setdefault("payloads", [])
        return web.json_response(answer)

    return handle


def build_app(
    codec: PayloadCodec,
    token: str | SecretStr | None,
    origin: str,
    accounts: AccountStore | None = None,
) -> web.Application:
    """The codec server's application: ``/encode`` and ``/decode`` with ``codec``,
    behind ``Authorization: Bearer <token>`` (or, with ``accounts``, a manager's or
    auditor's API token or console session), callable by browsers from ``origin``."""
    secret = token.get_secret_value() if isinstance(token, SecretStr) else token
    if not secret or not secret.strip():
        raise NoTokenError(
            "the codec server needs a bearer token: set BREACHCLOCK_CODEC_SERVER_TOKEN"
        )
    app = web.Application(middlewares=[_cors_and_auth], client_max_size=MAX_BODY)
    app[_TOKEN] = secret.strip().encode()
    app[_ORIGINS] = _origins(origin)
    if accounts is not None:
        app[_ACCOUNTS] = accounts
    for prefix in PREFIXES:
        for path, transform in (("/encode", codec.encode), ("/decode", codec.decode)):
            app.router.add_post(prefix + path, _handler(transform))
            app.router.add_route(hdrs.METH_OPTIONS, prefix + path, _preflight)
    return app


async def serve(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        for address in runner.addresses:
            bound_host, bound_port = address[0], address[1]
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            print(f"codec server listening on http://{shown}:{bound_port}", flush=True)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> None:
    settings = settings_or_exit()
    parser = argparse.ArgumentParser(
        prog="python -m breachclock.runtime.codec_server",
        description="Decode breachclock's encrypted payloads for the Temporal UI and CLI.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (%(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=settings.codec_server_port,
        help="port (%(default)s; BREACHCLOCK_CODEC_SERVER_PORT)",
    )
    args = parser.parse_args(argv)

    if settings.codec_keys is None and not (settings.data_dir / "codec-keys.json").exists():
        # Settings.codec() would make a fresh key, which opens nothing.
        sys.exit(
            "codec server: no codec keys; set BREACHCLOCK_CODEC_KEYS, or BREACHCLOCK_DATA_DIR "
            "to the data folder holding codec-keys.json"
        )
    try:
        codec = settings.codec()
        build_app(codec, settings.codec_server_token, settings.codec_origins)
    except (NoTokenError, CodecKeyError) as err:
        sys.exit(f"codec server: {err}")

    logs.configure()
    print(f"codec server: allowing browser calls from {settings.codec_origins}", flush=True)
    try:
        asyncio.run(_run(settings, codec, args.host, args.port))
    except KeyboardInterrupt:
        pass


async def _run(settings: Settings, codec: PayloadCodec, host: str, port: int) -> None:
    """Serve, taking the console's sessions and tokens from its account store."""
    async with open_account_store(settings) as accounts:
        app = build_app(codec, settings.codec_server_token, settings.codec_origins, accounts)
        await serve(app, host, port)


if __name__ == "__main__":
    main()
