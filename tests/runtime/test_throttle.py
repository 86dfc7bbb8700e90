"""The sign-in throttle on both backends: tries are claimed by one statement each, so
fifty at once get the limit and no more; a lock after the limit's failures, longer each
time, ending by itself; and a token's use logged once an hour under concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from breachclock.runtime.store.accounts import AccountStore
from breachclock.runtime.store.throttle import Policy, Throttle
from tests.postgres import postgresql_url_fixture  # noqa: F401 - the postgresql_url fixture
from tests.runtime.test_account_store import NOW, store  # noqa: F401 - the store fixture

POLICY = Policy(per_account=5, per_address=20)


async def test_fifty_tries_at_once_get_the_limit_and_then_a_lock(store: AccountStore) -> None:  # noqa: F811
    throttle = Throttle(store.db, POLICY)
    keys = throttle.keys("maria", "10.0.0.9")
    claimed = await asyncio.gather(*(throttle.claim(keys, NOW) for _ in range(50)))
    assert sum(claimed) == POLICY.per_account
    failures = await asyncio.gather(*(throttle.failed(keys, NOW) for _ in range(sum(claimed))))
    assert sum(failures) == 1, "one failure locks; the others find it locked"
    first = POLICY.first_lock.total_seconds()
    assert await throttle.wait(keys, NOW) == int(first)
    assert not await throttle.claim(keys, NOW + POLICY.first_lock / 2), "locked"
    assert await throttle.claim(keys, NOW + POLICY.first_lock), "the lock ends by itself"

    # Four more failures (five with the one just claimed): locked twice as long.
    later = NOW + POLICY.first_lock
    for _ in range(POLICY.per_account - 1):
        assert await throttle.claim(keys, later)
    assert await throttle.failed(keys, later)
    assert await throttle.wait(keys, later) == int(2 * first)

    # A day after the lock ended the back-off starts from the first again.
    after = later + 2 * POLICY.first_lock + POLICY.forgiven + timedelta(seconds=1)
    for _ in range(POLICY.per_account):
        assert await throttle.claim(keys, after)
    assert await throttle.failed(keys, after)
    assert await throttle.wait(keys, after) == int(first)


async def test_the_address_counts_over_names_and_a_success_gives_back(store: AccountStore) -> None:  # noqa: F811
    throttle = Throttle(store.db, POLICY)
    place = "10.0.0.7"
    for n in range(POLICY.per_address):
        keys = throttle.keys(f"name{n}", place)
        assert await throttle.claim(keys, NOW)
        await throttle.failed(keys, NOW)
    assert not await throttle.claim(throttle.keys("someone-else", place), NOW)
    assert await throttle.claim(throttle.keys("someone-else", "10.0.0.8"), NOW)

    account, address = keys = throttle.keys("erik", "10.0.0.6")
    for _ in range(3 * POLICY.per_account):  # successes do not use up tries
        assert await throttle.claim(keys, NOW)
        await throttle.succeeded(account, (address,))


async def test_a_token_use_is_logged_once_an_hour(store: AccountStore) -> None:  # noqa: F811
    await store.add_token("t1", "billing", "auditor", NOW)
    found = await asyncio.gather(*(store.token("t1", NOW, "10.0.0.5") for _ in range(30)))
    assert all(found)
    await store.token("t1", NOW + timedelta(minutes=59), "10.0.0.5")
    await store.token("t1", NOW + timedelta(minutes=61), "10.0.0.6")
    rows = await store.db.query("SELECT actor, action, address FROM audit ORDER BY seq")
    token_id = found[0].id if found[0] else ""
    actor = f"billing ({token_id})"
    assert rows == [
        (actor, "audit.token.used", "10.0.0.5"),
        (actor, "audit.token.used", "10.0.0.6"),
    ]
