"""Every update of the incident workflow, fuzzed: bad input is a clear refusal and no trace.

Payloads are sent as raw JSON by update name, as any Temporal client would, so the
workflow's own conversion and validators are what is tested, not the CLI's. For each
update a strategy draws anything JSON can hold, and dicts with the input model's real
field names holding wrong and edge values (naive, future, DST-gap and out-of-range
times, unknown zones, huge strings, unknown fields, negative counts). Property, per
drawn payload:

- the update succeeds, or fails with ``WorkflowUpdateFailedError`` whose innermost
  message is non-empty plain text (no traceback, no repr of a Python object);
- a refused update adds nothing to the workflow's history but, at most, an empty
  workflow task;
- afterwards the workflow still answers ``status`` and accepts a valid ``add_event``
  (it is not wedged).

One incident per update, reused across examples (a fresh one once it is closed), on
the dev server: the time-skipping server records a workflow task even for a rejected
update, the real server does not. A new update is one new row in ``ROWS``;
``test_every_update_has_a_row`` fails until it has one.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import REQUIRED_FACTS
from breachclock.domain.notify.assessment import Consequence, DataKind
from breachclock.service.engine import refusal_message
from tests.conftest import WORKFLOW_TASK, Harness, SmtpSink, harness, unique
from workflows.incident import IncidentWorkflow

settings.register_profile(
    "fuzz-updates",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz-updates-ci", parent=settings.get_profile("fuzz-updates"), derandomize=True
)
FUZZ = settings.get_profile("fuzz-updates-ci" if os.environ.get("CI") else "fuzz-updates")

# --- what JSON can hold ---------------------------------------------------------------------

SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)
)
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def xs(*sizes: int) -> st.SearchStrategy[str]:
    """Strings of these lengths (built when drawn, so no huge value is in a strategy's repr)."""
    return st.sampled_from(sizes).map(lambda n: "x" * n)


def _from_now(minutes: int, form: str) -> str:
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    if form == "offset":
        return at.astimezone(ZoneInfo("Europe/Stockholm")).isoformat()
    if form == "z":
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == "zone":
        return at.astimezone(ZoneInfo("Europe/Stockholm")).strftime(
            "%Y-%m-%d %H:%M Europe/Stockholm"
        )
    return at.replace(tzinfo=None).isoformat()  # naive


RELATIVE = st.builds(
    _from_now,
    st.sampled_from([-60 * 24 * 30, -600, -60, -1, 4, 10, 60 * 24]),
    st.sampled_from(["offset", "z", "zone", "naive"]),
)
OFFSETS = st.sampled_from(
    [None, UTC, ZoneInfo("Europe/Stockholm"), timezone(timedelta(hours=-12)), timezone.max]
)
ANY_ERA = st.datetimes(timezones=OFFSETS).map(datetime.isoformat)
INSTANTS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(
        [
            "2026-01-10T09:00:00",  # naive
            "2026-01-10T09:00:00+01:00",
            "2026-03-29T02:30 Europe/Stockholm",  # spring-forward gap
            "2026-10-25 02:30 Europe/Stockholm",  # fall-back overlap
            "2026-01-10 09:00 Europe/Atlantis",
            "2026-01-10 09:00 UTC",
            "2026-01-10T09:00+01:00 Europe/Stockholm",  # offset and zone
            "2026-02-30T09:00:00Z",
            "2026-01-10T25:00:00Z",
            "2026-01-10T09:00:00+25:00",
            "2099-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",  # before datetime.min in UTC
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:00-01:00",  # after datetime.max in UTC
            "0001-01-01 00:30 Europe/Stockholm",
            "2026-01-10 09:00 ../../etc/passwd",
            "",
            " ",
            "now",
            "yesterday 09:00",
        ]
    ),
    st.sampled_from([400, 5_000]).map(lambda n: "2026-01-10 09:00 Europe/Stockholm" + "/x" * n),
    xs(100_000),
    RELATIVE,
    ANY_ERA,
    st.text(max_size=40),
    SCALARS,
)
NAMES: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["", " ", "On-call"]),
    xs(200, 201, 100_000),
    st.text(max_size=40),
    SCALARS,
)
TEXTS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["", "because"]),
    xs(19, 20, 20_000, 20_001, 100_000),
    st.text(max_size=80),
    SCALARS,
)
TRACKS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["pts", "imy", "dk", "nis2", "PTS", "", "gdpr"]), SCALARS
)
COUNTS: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([-1, -(2**63), 2**63, 2**64, 10**30, 0, 1.5, "3300", "many"]), SCALARS
)
DATES: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["2026-01-10", "2026-02-30", "0000-01-01", "10/01/2026"]),
    st.dates().map(str),
    SCALARS,
)
UNKNOWN = st.one_of(st.sampled_from(["severity", "At", "by ", "changes", "reference"]), st.text())


def fields(spec: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Dicts with the model's field names (any may be missing), now and then an unknown one."""
    return st.builds(
        lambda known, extra: {**extra, **known},
        st.fixed_dictionaries({}, optional=spec),
        st.dictionaries(UNKNOWN, JSON, max_size=1),
    )


def payloads(
    spec: dict[str, st.SearchStrategy[Any]],
    valid: dict[str, st.SearchStrategy[Any]] | None = None,
    optional: dict[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[Any]:
    """Anything JSON; the model's fields with wrong and edge values; or a valid payload."""
    if valid is None:
        return st.one_of(JSON, fields(spec))
    good = st.fixed_dictionaries(valid, optional=optional or {})
    return st.one_of(JSON, fields(spec), good)


def listed(item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(item, max_size=3), JSON)


def choice(*values: str) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from([*values, "other"]), SCALARS)


FACTS = fields(
    {
        "occurred": st.one_of(fields({"at": INSTANTS, "how": TEXTS}), JSON),
        "affected_count": COUNTS,
        "affected_scale": NAMES,
        "breach_types": listed(choice("loss", "alteration", "disclosure")),
        "circumstances": TEXTS,
        "services": listed(NAMES),
        "data_kinds": listed(NAMES),
        "root_cause": choice("organisation_or_process", "technical_fault", "mistake"),
        "root_cause_detail": TEXTS,
        "measures_taken": listed(fields({"what": TEXTS, "on": DATES})),
        "measures_planned": listed(fields({"what": TEXTS, "on": DATES})),
        "subscriber_notice": fields(
            {
                "notified": st.one_of(st.booleans(), SCALARS),
                "justification": TEXTS,
                "means": NAMES,
                "notified_count": COUNTS,
            }
        ),
        "security_aspects": listed(choice("availability", "integrity", "confidentiality")),
        "in_communications_service": st.one_of(st.booleans(), SCALARS),
        "unknown_because": st.one_of(
            st.dictionaries(
                st.one_of(st.sampled_from([*REQUIRED_FACTS, "title"]), st.text(max_size=8)),
                TEXTS,
                max_size=2,
            ),
            JSON,
        ),
    }
)


@dataclass(frozen=True)
class Row:
    update: str
    payloads: st.SearchStrategy[Any]
    discovered: bool = True
    """Whether the incident is discovered (its clocks run) before the fuzzing starts."""

    def __repr__(self) -> str:
        return f"Row({self.update!r})"


PAST = st.builds(
    _from_now, st.sampled_from([-60 * 24 * 30, -600, -30, -1]), st.sampled_from(["offset", "z"])
)
GOOD_FACTS = st.one_of(
    st.sampled_from(
        [
            {"affected_count": 3300},
            {"affected_scale": "about a tenth of the customers"},
            {"breach_types": ["disclosure"], "services": ["mobile"]},
            {"root_cause": "mistake", "root_cause_detail": "a flag mapped to 'publish'"},
            {"subscriber_notice": {"notified": False, "justification": "not yet decided"}},
            {"unknown_because": {"root_cause": "the supplier's analysis is not done"}},
        ]
    ),
    st.builds(lambda at: {"occurred": {"at": at, "how": "logs"}}, PAST),
)

ROWS = [
    Row(
        "discover",
        payloads(
            {"at": INSTANTS, "by": NAMES, "how": TEXTS},
            {"at": PAST, "by": st.just("On-call"), "how": st.just("customer call")},
        ),
        discovered=False,
    ),
    Row(
        "record_facts",
        payloads({"changes": st.one_of(FACTS, JSON)}, {"changes": GOOD_FACTS}),
    ),
    Row(
        "add_event",
        payloads(
            {"at": INSTANTS, "what": TEXTS, "by": NAMES, "how_established": NAMES},
            {"at": PAST, "what": st.just("export job stopped")},
            {"by": st.just("Operations"), "how_established": st.just("logs")},
        ),
    ),
    Row(
        "approve",
        payloads(
            {"by": NAMES, "late_reason": TEXTS, "track": TRACKS},
            {"by": st.just("Incident Manager")},
            {"late_reason": st.just("the relay was down"), "track": st.just("pts")},
        ),
    ),
    Row(
        "justify",
        payloads(
            {"by": NAMES, "text": TEXTS, "track": TRACKS},
            {"by": st.just("Incident Manager"), "text": st.just("The analysis is not done.")},
            {"track": st.just("pts")},
        ),
    ),
    Row(
        "record_receipt",
        payloads(
            {"by": NAMES, "filing": COUNTS, "receipt": NAMES, "at": INSTANTS, "track": TRACKS},
            {
                "by": st.just("Incident Manager"),
                "filing": st.just(1),
                "receipt": st.just("ERST-1"),
                "at": PAST,
            },
            {"track": st.just("dk"), "pdf_sha256": st.just("ab" * 32)},
        ),
    ),
    Row(
        "alert_resolved",
        payloads(
            {"fingerprint": NAMES, "at": INSTANTS}, {"at": PAST}, {"fingerprint": st.just("a1b2")}
        ),
    ),
    Row(
        "open_security_report",
        payloads({"by": NAMES, "aware_at": INSTANTS}, {"by": st.just("CISO")}, {"aware_at": PAST}),
    ),
    Row(
        "acknowledge",
        payloads(
            {"by": NAMES, "deadline": NAMES, "track": TRACKS, "link": NAMES},
            {"by": st.just("Incident Manager")},
            {"deadline": st.just("initial_report"), "link": st.just("ab" * 16)},
        ),
    ),
    Row(
        "snooze",
        payloads(
            {"by": NAMES, "minutes": st.one_of(st.integers(), SCALARS)},
            {"by": st.just("Incident Manager"), "minutes": st.sampled_from([30, 60, 120])},
        ),
    ),
    Row(
        "request_takedown",
        payloads(
            {
                "recipient": NAMES,
                "name": NAMES,
                "address": NAMES,
                "scope": TEXTS,
                "count": st.one_of(st.integers(), SCALARS),
                "by": NAMES,
            },
            {
                "recipient": st.just("eniro"),
                "name": st.just("Eniro"),
                "address": st.just("removals@eniro.example"),
                "scope": st.just("listings marked secret"),
                "count": st.just(3),
                "by": st.just("Incident Manager"),
            },
        ),
    ),
    Row(
        "report_takedown",
        payloads(
            {
                "recipient": NAMES,
                "status": st.one_of(
                    choice("acknowledged", "confirmed", "failed", "requested"), SCALARS
                ),
                "by": NAMES,
                "at": INSTANTS,
                "how_verified": TEXTS,
                "reason": TEXTS,
            },
            {
                "recipient": st.just("eniro"),
                "status": st.just("acknowledged"),
                "by": st.just("Kim"),
            },
        ),
    ),
    Row(
        "close",
        payloads(
            {"by": NAMES, "reason": TEXTS},
            {"by": st.just("Incident Manager")},
            {"reason": st.just("handed to the regulator")},
        ),
        discovered=False,
    ),
    # Telling the subscribers. Each row's incident is fresh, so the later steps are refused
    # for what is missing before them; their inputs' conversion is fuzzed all the same.
    Row(
        "assess",
        payloads(
            {
                "data_kinds": listed(choice(*DataKind)),
                "consequences": listed(choice(*Consequence)),
                "stolen": st.one_of(st.booleans(), SCALARS),
                "known_with_third_party": st.one_of(st.booleans(), SCALARS),
                "protection": st.one_of(
                    fields({"method": choice("none", "standard_encryption"), "algorithm": NAMES}),
                    JSON,
                ),
                "notes": TEXTS,
            },
            {
                "data_kinds": st.just(["secret_number_or_address"]),
                "consequences": st.just(["none_identified"]),
                "stolen": st.booleans(),
                "known_with_third_party": st.booleans(),
            },
        ),
    ),
    Row(
        "add_subscribers",
        payloads(
            {
                "source": NAMES,
                "people": listed(
                    fields(
                        {
                            "id": NAMES,
                            "name": NAMES,
                            "phone": st.one_of(st.just("+46701234567"), NAMES),
                            "email": st.one_of(st.just("anna@example.se"), NAMES),
                            "language": choice("sv", "da", "en"),
                            "time_zone": st.one_of(
                                st.just("Europe/Stockholm"), INSTANTS, xs(65, 800)
                            ),
                            "affected_items": listed(JSON),
                        }
                    )
                ),
                "skipped": listed(JSON),
                "skipped_total": COUNTS,
            },
            {"source": st.just("affected.csv")},
        ),
    ),
    Row(
        "set_notice",
        payloads(
            {
                "reference": NAMES,
                "regime": TRACKS,
                "access_from": INSTANTS,
                "access_until": INSTANTS,
                "time_estimated": st.one_of(st.booleans(), SCALARS),
                "what_happened": JSON,
                "consequences": JSON,
                "measures_taken": listed(JSON),
                "recommendations": JSON,
                "item_labels": JSON,
            }
        ),
    ),
    Row(
        "decide_notice",
        payloads(
            {
                "notify": st.one_of(st.booleans(), SCALARS),
                "exemption": JSON,
                "justification": TEXTS,
                "decided_by": NAMES,
            },
            {"notify": st.booleans(), "decided_by": st.just("Data protection officer")},
            {"justification": st.just("The data was encrypted and the key is safe.")},
        ),
    ),
    Row(
        "order_notice",
        payloads(
            {"by": NAMES, "decision_reference": NAMES, "text": TEXTS, "recorded_by": NAMES},
            {"by": st.just("PTS"), "recorded_by": st.just("Data protection officer")},
        ),
    ),
    Row(
        "record_letters",
        payloads(
            {
                "posted": COUNTS,
                "returned": COUNTS,
                "no_address": COUNTS,
                "first_posted": INSTANTS,
                "last_posted": INSTANTS,
            },
            {"posted": st.just(0), "no_address": st.just(1)},
        ),
    ),
]


# --- the incidents ---------------------------------------------------------------------------


class Incidents:
    """One open incident per update, made on first use, made again once closed."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.handles: dict[str, WorkflowHandle[Any, Any]] = {}

    async def for_row(self, row: Row) -> WorkflowHandle[Any, Any]:
        handle = self.handles.get(row.update)
        if handle is None:
            handle = await self.h.open(unique("FUZZ"))
            if row.discovered:
                aware = {"at": _from_now(-60, "offset"), "by": "On-call", "how": "fuzzing"}
                await handle.execute_update("discover", aware)
            self.handles[row.update] = handle
        return handle

    def forget(self, row: Row) -> None:
        del self.handles[row.update]


@pytest.fixture(scope="module")
async def incidents(
    dev_server: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Incidents]:
    sink = SmtpSink()
    sink.controller.start()
    try:
        async with harness(dev_server, tmp_path_factory.mktemp("fuzz"), sink) as h:
            yield Incidents(h)
    finally:
        sink.controller.stop()


async def settled_length(handle: WorkflowHandle[Any, Any]) -> int:
    """The history's length once nothing is running (a filing or page a success started)."""
    async with asyncio.timeout(30):
        while True:
            description = await handle.describe()
            raw = description.raw_description
            if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
                return description.history_length
            await asyncio.sleep(0.02)


NOT_FOR_A_PERSON = (
    "Traceback",
    'File "',
    "<class ",
    "<function ",
    " object at 0x",
    "'NoneType' object",
    "has no attribute",
    "positional argument",
    "date value out of range",
    "recursion depth",
    "Failed decoding arguments",
    "input_value=",  # the input repeated back: it can hold people's names and numbers
)


def assert_plain(message: str) -> None:
    """Words for a person: not empty, not an exception of Python's own, not the input."""
    assert message.strip(), "a refusal says why"
    for marker in NOT_FOR_A_PERSON:
        assert marker not in message, f"not for a person: {message[:500]!r}"


@pytest.mark.parametrize("row", ROWS, ids=[r.update for r in ROWS])
@FUZZ
@given(data=st.data())
async def test_update_refuses_bad_input_cleanly(
    incidents: Incidents, row: Row, data: st.DataObject
) -> None:
    payload = data.draw(row.payloads, label="payload")
    handle = await incidents.for_row(row)
    before = await settled_length(handle)
    try:
        await handle.execute_update(row.update, payload)
    except WorkflowUpdateFailedError as err:
        message = refusal_message(err)
        assert_plain(message)
        added = [
            e.event_type
            async for e in handle.fetch_history_events()
            if e.event_id > before and e.event_type not in WORKFLOW_TASK
        ]
        assert added == [], "a refused update adds nothing to history"
        first = [line for line in message.splitlines() if not line.startswith("    ")]
        event("refused: " + first[-1 if "validation error" in first[0] else 0].strip()[:60])
    else:
        event("accepted")

    state = await handle.query(IncidentWorkflow.status)
    if state.closure is not None:
        incidents.forget(row)  # closed for good: the next example gets a new incident
        return
    await settled_length(handle)
    probe = {"at": _from_now(-1, "offset"), "what": "fuzzing probe", "by": "tester"}
    await handle.execute_update("add_event", probe)
    state = await handle.query(IncidentWorkflow.status)
    assert state.timeline[-1].what == "fuzzing probe", "the workflow still takes input"


def test_every_update_has_a_row() -> None:
    """Each update the workflow defines is fuzzed (the SDK keeps its definition on the method)."""
    updates = {
        getattr(member, "_defn").name  # noqa: B009 - a private attribute, named as such
        for _, member in inspect.getmembers(IncidentWorkflow)  # its bases' updates too
        if hasattr(member, "_defn")
    }
    assert updates == {row.update for row in ROWS}
