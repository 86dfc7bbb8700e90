"""Password hashing and the parsing of a large subscriber list run off the event loop
that the engine's timers and pages share: a ticker on the loop keeps ticking while
they run (before, each sign-in and each list held the loop for its whole duration)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from breachclock.domain.notify.subscribers import SubscriberFileError
from breachclock.runtime import offload
from breachclock.runtime.store import accounts
from breachclock.runtime.store.accounts import Account, AccountStore
from breachclock.runtime.store.db import SqliteDb
from breachclock.runtime.store.throttle import Policy, Throttle
from breachclock.service.accounts import Role, hash_password, password_ok
from breachclock.service.notification import read_list
from breachclock.service.signin import Throttled, sign_in


async def longest_stall(work: Awaitable[Any]) -> tuple[float, Any]:
    """The longest the loop went without running a 1 ms ticker while ``work`` ran."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    try:
        result = await work
    finally:
        done.set()
        await ticker
    return max(gaps), result


async def test_sign_ins_leave_the_loop_free(tmp_path: Path) -> None:
    store = AccountStore(SqliteDb(tmp_path / "accounts.db", accounts.SCHEMA))
    hashed = hash_password("right")
    await store.add_account(
        Account(name="m", role=Role.MANAGER, password_hash=hashed), datetime.now(UTC)
    )
    account = await store.account("m")
    began = time.perf_counter()
    assert not password_ok(account, "wrong")
    one = time.perf_counter() - began  # one check, on the loop, as before
    attempts = 8
    throttle = Throttle(store.db, Policy(per_account=attempts))
    stall, results = await longest_stall(
        asyncio.gather(
            *(sign_in(store, throttle, "m", "wrong", "10.0.0.1") for _ in range(attempts))
        )
    )
    assert results == [None] * attempts
    assert stall < one / 2, (
        f"the loop stalled {stall * 1000:.0f} ms (one check: {one * 1000:.0f} ms)"
    )
    await store.close()


async def test_sign_ins_beyond_the_hash_queue_are_refused_not_queued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AccountStore(SqliteDb(tmp_path / "accounts.db", accounts.SCHEMA))
    throttle = Throttle(store.db, Policy(per_account=50, per_address=50))
    monkeypatch.setattr(offload, "LOW_QUEUE", 3)
    outcomes = await asyncio.gather(
        *(sign_in(store, throttle, "m", "wrong", "10.0.0.1") for _ in range(10)),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, Throttled)]
    assert outcomes.count(None) == offload.LOW_QUEUE
    assert len(refused) == 10 - offload.LOW_QUEUE
    assert all(r.retry_after > 0 for r in refused)
    await store.close()


def big_list(path: Path, rows: int) -> Path:
    lines = ["id,name,phone,email,language,affected_items"]
    lines += [
        f"S{n},Person {n},+4670{n:07d},p{n}@example.org,sv,secret number" for n in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_a_large_list_is_parsed_in_the_worker_process(tmp_path: Path) -> None:
    path = big_list(tmp_path / "people.csv", 20_000)
    began = time.perf_counter()
    here = read_list(path)
    inline = time.perf_counter() - began
    await offload.in_process(read_list, path)  # the worker process started
    stall, there = await longest_stall(offload.in_process(read_list, path))
    assert there == here
    assert stall < inline / 2, (
        f"the loop stalled {stall * 1000:.0f} ms (inline: {inline * 1000:.0f} ms)"
    )


async def test_a_refused_list_is_refused_from_the_worker_process(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,name,phone,affected_items\nS1,Anna,not a number,address\n")
    with pytest.raises(SubscriberFileError) as caught:
        await offload.in_process(read_list, path)
    assert caught.value.rejected and caught.value.rejected[0].line == 2


ENGINE_KILLED = """
import asyncio, multiprocessing, os, signal
from breachclock.runtime import offload

async def main():
    async with offload.process_held():
        await offload.in_process(len, "started")
        (worker,) = multiprocessing.active_children()
        print(worker.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


def test_the_worker_process_ends_with_a_killed_engine() -> None:
    """An engine killed outright (``kill -9``, out of memory) leaves no worker process
    behind waiting for work forever."""
    engine = subprocess.run(
        [sys.executable, "-c", ENGINE_KILLED], capture_output=True, text=True, timeout=60
    )
    assert engine.returncode == -signal.SIGKILL, engine.stderr
    pid = int(engine.stdout)
    deadline = time.monotonic() + 10 * offload.ORPHAN_CHECK
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid), f"the worker process {pid} outlived its engine"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
