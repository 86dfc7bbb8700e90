"""Password hashing and the parsing of a large subscriber list run off the event loop
that the engine's timers and pages share: the loop answers while they run (before, each
sign-in and each list held the loop for its whole duration).

The tests check where the work runs, not how long the loop waited: timings on a busy
machine decide nothing (a stall bound failed CI once with the hash on its thread)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from breachclock.domain.notify.subscribers import SubscriberFileError
from breachclock.runtime import offload
from breachclock.runtime.store import accounts
from breachclock.runtime.store.accounts import Account, AccountStore
from breachclock.runtime.store.db import SqliteDb
from breachclock.runtime.store.throttle import Policy, Throttle
from breachclock.service import signin
from breachclock.service.accounts import Role, hash_password, password_ok
from breachclock.service.notification import read_list
from breachclock.service.signin import Throttled, sign_in

LOOP_WAIT = 30
"""Seconds the work waits for the loop to answer (on a slow machine, under load)."""


def loop_answers(loop: asyncio.AbstractEventLoop) -> None:
    """Called from the work: returns once ``loop`` has run a callback while the work is
    in progress, and fails if it cannot (work run on the loop itself waits in vain)."""
    answered = threading.Event()
    loop.call_soon_threadsafe(answered.set)
    assert answered.wait(LOOP_WAIT), "the event loop did not run while the work ran"


async def test_sign_ins_hash_off_the_loop_one_at_a_time_at_low_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AccountStore(SqliteDb(tmp_path / "accounts.db", accounts.SCHEMA))
    await store.add_account(
        Account(name="m", role=Role.MANAGER, password_hash=hash_password("right")),
        datetime.now(UTC),
    )
    loop = asyncio.get_running_loop()
    seen: list[tuple[int, int]] = []
    at_once = 0

    def watched(account: Account | None, password: str) -> bool:
        nonlocal at_once
        at_once += 1
        try:
            seen.append((threading.get_ident(), at_once))
            loop_answers(loop)
            return password_ok(account, password)
        finally:
            at_once -= 1

    monkeypatch.setattr(signin, "password_ok", watched)
    attempts = 8
    throttle = Throttle(store.db, Policy(per_account=attempts))
    results = await asyncio.gather(
        *(sign_in(store, throttle, "m", "wrong", "10.0.0.1") for _ in range(attempts))
    )
    assert results == [None] * attempts
    assert len(seen) == attempts
    assert threading.get_ident() not in {thread for thread, _ in seen}
    assert max(count for _, count in seen) == offload.HASHERS
    hasher = await offload.in_low_thread(threading.get_native_id)
    assert os.getpriority(os.PRIO_PROCESS, hasher) >= offload.LOW_PRIORITY
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


def read_list_in_turn(path: Path, started: Path, answered: Path) -> tuple[int, object]:
    """In the worker process: say it started, wait (bounded) for the engine's loop to
    answer, then parse ``path``. Parsed on the loop itself, the answer never comes."""
    started.touch()
    deadline = time.monotonic() + LOOP_WAIT
    while not answered.exists():
        assert time.monotonic() < deadline, "the event loop did not run while the list was read"
        time.sleep(0.01)
    return os.getpid(), read_list(path)


async def test_a_large_list_is_parsed_in_the_worker_process(tmp_path: Path) -> None:
    path = big_list(tmp_path / "people.csv", 20_000)
    started, answered = tmp_path / "started", tmp_path / "answered"
    parsing = asyncio.ensure_future(offload.in_process(read_list_in_turn, path, started, answered))
    for _ in range(LOOP_WAIT * 100):
        if started.exists() or parsing.done():
            break
        await asyncio.sleep(0.01)
    answered.touch()  # the loop runs while the worker process reads
    pid, there = await parsing
    assert pid != os.getpid()
    assert there == read_list(path)


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
