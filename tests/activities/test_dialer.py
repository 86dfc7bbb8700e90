"""HttpDialer against a scripted dialer of our own on 127.0.0.1.

The fake dialer plays each phone number as the test scripts it, records every request
it gets (so the tests see what was disclosed), and dedupes on Idempotency-Key.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import structlog
from aiohttp import web

from activities import dialer as dialer_module
from activities.calls import CallRequest, CallResult
from activities.dialer import DialerUnavailable, HttpDialer
from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.notify.identity import IdentityMethod
from breachclock.runtime.outbox import free_port

REFERENCE = "PI-2024-7"
NAME = "Karin Lund"


@dataclass(frozen=True)
class Script:
    """How the dialer plays one number."""

    outcome: str = CallOutcome.NO_ANSWER.value
    """How the call ends, when it does not wait for a notice."""
    verify: bool = False
    """Someone answers and confirms their identity: "verified" until the notice comes."""
    rings: int = 2
    """Polls answered "dialing" before anything happens."""
    refuse: int | None = None
    """Answer POST /calls with this status instead."""
    endless: bool = False
    """Never gets past "dialing"."""
    method: str | None = "bankid"
    """How the person proves who they are, once they answer and do."""


@dataclass
class FakeCall:
    script: Script
    polls: int = 0
    state: str = "dialing"
    outcome: str | None = None


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class FakeDialer:
    prefix: str = "/v1"
    token: str | None = None
    scripts: dict[str, Script] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    calls: dict[str, FakeCall] = field(default_factory=dict)
    notices: dict[str, str] = field(default_factory=dict)
    unavailable: int = 0
    """Answer this many of the next requests 503 (and do nothing)."""
    active: int = 0
    max_active: int = 0
    port: int = field(default_factory=free_port)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def app(self) -> web.Application:
        @web.middleware
        async def gate(request: web.Request, handler: Any) -> web.StreamResponse:
            self.seen.append(
                Seen(request.method, request.path, dict(request.headers), await request.text())
            )
            if self.unavailable:
                self.unavailable -= 1
                return web.json_response({"error": "down"}, status=503)
            if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
                return web.json_response({"error": "who are you"}, status=401)
            response: web.StreamResponse = await handler(request)
            return response

        app = web.Application(middlewares=[gate])
        app.router.add_post(f"{self.prefix}/calls", self.create)
        app.router.add_get(f"{self.prefix}/calls/{{id}}", self.status)
        app.router.add_post(f"{self.prefix}/calls/{{id}}/notice", self.notice)
        return app

    def _end(self, call: FakeCall, outcome: str) -> None:
        call.state, call.outcome = "ended", outcome
        self.active -= 1

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.headers["Idempotency-Key"]
        assert body["id"] == key
        if key in self.calls:
            call = self.calls[key]
            return web.json_response({"id": key, "state": call.state}, status=200)
        script = self.scripts.get(body["to"], Script())
        if script.refuse:
            return web.json_response({"error": "number refused"}, status=script.refuse)
        self.calls[key] = FakeCall(script)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        return web.json_response({"id": key, "state": "dialing"}, status=201)

    async def status(self, request: web.Request) -> web.Response:
        call = self.calls.get(request.match_info["id"])
        if call is None:
            return web.json_response({"error": "no such call"}, status=404)
        call.polls += 1
        script = call.script
        if call.state != "ended" and not script.endless and call.polls > script.rings:
            answered = script.verify or script.outcome in (
                CallOutcome.REACHED_UNVERIFIED,
                CallOutcome.REACHED_VERIFIED,
            )
            if call.state == "dialing" and answered:
                call.state = "identifying"
            elif script.verify:
                call.state = "verified"
            else:
                self._end(call, script.outcome)
        identified = call.state == "verified" or call.outcome == CallOutcome.REACHED_VERIFIED
        return web.json_response(
            {
                "state": call.state,
                "outcome": call.outcome,
                "identified_by": script.method if identified else None,
            }
        )

    async def notice(self, request: web.Request) -> web.Response:
        key = request.match_info["id"]
        call = self.calls.get(key)
        if call is None:
            return web.json_response({"error": "no such call"}, status=404)
        if request.headers.get("Idempotency-Key") == f"{key}:notice" and key in self.notices:
            return web.json_response({"accepted": True}, status=200)
        if call.state != "verified":
            return web.json_response({"error": "not verified"}, status=409)
        self.notices[key] = (await request.json())["text"]
        self._end(call, CallOutcome.REACHED_VERIFIED.value)
        return web.json_response({"accepted": True}, status=202)

    def requests(self, method: str, suffix: str = "") -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.endswith(suffix)]


@pytest.fixture
async def server() -> AsyncIterator[FakeDialer]:
    fake = FakeDialer()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", fake.port).start()
    try:
        yield fake
    finally:
        await runner.cleanup()


def fast(base: str, **options: Any) -> HttpDialer:
    """A dialer that polls every 20 ms and backs off 5 ms."""
    fast_options: dict[str, Any] = {
        "poll": timedelta(milliseconds=20),
        "backoff": timedelta(milliseconds=5),
    }
    return HttpDialer(base, **(fast_options | options))


def ask(phone: str, attempt: int = 1) -> CallRequest:
    key = f"{REFERENCE}:sub-{phone[-4:]}:call:{attempt}"
    return CallRequest(
        key=key,
        reference=REFERENCE,
        subscriber_id=f"sub-{phone[-4:]}",
        name=NAME,
        phone=phone,
        greeting=f"Hello, this is Telco calling for {NAME}.",
        notice=f"NOTICE {key}: your call records were exposed on 3 May.",
    )


async def place(dialer: HttpDialer, calls: Sequence[CallRequest]) -> dict[str, CallResult]:
    results: dict[str, CallResult] = {}
    async for result in dialer.place(calls):
        assert result.key not in results
        results[result.key] = result
    return results


def disclosed_in(server: FakeDialer, call: CallRequest) -> bool:
    return any(call.notice in s.body or s.path.endswith("/notice") for s in server.seen)


async def test_verified_call_gets_the_notice_once(server: FakeDialer) -> None:
    call = ask("+46701234001")
    server.scripts[call.phone] = Script(verify=True)
    results = await place(fast(server.base), [call])

    assert results[call.key] == CallResult(
        key=call.key,
        outcome=CallOutcome.REACHED_VERIFIED,
        disclosed=True,
        identified_by=IdentityMethod.BANKID,
    )
    notices = server.requests("POST", "/notice")
    assert len(notices) == 1
    assert json.loads(notices[0].body) == {"text": call.notice}
    assert notices[0].headers["Idempotency-Key"] == f"{call.key}:notice"
    (create,) = server.requests("POST", "/calls")
    assert json.loads(create.body) == {
        "id": call.key,
        "to": call.phone,
        "greeting": call.greeting,
        "identify_by": [
            "bankid",
            "one_time_code",
            "security_questions",
            "known_callback",
            "code_other_channel",
        ],
    }
    assert create.headers["Idempotency-Key"] == call.key
    assert call.notice not in create.body
    # the notice went only after the dialer said "verified"
    assert server.calls[call.key].polls >= server.calls[call.key].script.rings + 2


@pytest.mark.parametrize(
    "outcome",
    [
        CallOutcome.REACHED_UNVERIFIED,
        CallOutcome.NO_ANSWER,
        CallOutcome.BUSY,
        CallOutcome.VOICEMAIL,
        CallOutcome.INVALID_NUMBER,
    ],
)
async def test_no_notice_without_verification(server: FakeDialer, outcome: CallOutcome) -> None:
    call = ask("+46701234002")
    server.scripts[call.phone] = Script(outcome=outcome.value)
    results = await place(fast(server.base), [call])

    assert results[call.key] == CallResult(key=call.key, outcome=outcome, disclosed=False)
    assert not disclosed_in(server, call)
    assert server.calls[call.key].state == "ended"


async def test_verified_without_a_notice_counts_as_failed(server: FakeDialer) -> None:
    """A dialer claiming the person was told, when we never sent the notice, is not believed."""
    call = ask("+46701234003")
    server.scripts[call.phone] = Script(outcome=CallOutcome.REACHED_VERIFIED.value)
    results = await place(fast(server.base), [call])

    assert results[call.key] == CallResult(key=call.key, outcome=CallOutcome.FAILED)
    assert not disclosed_in(server, call)


@pytest.mark.parametrize("method", [None, "fingerprint", "security_questions"])
async def test_no_notice_without_an_accepted_identity_method(
    server: FakeDialer, method: str | None
) -> None:
    """Verified by no method, an unknown one, or one this operator does not accept: the
    person is told nothing, and a dialer ending the call reached_verified is not believed."""
    call = ask("+46701234011").model_copy(
        update={"methods": (IdentityMethod.BANKID, IdentityMethod.ONE_TIME_CODE)}
    )
    server.scripts[call.phone] = Script(outcome=CallOutcome.REACHED_VERIFIED.value, method=method)
    results = await place(fast(server.base), [call])

    assert results[call.key] == CallResult(key=call.key, outcome=CallOutcome.FAILED)
    assert not disclosed_in(server, call)
    (create,) = server.requests("POST", "/calls")
    assert json.loads(create.body)["identify_by"] == ["bankid", "one_time_code"]


async def test_a_verified_state_without_a_method_gets_no_notice(server: FakeDialer) -> None:
    call = ask("+46701234012")
    server.scripts[call.phone] = Script(verify=True, method=None, rings=1)
    dialer = fast(server.base, timeout=timedelta(milliseconds=300))
    results = await place(dialer, [call])

    assert results[call.key] == CallResult(key=call.key, outcome=CallOutcome.FAILED)
    assert not server.requests("POST", "/notice")


async def test_same_key_twice_is_one_call(server: FakeDialer) -> None:
    call = ask("+46701234004")
    server.scripts[call.phone] = Script(verify=True)
    dialer = fast(server.base)

    first = await place(dialer, [call, call])
    again = await place(dialer, [call])  # as after an activity retry

    assert len(server.requests("POST", "/calls")) == 2  # one per placement
    assert list(server.calls) == [call.key]
    assert len(server.requests("POST", "/notice")) == 1
    told = CallResult(
        key=call.key,
        outcome=CallOutcome.REACHED_VERIFIED,
        disclosed=True,
        identified_by=IdentityMethod.BANKID,
    )
    assert first == again == {call.key: told}


async def test_refused_number_fails_that_call_only(server: FakeDialer) -> None:
    refused, fine = ask("+46701234005"), ask("+46701234006")
    server.scripts[refused.phone] = Script(refuse=422)
    server.scripts[fine.phone] = Script(outcome=CallOutcome.BUSY.value)
    results = await place(fast(server.base), [refused, fine])

    assert results[refused.key] == CallResult(key=refused.key, outcome=CallOutcome.FAILED)
    assert results[fine.key].outcome is CallOutcome.BUSY
    assert not server.requests("GET", refused.key)


async def test_unknown_outcome_is_failed(server: FakeDialer) -> None:
    call = ask("+46701234007")
    server.scripts[call.phone] = Script(outcome="fax_machine")
    results = await place(fast(server.base), [call])
    assert results[call.key] == CallResult(key=call.key, outcome=CallOutcome.FAILED)


async def test_a_call_past_its_timeout_is_failed(server: FakeDialer) -> None:
    stuck, quick = ask("+46701234008"), ask("+46701234009")
    server.scripts[stuck.phone] = Script(endless=True)
    dialer = fast(server.base, timeout=timedelta(milliseconds=150))
    results = await place(dialer, [stuck, quick])

    assert results[stuck.key] == CallResult(key=stuck.key, outcome=CallOutcome.FAILED)
    assert results[quick.key].outcome is CallOutcome.NO_ANSWER


async def test_retries_a_dialer_that_is_briefly_down(server: FakeDialer) -> None:
    call = ask("+46701234010")
    server.scripts[call.phone] = Script(verify=True)
    server.unavailable = 2
    results = await place(fast(server.base), [call])

    assert results[call.key].outcome is CallOutcome.REACHED_VERIFIED
    assert [s.path for s in server.seen[:3]] == ["/v1/calls"] * 3
    assert list(server.calls) == [call.key]


async def test_a_dialer_that_stays_down_raises_without_personal_data(
    server: FakeDialer,
) -> None:
    call = ask("+46701234011")
    server.unavailable = 1_000  # 503 to everything

    with pytest.raises(DialerUnavailable) as raised:
        await place(fast(server.base, attempts=3), [call])
    assert len(server.seen) == 3
    assert not server.calls
    for secret in (call.phone, call.phone[1:], NAME, call.greeting, call.notice):
        assert secret not in str(raised.value)
    assert call.key in str(raised.value)


async def test_no_dialer_at_all_raises_without_personal_data() -> None:
    call = ask("+46701234012")
    dialer = fast(f"http://127.0.0.1:{free_port()}", attempts=3)

    started = time.monotonic()
    with pytest.raises(DialerUnavailable) as raised:
        await place(dialer, [call])
    assert time.monotonic() - started < 1
    message = str(raised.value)
    assert "3 attempts" in message
    for secret in (call.phone, call.phone[1:], NAME, call.greeting, call.notice):
        assert secret not in message
    assert raised.value.__cause__ is None


async def test_logs_name_the_key_only(server: FakeDialer, monkeypatch: pytest.MonkeyPatch) -> None:
    captured = structlog.testing.CapturingLogger()
    monkeypatch.setattr(dialer_module, "log", captured)
    calls = [ask("+46701234013"), ask("+46701234014"), ask("+46701234015")]
    server.scripts[calls[0].phone] = Script(verify=True)
    server.scripts[calls[1].phone] = Script(refuse=422)
    server.unavailable = 1
    await place(fast(server.base), calls)

    lines = [repr(c) for c in captured.calls]
    assert any("dialer.notice" in line for line in lines)
    assert any("dialer.retry" in line for line in lines)
    for call in calls:
        for secret in (call.phone, call.phone[1:], NAME, call.greeting, call.notice):
            assert not any(secret in line for line in lines)


async def test_at_most_lines_calls_at_once(server: FakeDialer) -> None:
    calls = [ask(f"+467012341{n:02}") for n in range(12)]
    for n, call in enumerate(calls):
        server.scripts[call.phone] = Script(
            verify=n % 3 == 0, outcome=CallOutcome.NO_ANSWER.value, rings=2 + n % 2
        )
    results = await place(fast(server.base, lines=4), calls)

    assert set(results) == {c.key for c in calls}
    assert server.max_active == 4
    assert server.active == 0
    told = {k for k, r in results.items() if r.disclosed}
    assert told == {c.key for n, c in enumerate(calls) if n % 3 == 0}


async def test_bearer_token_is_sent(server: FakeDialer) -> None:
    server.token = "s3cret-token"
    call = ask("+46701234016")
    server.scripts[call.phone] = Script(verify=True)
    results = await place(fast(server.base, token="s3cret-token"), [call])

    assert results[call.key].disclosed
    assert {s.headers.get("Authorization") for s in server.seen} == {"Bearer s3cret-token"}
    assert "s3cret" not in repr(HttpDialer(server.base, token="s3cret-token"))


async def test_wrong_token_raises_rather_than_failing_every_call(server: FakeDialer) -> None:
    server.token = "s3cret-token"
    call = ask("+46701234017")
    with pytest.raises(DialerUnavailable, match="credentials"):
        await place(fast(server.base, token="stale"), [call])
    assert not server.calls
