"""Every test in one tier, so ``make test-fast`` can run the first two alone.

- ``domain``: pure rules and static checks, no process, server or socket;
- ``engine``: real parts in the test's process (Temporal's time-skipping or dev
  server, SMTP on 127.0.0.1, PostgreSQL, the API through its ASGI app), and the
  documentation site's strict build;
- ``browser``: Chromium driving the console;
- ``slow``: whole programs as an operator runs them (the CLI, ``make run``), faults (kills, restarts),
  fuzzing, the wheel and the README walkthrough.

A test marked with a tier keeps it; the others get their folder's or module's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("domain", "engine", "browser", "slow")
TESTS = Path(__file__).parent

BY_PATH = {
    "domain": "domain",
    "test_architecture.py": "domain",
    "test_schedule.py": "domain",
    "test_deploy.py": "domain",
    "web/test_browser.py": "browser",
    "test_packaging.py": "slow",
    "test_docs.py": "engine",
    "test_bench_smoke.py": "slow",
    "cli": "slow",
    "runtime/test_engine_lock.py": "slow",
    "workflows/test_fuzz_updates.py": "slow",
    "workflows/test_campaign_kill.py": "slow",
    "workflows/test_worker_crash.py": "slow",
    "workflows/test_server_restart.py": "slow",
    "web/test_process.py": "slow",
}
"""A path under tests/ (a folder or a module) and its tier; the longest match wins;
anything not listed is ``engine``."""


def tier_of(path: Path) -> str:
    relative = path.resolve().relative_to(TESTS.resolve()).as_posix()
    matches = [p for p in BY_PATH if relative == p or relative.startswith(p + "/")]
    return BY_PATH[max(matches, key=len)] if matches else "engine"


def pytest_configure(config: pytest.Config) -> None:
    for tier in TIERS:
        config.addinivalue_line("markers", f"{tier}: the {tier} tier (tests/tiers.py)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(t) for t in TIERS):
            item.add_marker(getattr(pytest.mark, tier_of(item.path)))
