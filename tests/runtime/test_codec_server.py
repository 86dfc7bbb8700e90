"""The codec server opens sealed payloads for whoever holds the token, and no one else."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload, Payloads

from breachclock.runtime.codec import EncryptionCodec
from breachclock.runtime.codec_server import SESSION_COOKIE, NoTokenError, build_app
from breachclock.runtime.config import Settings
from breachclock.runtime.store import AccountStore, open_account_store
from breachclock.runtime.store.accounts import Account

TOKEN = "s3cret-token-for-tests"
UI = "http://127.0.0.1:8233"
SECRET = '{"name": "Anna Andersson", "phone": "+46701234567"}'


def payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


def as_json(*payloads: Payload) -> dict[str, Any]:
    return json_format.MessageToDict(Payloads(payloads=payloads))


def from_json(body: dict[str, Any]) -> list[Payload]:
    return list(json_format.ParseDict(body, Payloads()).payloads)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def codec() -> EncryptionCodec:
    return EncryptionCodec({"k1": os.urandom(32)}, "k1")


@pytest.fixture
async def client(codec: EncryptionCodec) -> AsyncIterator[TestClient[Any, Any]]:
    server = TestServer(build_app(codec, TOKEN, UI), host="127.0.0.1", port=0)
    async with TestClient(server) as client:
        yield client


async def test_decode_opens_what_the_codec_sealed(
    client: TestClient[Any, Any], codec: EncryptionCodec
) -> None:
    assert client.host == "127.0.0.1" and client.port
    sealed = await codec.encode([payload(SECRET)])
    assert SECRET.encode() not in sealed[0].data
    response = await client.post("/decode", json=as_json(*sealed), headers=auth())
    assert response.status == 200, await response.text()
    body = await response.json()
    assert set(body) == {"payloads"}
    assert base64.b64decode(body["payloads"][0]["data"]).decode() == SECRET
    (opened,) = from_json(body)
    assert opened == payload(SECRET)


async def test_encode_then_decode_round_trip(
    client: TestClient[Any, Any], codec: EncryptionCodec
) -> None:
    plain = [payload(SECRET), payload('"INC-2026-001"'), Payload()]
    encoded = await client.post("/encode", json=as_json(*plain), headers=auth())
    assert encoded.status == 200
    sealed = from_json(await encoded.json())
    assert len(sealed) == 3
    assert all(p.metadata["encoding"] == b"binary/encrypted" for p in sealed)
    assert SECRET.encode() not in sealed[0].data
    assert await codec.decode(sealed) == plain  # the worker's codec opens them too
    decoded = await client.post("/decode", json=await encoded.json(), headers=auth())
    assert decoded.status == 200
    assert from_json(await decoded.json()) == plain


async def test_empty_batch(client: TestClient[Any, Any]) -> None:
    response = await client.post("/decode", json={"payloads": []}, headers=auth())
    assert response.status == 200
    assert await response.json() == {"payloads": []}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        auth("wrong"),
        auth(TOKEN + "x"),
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        auth(""),
    ],
    ids=["none", "wrong", "longer", "no-scheme", "basic", "empty"],
)
async def test_without_the_token_nothing_is_said(
    client: TestClient[Any, Any], codec: EncryptionCodec, headers: dict[str, str]
) -> None:
    sealed = await codec.encode([payload(SECRET)])
    for path in ("/decode", "/encode"):
        response = await client.post(path, json=as_json(*sealed), headers=headers)
        assert response.status == 401
        text = await response.text()
        assert text.strip() == "unauthorized"
        assert "Anna" not in text and "payload" not in text


async def test_cors_preflight_from_the_ui(client: TestClient[Any, Any]) -> None:
    response = await client.options(
        "/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    )
    assert response.status in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == UI
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"authorization", "content-type", "x-namespace"} <= allowed
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


async def test_cors_headers_on_the_answers_to_the_ui(
    client: TestClient[Any, Any], codec: EncryptionCodec
) -> None:
    sealed = await codec.encode([payload(SECRET)])
    ok = await client.post(
        "/decode",
        json=as_json(*sealed),
        headers={**auth(), "Origin": UI, "X-Namespace": "default"},
    )
    assert ok.status == 200
    assert ok.headers["Access-Control-Allow-Origin"] == UI
    # A refusal reaches the UI too, so it can say why.
    refused = await client.post("/decode", json=as_json(*sealed), headers={"Origin": UI})
    assert refused.status == 401
    assert refused.headers["Access-Control-Allow-Origin"] == UI


async def test_cors_refused_for_another_origin(
    client: TestClient[Any, Any], codec: EncryptionCodec
) -> None:
    evil = "http://evil.example"
    preflight = await client.options(
        "/decode",
        headers={
            "Origin": evil,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status >= 400
    assert not any(h.lower().startswith("access-control-") for h in preflight.headers)
    sealed = await codec.encode([payload(SECRET)])
    response = await client.post(
        "/decode", json=as_json(*sealed), headers={**auth(), "Origin": evil}
    )
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_unknown_key_is_a_plain_client_error(client: TestClient[Any, Any]) -> None:
    stranger = EncryptionCodec({"someone-else": os.urandom(32)}, "someone-else")
    sealed = await stranger.encode([payload(SECRET)])
    response = await client.post("/decode", json=as_json(*sealed), headers=auth())
    assert 400 <= response.status < 500
    text = await response.text()
    assert "someone-else" in text and "not configured" in text
    assert "Traceback" not in text and "Anna" not in text


async def test_tampered_payload_is_a_client_error(
    client: TestClient[Any, Any], codec: EncryptionCodec
) -> None:
    (sealed,) = await codec.encode([payload(SECRET)])
    # Flip a bit (overwriting with a fixed byte would be no change one time in 256).
    damaged = Payload(
        metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    )
    response = await client.post("/decode", json=as_json(damaged), headers=auth())
    assert 400 <= response.status < 500
    assert "Traceback" not in await response.text()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"payloads": "x"}',
        b'{"payloads": [{"data": 5}]}',
        b'{"payload": []}',
    ],
)
async def test_malformed_body_is_a_400(client: TestClient[Any, Any], body: bytes) -> None:
    response = await client.post(
        "/decode", data=body, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status == 400


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def sealed_as(data: bytes, key_id: bytes = b"k1") -> bytes:
    """A body claiming to hold one sealed payload with ``data``, under ``key_id``."""
    metadata = {"encoding": b64(b"binary/encrypted"), "encryption-key-id": b64(key_id)}
    return json.dumps({"payloads": [{"metadata": metadata, "data": b64(data)}]}).encode()


MALFORMED: list[tuple[str, bytes, int, str]] = [
    ("empty body", b"", 400, "the body must be JSON"),
    ("deep array", b"[" * 100_000, 400, "the body must be JSON"),
    ("deep in payloads", b'{"payloads": ' + b"[" * 100_000, 400, "the body must be JSON"),
    ("not UTF-8", b'{"payloads": "\xff"}', 400, "the body must be JSON"),
    ("huge number", b'{"payloads": ' + b"1" * 5_000 + b"}", 400, "the body must be JSON"),
    ("NaN", b'{"payloads": NaN}', 400, "the body must be JSON"),
    ("metadata not an object", b'{"payloads": [{"metadata": 5}]}', 400, "the body must be JSON"),
    ("data not base64", b'{"payloads": [{"data": "!!!"}]}', 400, "payload 1: data is not base64"),
    ("shorter than a nonce", sealed_as(b"abc"), 422, "3 bytes is too short to be sealed"),
    ("a nonce and nothing", sealed_as(b"n" * 12), 422, "too short to be sealed"),
    ("key id not UTF-8", sealed_as(b"x" * 40, b"\xff\xfe"), 422, "key id is not UTF-8"),
    ("unknown key id", sealed_as(b"x" * 40, b"k9"), 422, "'k9', which is not configured"),
    ("not ours", sealed_as(b"x" * 40), 422, "failed authentication"),
]


@pytest.mark.parametrize(
    ("body", "status", "words"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
async def test_malformed_input_is_a_plain_4xx(
    client: TestClient[Any, Any], body: bytes, status: int, words: str
) -> None:
    response = await client.post("/decode", data=body, headers=auth())
    text = await response.text()
    assert response.status == status, text
    assert words in text and len(text.splitlines()) == 1


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
BASE64ISH = st.one_of(
    st.binary(max_size=64).map(b64),
    st.text(alphabet="ABCab+/=-_!é \n", max_size=30),
    JSON_VALUES,
)
PAYLOAD = st.fixed_dictionaries(
    {},
    optional={
        "metadata": st.one_of(
            st.dictionaries(
                st.sampled_from(["encoding", "encryption-key-id", "x"]) | st.text(max_size=8),
                st.one_of(
                    st.sampled_from([b64(b"binary/encrypted"), b64(b"k1"), b64(b"\xff")]),
                    BASE64ISH,
                ),
                max_size=3,
            ),
            JSON_VALUES,
        ),
        "data": BASE64ISH,
        "extra": JSON_VALUES,
    },
)
BODIES = st.one_of(
    st.builds(lambda ps: json.dumps({"payloads": ps}).encode(), st.lists(PAYLOAD, max_size=3)),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.builds(
        lambda ps, cut: json.dumps({"payloads": ps}).encode()[:cut],
        st.lists(PAYLOAD, max_size=2),
        st.integers(0, 80),
    ),
    st.builds(sealed_as, st.binary(max_size=40), st.binary(max_size=6)),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
@given(path=st.sampled_from(["/decode", "/encode"]), body=BODIES)
async def test_fuzzed_bodies_never_make_a_500(
    client: TestClient[Any, Any], path: str, body: bytes
) -> None:
    response = await client.post(path, data=body, headers=auth())
    text = await response.text()
    assert response.status in (200, 400, 422), f"{response.status}: {text[:300]}"
    if response.status != 200:
        assert len(text.splitlines()) == 1 and "Traceback" not in text


async def test_no_token_no_server(codec: EncryptionCodec) -> None:
    for token in (None, "", "   "):
        with pytest.raises(NoTokenError, match="BREACHCLOCK_CODEC_SERVER_TOKEN"):
            build_app(codec, token, UI)


def test_settings_for_the_codec_server() -> None:
    settings = Settings(
        BREACHCLOCK_CODEC_SERVER_TOKEN="t0k",
        BREACHCLOCK_CODEC_SERVER_PORT=9999,
        BREACHCLOCK_CODEC_SERVER_ORIGIN="http://localhost:8080",
    )
    assert settings.codec_server_port == 9999
    assert settings.codec_server_origin == "http://localhost:8080"
    assert settings.codec_server_token is not None
    assert settings.codec_server_token.get_secret_value() == "t0k"
    assert "t0k" not in repr(settings)
    assert Settings().codec_origins == f"{UI},http://localhost:8233"
    moved = Settings(BREACHCLOCK_UI_PORT=18233)
    assert moved.codec_origins == "http://127.0.0.1:18233,http://localhost:18233"


def test_main_refuses_to_start_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from breachclock.runtime import codec_server

    monkeypatch.delenv("BREACHCLOCK_CODEC_SERVER_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_:
        codec_server.main([])
    assert "BREACHCLOCK_CODEC_SERVER_TOKEN" in str(exit_.value.code)


async def test_runs_as_a_module_on_loopback(codec_key: str) -> None:
    """``python -m breachclock.runtime.codec_server`` says where it listens and decodes with the
    configured keys (the session's, from BREACHCLOCK_CODEC_KEYS)."""
    import asyncio
    import re
    import sys

    import aiohttp

    from breachclock.runtime.codec import parse_keys

    env = {**os.environ, "BREACHCLOCK_CODEC_SERVER_TOKEN": TOKEN}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "breachclock.runtime.codec_server",
        "--port",
        "0",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(30):
            while not (line := (await process.stdout.readline()).decode()).startswith(
                "codec server listening on"
            ):
                assert line, "the codec server exited before listening"
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert found, line
        url = found.group(0)
        codec = EncryptionCodec(parse_keys(codec_key), "test-key")
        sealed = await codec.encode([payload(SECRET)])
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{url}/decode", json=as_json(*sealed), headers=auth()) as response,
        ):
            assert response.status == 200
            assert from_json(await response.json()) == [payload(SECRET)]
    finally:
        process.terminate()
        await process.wait()


async def test_other_paths_and_methods(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/decode", headers=auth())).status == 405
    missing = await client.post("/nothing", json={"payloads": []}, headers={**auth(), "Origin": UI})
    assert missing.status == 404
    assert missing.headers["Access-Control-Allow-Origin"] == UI
    assert (await client.get("/decode")).status == 401


# ------------------------------------------------- the console's sessions and tokens


@pytest.fixture
async def accounts(tmp_path: Path) -> AsyncIterator[AccountStore]:
    async with open_account_store(Settings(BREACHCLOCK_DATA_DIR=tmp_path)) as store:
        now = datetime.now(UTC)
        for name, role in (("manager", "manager"), ("oncall", "oncall")):
            await store.add_account(Account(name=name, role=role), now)
            await store.start_session(f"session-{name}", name, "csrf", now + timedelta(hours=1))
        await store.add_token("token-auditor", "audit-bot", "auditor", now)
        await store.add_token("token-agent", "agent-bot", "agent", now)
        yield store


async def test_a_signed_in_manager_or_a_reader_token_decodes_and_nobody_else(
    codec: EncryptionCodec, accounts: AccountStore
) -> None:
    """The Temporal UI sends the console's cookie ("include cross-origin credentials")
    or an access token; a manager's or auditor's opens payloads, anyone else's does not."""
    sealed = as_json(*(await codec.encode([payload(SECRET)])))
    app = build_app(codec, TOKEN, UI, accounts)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:

        async def decode(headers: dict[str, str]) -> int:
            response = await client.post(
                "/codec/decode", json=sealed, headers={"Origin": UI, **headers}
            )
            if response.status == 200:
                assert from_json(await response.json())[0].data == SECRET.encode()
            else:
                assert SECRET not in await response.text()
            return response.status

        assert await decode({"Cookie": f"{SESSION_COOKIE}=session-manager"}) == 200
        assert await decode(auth("token-auditor")) == 200
        assert await decode(auth()) == 200, "the codec server's own token still works"
        for refused in (
            {"Cookie": f"{SESSION_COOKIE}=session-oncall"},
            {"Cookie": f"{SESSION_COOKIE}=forged"},
            {"Cookie": f"{SESSION_COOKIE}={'x' * 5000}"},
            auth("token-agent"),
            auth("token-unknown"),
            {},
        ):
            assert await decode(refused) == 401, refused


def test_the_session_cookie_is_the_consoles() -> None:
    from breachclock.web.auth import SESSION_COOKIE as CONSOLE

    assert SESSION_COOKIE == CONSOLE


async def test_cors_follows_the_ui_port(codec: EncryptionCodec) -> None:
    settings = Settings(BREACHCLOCK_UI_PORT=18233, BREACHCLOCK_CODEC_SERVER_TOKEN=TOKEN)
    app = build_app(codec, TOKEN, settings.codec_origins)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as client:
        for origin, allowed in (
            ("http://127.0.0.1:18233", True),
            ("http://localhost:18233", True),
            (UI, False),
        ):
            response = await client.options(
                "/decode",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
            assert (response.status == 204) is allowed, origin
            if allowed:
                assert response.headers["Access-Control-Allow-Origin"] == origin
                assert response.headers["Access-Control-Allow-Credentials"] == "true"
