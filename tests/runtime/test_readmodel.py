"""The read model on both backends (SQLite in a folder, a real PostgreSQL server): a
projection is kept once, the newest version wins whatever the order and however many
workers write at once, and the change feed numbers what it kept in commit order."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from breachclock.domain.incident import lifecycle
from breachclock.domain.incident.model import (
    Closure,
    Discover,
    IncidentState,
    Policy,
    TimelineEntry,
    Track,
)
from breachclock.domain.incident.register import RECENT_ENTRIES, Entry, most_urgent_first
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime.codec import Sealer
from breachclock.runtime.config import Settings
from breachclock.runtime.store import readmodel
from breachclock.runtime.store.db import PostgresDb, SqliteDb
from breachclock.runtime.store.readmodel import Projected, ReadModel
from breachclock.service.engine import Engine
from breachclock.service.register import register, register_mark, register_view
from tests.postgres import (  # noqa: F401 - the postgresql_url fixture
    postgresql_url_fixture,
    scratch_database,
)

SEALER = Sealer({"k": os.urandom(32)}, "k")
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

MakeView = Callable[[], ReadModel]
"""Another "worker" on the same read model: its own connections."""


@pytest.fixture(params=["sqlite", "postgresql"])
async def views(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeView]:
    opened: list[ReadModel] = []

    def opener(make: Callable[[], ReadModel]) -> MakeView:
        def view() -> ReadModel:
            opened.append(make())
            return opened[-1]

        return view

    if request.param == "sqlite":
        path = tmp_path / "readmodel.db"
        yield opener(lambda: ReadModel(SqliteDb(path, readmodel.SCHEMA), SEALER))
    else:
        async with scratch_database(request.getfixturevalue("postgresql_url")) as url:
            yield opener(lambda: ReadModel(PostgresDb(url, readmodel.SCHEMA), SEALER))
    for view in opened:
        await view.close()


def state_at(reference: str, version: int) -> IncidentState:
    """The incident as its ``version``-th projection would carry it: one entry per version."""
    return IncidentState(
        reference=reference,
        title=f"Numbers published ({reference})",
        regime=RegimeCode.PTS,
        opened_at=T0,
        opened_by="Incident Manager",
        policy=Policy(),
        timeline=[
            TimelineEntry(at=T0 + timedelta(minutes=n), what=f"step {n}", recorded_at=T0)
            for n in range(version)
        ],
    )


async def test_a_projection_is_kept_once_and_an_older_one_changes_nothing(
    views: MakeView,
) -> None:
    view = views()
    assert await view.state("RM-1") is None
    assert await view.project(2, state_at("RM-1", 2)) is True
    first = await view.changed_since(0)
    assert [(c.reference, c.version) for c in first] == [("RM-1", 2)]
    assert await view.project(2, state_at("RM-1", 2)) is False, "a duplicate"
    assert await view.project(1, state_at("RM-1", 1)) is False, "a straggler"
    assert await view.changed_since(first[-1].seq) == [], "neither reaches the feed"
    assert await view.state("RM-1") == Projected(2, state_at("RM-1", 2), 2)
    # a rebuild's state of the same version (read later) replaces it; an older one does not
    assert await view.project(2, state_at("RM-1", 3), rebuild=True) is True
    assert await view.project(1, state_at("RM-1", 1), rebuild=True) is False
    assert await view.state("RM-1") == Projected(2, state_at("RM-1", 3), 3)


async def test_concurrent_workers_keep_the_newest_version_of_each_incident(
    views: MakeView,
) -> None:
    """Four "workers" write every version of five incidents twice, shuffled, at once:
    each incident ends at its newest version, and the feed lists each kept write once,
    numbered in the order the writes committed."""
    workers = [views() for _ in range(4)]
    versions = 12
    writes = [(f"RM-{i}", v) for i in range(5) for v in range(1, versions + 1)] * 2
    random.Random(19).shuffle(writes)
    kept = await asyncio.gather(
        *(
            workers[n % len(workers)].project(v, state_at(reference, v))
            for n, (reference, v) in enumerate(writes)
        )
    )
    for i in range(5):
        kept_now = await workers[i % 4].state(f"RM-{i}")
        assert kept_now == Projected(versions, state_at(f"RM-{i}", versions), versions)
    assert sum(kept) >= 5
    feed = await workers[0].changed_since(0)
    assert sorted(c.reference for c in feed) == [f"RM-{i}" for i in range(5)]
    assert all(c.version == versions for c in feed)
    assert [c.seq for c in feed] == sorted({c.seq for c in feed}), "strictly increasing"
    assert await workers[1].last_seq() >= feed[-1].seq


def discovered(reference: str, aware_at: datetime) -> IncidentState:
    state = state_at(reference, 0)
    state.discovery = Discover(at=aware_at, by="On-call", how="a customer asked")
    state.tracks = [Track(regime=RegimeCode.PTS, aware_at=aware_at)]
    lifecycle.start_track(state.tracks[0])
    return state


async def test_the_register_rows_come_most_urgent_first(views: MakeView) -> None:
    view = views()
    later = discovered("RM-A", T0 + timedelta(hours=2))
    sooner = discovered("RM-B", T0)
    undiscovered = state_at("RM-C", 0)
    closed = state_at("RM-D", 0)
    closed.closure = Closure(at=T0, by="Incident Manager", reason="false alarm")
    for state in (closed, undiscovered, later, sooner):
        await view.project(1, state)
    rows = await view.rows()
    assert [r.reference for r in rows] == ["RM-B", "RM-A", "RM-C", "RM-D"]
    assert [r.state for r in rows] == ["discovered", "discovered", "opened", "closed"]
    assert rows[0].next_deadline == T0 + timedelta(hours=24), "PTS: 24 hours from awareness"
    assert rows[-1].closed_reason == "false alarm"
    # What orders and filters the register, read from columns without unsealing; the
    # rows themselves only for the references asked for.
    assert most_urgent_first(await view.entries()) == [Entry.of(r) for r in rows]
    assert await view.rows_of(["RM-D", "RM-B", "RM-NONE"]) == {"RM-B": rows[0], "RM-D": rows[-1]}
    assert await view.rows_of([]) == {}


async def test_rows_projected_before_the_register_columns_are_read_whole(
    views: MakeView,
) -> None:
    """A row kept by schema version 1 has no columns: its entry comes from the sealed row
    until the incident's next projection writes them."""
    view = views()
    closed = state_at("RM-OLD", 0)
    closed.closure = Closure(at=T0, by="Incident Manager", reason="false alarm")
    await view.project(1, closed)
    await view.project(1, discovered("RM-NEW", T0))
    await view.db.atomic(
        [
            (
                "UPDATE incident_view SET state = NULL, regime = NULL, never_filed = NULL"
                " WHERE reference = ?",
                ("RM-OLD",),
            )
        ]
    )
    entries = {e.reference: e for e in await view.entries()}
    assert entries["RM-OLD"] == Entry.of((await view.rows_of(["RM-OLD"]))["RM-OLD"])
    assert entries["RM-OLD"].state == "closed" and entries["RM-OLD"].never_filed is False
    assert entries["RM-NEW"].next_deadline == T0 + timedelta(hours=24)


async def test_a_page_gets_the_latest_entries_by_when_they_happened(views: MakeView) -> None:
    """However long the timeline, the page's row holds its latest entries (an entry added
    later about an earlier moment sorts where it happened) and the count of all."""
    view = views()
    state = state_at("RM-LONG", RECENT_ENTRIES + 50)
    early = TimelineEntry(at=T0 - timedelta(days=1), what="first sign", recorded_at=T0)
    state.timeline.append(early)
    await view.project(1, state)
    found = await view.state("RM-LONG")
    assert found is not None and found.timeline_total == RECENT_ENTRIES + 51
    assert len(found.state.timeline) == RECENT_ENTRIES
    assert early not in found.state.timeline
    assert found.state.timeline[-1].what == f"step {RECENT_ENTRIES + 49}"
    assert found.state.timeline[0].what == "step 50"
    assert found.state.model_copy(update={"timeline": []}) == state.model_copy(
        update={"timeline": []}
    )


async def test_a_register_page_unseals_its_rows_and_the_register_has_the_last_word(
    tmp_path: Path,
) -> None:
    """A page of a view is the same as the whole register's slice of it, and a closed
    incident the read model still shows open (its last projection not kept yet) is
    closed on the page, as the store's register says."""
    key = base64.b64encode(os.urandom(32)).decode()
    settings = Settings(
        BREACHCLOCK_DATA_DIR=tmp_path, BREACHCLOCK_CODEC_KEYS=json.dumps({"k": key})
    )
    engine = Engine(settings)
    late = discovered("RM-LATE", T0)
    async with engine.read_model() as view, engine.records() as store:
        for n in range(60):
            await view.project(1, discovered(f"RM-{n:02d}", T0 + timedelta(minutes=n)))
        await view.project(1, late)
        late.closure = Closure(at=T0, by="Incident Manager", reason="false alarm")
        await store.register("RM-LATE", T0, late.model_dump_json())
    whole = (await register(engine)).complete()
    shown = await register_view(engine, "open", "pts", 10, 25)
    opened = [r for r in whole if r.state != "closed"]
    assert shown.total == 60 == len(opened) and shown.rows == opened[10:35]
    closed = await register_view(engine, "closed", None, 0, 50)
    assert closed.total == 1 and closed.rows[0].closed_reason == "false alarm"
    assert closed.rows == [r for r in whole if r.reference == "RM-LATE"]
    assert (await register_view(engine, "open", "imy", 0, 50)).total == 0
    # A live register page looks at the feed's number and the closed count, not the rows.
    before = await register_mark(engine)
    async with engine.read_model() as view:
        await view.project(2, late)
    assert await register_mark(engine) == (before[0] + 1, before[1])
