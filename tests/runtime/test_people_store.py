"""The notification record on both backends: SQLite in a folder, and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from breachclock.domain.notify.delivery import CallOutcome, Status
from breachclock.domain.notify.subscribers import Subscriber
from breachclock.runtime.codec import Sealer
from breachclock.runtime.store import people as people_store
from breachclock.runtime.store.db import IN_CHUNK, PostgresDb, SqliteDb
from breachclock.runtime.store.people import Entry, NotifyStore, Walked, letter
from tests.notify_support import people
from tests.postgres import postgresql_url_fixture  # noqa: F401 - the postgresql_url fixture

SEALER = Sealer({"k": os.urandom(32)}, "k")


def sqlite(path: Path) -> NotifyStore:
    return NotifyStore(SqliteDb(path, people_store.SCHEMA), SEALER)


def postgres(url: str) -> NotifyStore:
    return NotifyStore(PostgresDb(url, people_store.SCHEMA), SEALER)


async def add(store: NotifyStore, reference: str, crowd: list[Subscriber]) -> int:
    """Stage and load one page, as the incident does; how many were new."""
    key = uuid.uuid4().hex
    await store.stage(reference, key, crowd, T0)
    return (await store.load(reference, key)).added


T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[list[NotifyStore]]:
    """Two stores on the same data, as two workers would have."""
    if request.param == "sqlite":
        made = [sqlite(tmp_path / "notify.db") for _ in range(2)]
        yield made
        for store in made:
            await store.db.close()
        return
    server: str = request.getfixturevalue("postgresql_url")
    name = f"n_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = server.rsplit("/", 1)[0] + "/" + name
    made = [postgres(url) for _ in range(2)]
    yield made
    for store in made:
        await store.db.close()
    admin = await asyncpg.connect(server)
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


async def test_people_are_added_once_in_sequence(stores: list[NotifyStore]) -> None:
    store, _ = stores
    assert await add(store, "INC-1", people(3)) == 3
    assert await add(store, "INC-1", people(5)) == 2, "the first three are known"
    assert await add(store, "INC-2", people(1)) == 1, "another incident has its own list"
    due = await store.due("INC-1", 0, 10, T0)
    assert [(r.seq, r.person.id) for r in due] == [(i, f"S{i + 1:06d}") for i in range(5)]
    assert (await store.counts("INC-1")).total == 5


async def test_an_attempt_is_recorded_once_and_moves_the_person_once(
    stores: list[NotifyStore],
) -> None:
    first, second = stores
    await add(first, "INC-1", people(1))
    key = "INC-1:S000001:call:1"
    later = T0 + timedelta(hours=2)

    async def record(store: NotifyStore, claim: str = "a") -> bool:
        return await store.record(
            Entry(
                "INC-1",
                "S000001",
                key,
                "call",
                1,
                "no_answer",
                T0,
                Status.PENDING,
                later,
                calls_made=0,
                claim=claim,
            )
        )

    # Two workers racing on one key: one row, one move.
    results = await asyncio.gather(record(first, "a"), record(second, "b"))
    assert sorted(results) == [False, True]
    assert not await record(first), "a retry changes nothing"
    (person,) = await first.due("INC-1", 0, 1, later)
    assert (person.calls_made, person.last_outcome) == (1, CallOutcome.NO_ANSWER)
    assert await first.due("INC-1", 0, 1, T0) == [], "not due before the spacing"
    assert await first.next_due("INC-1", 0, 1) == later
    assert await first.recorded([key, "other"]) == {key: "no_answer"}
    counts = await second.counts("INC-1")
    assert counts.people == {Status.PENDING: 1} and counts.calls == {CallOutcome.NO_ANSWER: 1}

    assert await first.record(
        Entry(
            "INC-1",
            "S000001",
            "INC-1:S000001:email",
            "email",
            1,
            "sent",
            later,
            Status.EMAILED,
            None,
            calls_made=1,
            claim="c",
        )
    )
    assert await first.next_due("INC-1", 0, 1) is None, "done: nothing more is due"
    assert [a.channel for a in await second.attempts("INC-1", "S000001")] == ["call", "email"]


async def test_the_worklist_hands_a_call_to_one_agent_until_the_hold_runs_out(
    stores: list[NotifyStore],
) -> None:
    first, second = stores
    await first.enqueue("INC-1", [("INC-1:S1:call:1", "S1", "{}")], T0)
    await first.enqueue("INC-1", [("INC-1:S1:call:1", "S1", "{}")], T0)  # again: once
    assert await first.calls_out("INC-1", T0) == (0, 1), "waiting for an agent"
    claims = await asyncio.gather(first.claim("a", T0, 60), second.claim("b", T0, 60))
    assert sorted(c is not None for c in claims) == [False, True], "one agent gets it"
    assert await second.calls_out("INC-1", T0) == (1, 0), "being made"
    assert await second.calls_out("INC-1", T0 + timedelta(seconds=61)) == (0, 1), "hold ran out"
    assert await first.claim("c", T0 + timedelta(seconds=30), 60) is None
    again = await second.claim("c", T0 + timedelta(seconds=61), 60)
    assert again is not None and again.key == "INC-1:S1:call:1"
    busy = CallOutcome.BUSY
    assert not await first.report(again.key, busy, None, T0, "a"), "a held it before: not now"
    assert await first.report(again.key, busy, None, T0, "c")
    assert not await second.report(again.key, CallOutcome.NO_ANSWER, None, T0, "c")
    assert await first.reported([again.key]) == {again.key: (busy, None)}
    assert await first.claim("d", T0 + timedelta(hours=1), 60) is None, "recorded: off the list"
    assert await first.calls_out("INC-1", T0 + timedelta(hours=1)) == (0, 0)


async def listed_for_letters(store: NotifyStore, reference: str, count: int) -> list[str]:
    """``count`` people on the list, each listed for a letter as a campaign lists them."""
    await add(store, reference, people(count))
    for person in await store.due(reference, 0, count, T0):
        assert await store.record(people_store.letter(reference, person, T0, "c", "none"))
    return [f"S{i + 1:06d}" for i in range(count)]


async def test_print_batches_made_at_once_hold_each_person_once(
    stores: list[NotifyStore],
) -> None:
    first, second = stores
    ids = await listed_for_letters(first, "INC-1", 12)
    addressed = ids[:10]  # the last two have no postal address: never in a batch

    made = await asyncio.gather(
        *(
            (first, second)[n % 2].make_batch("INC-1", f"b{n}", addressed, T0, "Mia")
            for n in range(20)
        )
    )
    batches = await first.batches("INC-1")
    assert sum(made) == 10 and sum(b.people for b in batches) == 10
    assert len(batches) == sum(1 for n in made if n), "a batch of nobody is not kept"
    held = [r.person.id for b in batches for r in await second.in_batch("INC-1", b.id)]
    assert sorted(held) == addressed, "each person with an address in exactly one batch"
    assert [b.number for b in batches] == list(range(1, len(batches) + 1))
    assert await first.make_batch("INC-1", "late", addressed, T0, "Mia") == 0


async def test_a_batch_posted_many_times_at_once_records_each_letter_once(
    stores: list[NotifyStore],
) -> None:
    first, second = stores
    ids = await listed_for_letters(first, "INC-1", 4)
    await first.make_batch("INC-1", "b1", ids, T0, "Mia")
    posted_at = T0 + timedelta(days=1)

    new = await asyncio.gather(
        *(
            (first, second)[n % 2].post(
                "INC-1", "b1", posted_at + timedelta(minutes=n), "Mia", posted_at
            )
            for n in range(20)
        )
    )
    assert sorted(new) == [0] * 19 + [4], "one call posts the four letters, the rest nothing"
    (batch,) = await second.batches("INC-1")
    assert batch.posted_at is not None and batch.posted_by == "Mia"
    record = await first.letters("INC-1")
    assert (record.posted, record.returned) == (4, 0)
    assert record.first_posted == record.last_posted == batch.posted_at, "the first day stands"
    keys = {a.key for a in await first.attempts("INC-1", "S000001")}
    assert "INC-1:S000001:letter:posted" in keys

    returned = "INC-1:S000001:letter:returned"
    posted = "INC-1:S000001:letter:posted"
    twice = await asyncio.gather(
        *(
            (first, second)[n % 2].returned("INC-1", "S000001", returned, posted, T0, "Mia")
            for n in range(10)
        )
    )
    assert sorted(bool(t) for t in twice) == [False] * 9 + [True] and None not in twice
    assert (await first.letters("INC-1")).returned == 1
    unposted = await first.returned("INC-1", "S000009", "x:returned", "x:posted", T0, "Mia")
    assert unposted is None, "only a posted letter can come back"


async def test_a_round_reads_everyone_s_tries_at_once_and_writes_each_person_once(
    stores: list[NotifyStore],
) -> None:
    """``attempts_of`` answers for a whole round (past one ``IN`` chunk), and a person's
    step (``Walked``) is one write: two rounds racing on it settle and move them once."""
    first, second = stores
    await add(first, "INC-1", people(3))
    sms = "INC-1:S000001:sms:1"
    sent = Entry("INC-1", "S000001", sms, "sms", 1, "accepted", T0, Status.PENDING, None, 0, "a")
    await first.walked(Walked("INC-1", "S000001", entries=[sent], until=T0 + timedelta(seconds=1)))
    asked = ["S000001", "S000002", "S000003"] + [f"X{i}" for i in range(IN_CHUNK)]
    found = await second.attempts_of("INC-1", asked)
    assert set(found) == set(asked)
    assert [(a.key, a.outcome) for a in found["S000001"]] == [(sms, "accepted")]
    assert found["S000002"] == [] and found["X0"] == []

    reported = Walked("INC-1", "S000001", settled=[(sms, "delivered")], reached=Status.TEXTED)
    await asyncio.gather(first.walked(reported), second.walked(reported))
    (nobody,) = await first.due("INC-1", 1, 2, T0)  # S000002 never tried: a letter
    await second.walked(
        Walked("INC-1", "S000002", letter=letter("INC-1", nobody, T0, "b", "no contact"))
    )
    counts = await first.counts("INC-1")
    assert counts.people == {Status.TEXTED: 1, Status.UNREACHABLE: 1, Status.PENDING: 1}
    assert [(a.key, a.outcome) for a in await first.attempts("INC-1", "S000001")] == [
        (sms, "delivered")
    ]


async def test_postgresql_keeps_no_statistics_of_which_incident_a_row_belongs_to(
    stores: list[NotifyStore],
) -> None:
    """Migration 5: statistics that knew only earlier incidents planned a new campaign's
    counts over every row of the incident; without them the planner cannot."""
    store, _ = stores
    if store.db.dialect != "postgresql":
        pytest.skip("SQLite gathers statistics only when asked (ANALYZE)")
    await add(store, "INC-1", people(1))
    rows = await store.db.query(
        "SELECT c.relname, a.attstattarget FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid"
        " WHERE c.relname IN ('recipients', 'attempts') AND a.attname = 'reference'"
    )
    assert sorted(rows) == [("attempts", 0), ("recipients", 0)]
