"""The suite's schedule names modules that exist (a renamed one would silently run last)."""

from __future__ import annotations

from pathlib import Path

from tests.schedule import SLOW_MODULES, shares

TESTS = Path(__file__).parent


def test_every_slow_module_is_a_test_module() -> None:
    missing = [m for m in SLOW_MODULES if not (TESTS / m).is_file()]
    assert missing == []


def test_shares_split_the_collection_evenly_in_worker_order() -> None:
    assert shares(10, 3) == [3, 3, 4]
    assert sum(shares(1487, 3)) == 1487
