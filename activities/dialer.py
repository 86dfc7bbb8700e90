"""Placing calls through an outside telephony dialer, over HTTP.

The protocol is ours; a real dialer vendor is adapted to it (by the vendor, or by a
small shim in front of it). ``{base}`` is the configured base URL. Every request
carries ``Authorization: Bearer <token>`` when a token is configured. Bodies are JSON.

``POST {base}/calls``, header ``Idempotency-Key: <key>``, body
``{"id": <key>, "to": <E.164 number>, "greeting": <text>, "identify_by": [<method>, …]}``
    Start a call. ``identify_by`` lists the ways the person may prove who they are
    (``bankid``, ``one_time_code``, ``security_questions``, ``known_callback``: the
    operator's configured ones); the dialer's IVR or agent uses one of them. The call's id is our key (it holds no personal data). Answers
    ``201`` with ``{"id": <key>, "state": "dialing"}``, or ``200`` with the call as
    it stands when the key is known already: the dialer dedupes on the key and never
    calls anyone twice for one key. Any other 4xx (``422``: number refused, ...)
    means the call cannot be placed: the result is ``failed``. ``401``/``403`` are a
    misconfiguration, not the person's fault, and raise instead.

``GET {base}/calls/{id}``
    ``{"state": "dialing" | "identifying" | "verified" | "ended",
    "outcome": null | <a CallOutcome value>, "identified_by": null | <method>}``.
    ``identifying``: someone answered and is asked to confirm who they are; the
    dialer has the greeting only. ``verified``: the person confirmed their identity
    to the dialer's IVR or agent, by ``identified_by`` (one of ``identify_by``; set
    from ``verified`` on). ``outcome`` is set once the state is ``ended``.

``POST {base}/calls/{id}/notice``, header ``Idempotency-Key: <key>:notice``, body
``{"text": <notice>}``
    Sent by the adapter when, and only when, it saw the state ``verified`` with an
    ``identified_by`` the call accepts (a ``verified`` without one gets no notice). Answers
    2xx when accepted (then the call ends ``reached_verified``), 4xx when the call is
    past the point where it could be said (it then ends with another outcome). A
    dialer ends a call ``reached_verified`` only after it accepted the notice.

So nothing about the incident leaves this process before the person confirmed who
they are: a call that ends without ``verified`` (``reached_unverified``,
``no_answer``, ``busy``, ``voicemail``, ``invalid_number``, ``failed``) never gets the
notice. ``CallResult.disclosed`` is True only when the notice was sent and accepted:
by this placement, or by an earlier one of the same key (the dialer answered ``200``
and the call had ended ``reached_verified``). A call the dialer reports
``reached_verified`` although it was created now and the notice was never accepted,
or without an accepted ``identified_by``, breaks the protocol and counts as ``failed``.
The result of a ``reached_verified`` call carries the method.

Outcomes are read by polling ``GET`` every ``poll`` (no callbacks: nothing to expose,
nothing to authenticate inbound). One call is given ``timeout`` from the moment it
gets a line; past that its result is ``failed`` (``disclosed`` stays True if the
notice had been accepted: it may have been said).

Faults: a refused connection, a timeout, ``408``/``429``/5xx or a malformed answer is
retried a few times with a short backoff; then :class:`DialerUnavailable` is raised
and the Temporal activity around this retries the whole placement (which the dialer
dedupes). Unknown outcome strings count as ``failed``. Exception messages and log
lines name the key only, never a number, name, greeting or notice.

At most ``lines`` calls are in progress at once; results are yielded as they end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import structlog
from yarl import URL

from activities.calls import CallProvider, CallRequest, CallResult, heartbeat
from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.notify.identity import IdentityMethod

if TYPE_CHECKING:
    # aiohttp is imported where calls are placed: an engine on the simulator or the
    # agents' worklist, and every CLI call, never needs it (~0.1 s of CPU per process).
    import aiohttp

log = structlog.get_logger(__name__)

STATES = frozenset({"dialing", "identifying", "verified", "ended"})
TRANSIENT = frozenset({408, 429})
UNAUTHORIZED = frozenset({401, 403})
REQUEST_TIMEOUT = timedelta(seconds=15)
"""One HTTP request at most (a call as a whole is bounded by ``timeout``)."""


class DialerUnavailable(Exception):
    """The dialer could not be reached or would not answer properly; retry later."""


class HttpDialer(CallProvider):
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        lines: int = 20,
        poll: timedelta = timedelta(seconds=1),
        timeout: timedelta = timedelta(minutes=10),
        *,
        attempts: int = 4,
        backoff: timedelta = timedelta(milliseconds=250),
    ) -> None:
        if lines < 1:
            raise ValueError("lines must be at least 1")
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.base = URL(base_url.rstrip("/"))
        self.token = token
        self.lines = lines
        self.poll = poll
        self.timeout = timeout
        self.attempts = attempts
        """Tries per request before giving up (retries = attempts - 1)."""
        self.backoff = backoff
        """Wait before the first retry; doubled for each further one."""

    def __repr__(self) -> str:  # no token in reprs
        return f"HttpDialer({str(self.base)!r}, lines={self.lines})"

    def _url(self, key: str, *rest: str) -> URL:
        return self.base.joinpath("calls", quote(key, safe=""), *rest, encoded=True)

    async def place(self, calls: Sequence[CallRequest]) -> AsyncIterator[CallResult]:
        unique: dict[str, CallRequest] = {}
        for call in calls:  # a key twice in one batch is one call
            unique.setdefault(call.key, call)
        import aiohttp

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        timeout = aiohttp.ClientTimeout(total=min(REQUEST_TIMEOUT, self.timeout).total_seconds())
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            lines = asyncio.Semaphore(self.lines)
            tasks = [asyncio.create_task(self._bounded(session, lines, c)) for c in unique.values()]
            try:
                for done in asyncio.as_completed(tasks):
                    yield await done
            finally:  # a fault, or the consumer stopped early: stop the rest
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _bounded(
        self, session: aiohttp.ClientSession, lines: asyncio.Semaphore, call: CallRequest
    ) -> CallResult:
        async with lines:
            state = _Progress()
            deadline = asyncio.timeout(self.timeout.total_seconds())
            try:
                async with deadline:
                    return await self._call(session, call, state)
            except TimeoutError:
                if not deadline.expired():
                    raise
                log.warning("dialer.call_timed_out", key=call.key, disclosed=state.disclosed)
                return CallResult(
                    key=call.key, outcome=CallOutcome.FAILED, disclosed=state.disclosed
                )

    async def _call(
        self, session: aiohttp.ClientSession, call: CallRequest, progress: _Progress
    ) -> CallResult:
        key = call.key
        status, _ = await self._request(
            session,
            "POST",
            self.base / "calls",
            key,
            "create",
            body={
                "id": key,
                "to": call.phone,
                "greeting": call.greeting,
                "identify_by": [m.value for m in call.methods],
            },
            headers={"Idempotency-Key": key},
        )
        if status in UNAUTHORIZED:
            raise DialerUnavailable(f"dialer refused our credentials (HTTP {status}) for {key}")
        if 400 <= status < 500:
            log.info("dialer.call_refused", key=key, status=status)
            return CallResult(key=key, outcome=CallOutcome.FAILED)
        existing = status == 200
        noticed = False
        while True:
            status, answer = await self._request(session, "GET", self._url(key), key, "status")
            if 400 <= status < 500:
                log.warning("dialer.call_lost", key=key, status=status)
                return CallResult(key=key, outcome=CallOutcome.FAILED, disclosed=progress.disclosed)
            state = answer.get("state")
            if state not in STATES:
                log.warning("dialer.unknown_state", key=key)
            method = _method(answer.get("identified_by"), call)
            if state == "ended":
                return self._ended(key, answer.get("outcome"), existing, progress.disclosed, method)
            if state == "verified" and not noticed:
                noticed = True  # one try: a refused notice is not pressed again
                if method is None:
                    log.warning("dialer.verified_without_method", key=key)
                else:
                    progress.disclosed = await self._notice(session, call)
            heartbeat(key)
            await asyncio.sleep(self.poll.total_seconds())

    def _ended(
        self,
        key: str,
        reported: Any,
        existing: bool,
        disclosed: bool,
        method: IdentityMethod | None,
    ) -> CallResult:
        try:
            outcome = CallOutcome(reported)
        except ValueError:
            log.warning("dialer.unknown_outcome", key=key)
            return CallResult(key=key, outcome=CallOutcome.FAILED, disclosed=disclosed)
        if outcome is not CallOutcome.REACHED_VERIFIED:
            log.info("dialer.call_ended", key=key, outcome=outcome.value, disclosed=disclosed)
            return CallResult(key=key, outcome=outcome, disclosed=disclosed)
        if method is None:
            log.error("dialer.verified_without_method", key=key)
            return CallResult(key=key, outcome=CallOutcome.FAILED, disclosed=disclosed)
        if not disclosed and not existing:  # existing: told by an earlier placement
            log.error("dialer.verified_without_notice", key=key)
            return CallResult(key=key, outcome=CallOutcome.FAILED)
        log.info("dialer.call_ended", key=key, outcome=outcome.value, method=method.value)
        return CallResult(key=key, outcome=outcome, disclosed=True, identified_by=method)

    async def _notice(self, session: aiohttp.ClientSession, call: CallRequest) -> bool:
        status, _ = await self._request(
            session,
            "POST",
            self._url(call.key, "notice"),
            call.key,
            "notice",
            body={"text": call.notice},
            headers={"Idempotency-Key": f"{call.key}:notice"},
        )
        if status in UNAUTHORIZED:
            raise DialerUnavailable(
                f"dialer refused our credentials (HTTP {status}) for {call.key}"
            )
        accepted = 200 <= status < 300
        log.info("dialer.notice", key=call.key, accepted=accepted, status=status)
        return accepted

    async def _request(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        key: str,
        what: str,
        body: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Status and JSON object of a definite answer (2xx or a 4xx); retries the rest."""
        import aiohttp

        reason = ""
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff.total_seconds() * 2 ** (attempt - 1))
            try:
                async with session.request(method, url, json=body, headers=headers) as answer:
                    status = answer.status
                    if status >= 500 or status in TRANSIENT:
                        reason = f"HTTP {status}"
                    elif status >= 400:
                        return status, {}
                    else:
                        parsed = await answer.json(content_type=None) if method == "GET" else {}
                        if isinstance(parsed, dict):
                            return status, parsed
                        reason = "an answer that is not a JSON object"
            except (aiohttp.ClientError, TimeoutError, ValueError) as fault:
                # the type only: some faults' texts quote what was sent
                reason = type(fault).__name__
            log.warning("dialer.retry", key=key, request=what, attempt=attempt + 1, reason=reason)
        raise DialerUnavailable(
            f"dialer gave no usable answer to {what} for call {key} "
            f"after {self.attempts} attempts (last: {reason})"
        )


def _method(reported: Any, call: CallRequest) -> IdentityMethod | None:
    """The dialer's ``identified_by``, when it is one the call accepts."""
    try:
        method = IdentityMethod(reported)
    except ValueError:
        return None
    return method if method in call.methods else None


class _Progress:
    """What one call got to, kept outside its deadline."""

    __slots__ = ("disclosed",)

    def __init__(self) -> None:
        self.disclosed = False
