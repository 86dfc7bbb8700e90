"""Longest modules first on every xdist worker, so the run does not end on one long test
while the other cores idle.

``--dist worksteal`` hands each worker a contiguous share of the collection, in order,
and an idle worker later steals the back half of the busiest one's queue. So the
collection is laid out as one share per worker: the known-slow modules dealt out
longest first (each to the share with the least known time so far) at the front of the
shares, the rest of the modules after them in their usual order. What is stolen at
the end is then short tests. A module is never split across shares by the dealing, so
its module-scoped fixtures (a Kannel, a built wheel) start once. Without xdist the
order is pytest's own.
"""

from __future__ import annotations

import os

import pytest

SLOW_MODULES = {
    "workflows/test_fuzz_updates.py": 128,
    "test_bench_smoke.py": 114,
    "workflows/test_local_sends.py": 83,
    "workflows/test_campaign_kill.py": 81,
    "web/test_browser.py": 79,
    "channels/test_campaign_plans.py": 75,
    "workflows/test_replay.py": 68,
    "web/test_schemathesis.py": 59,
    "test_docs.py": 58,
    "test_packaging.py": 57,
    "runtime/test_engine_lock.py": 50,
    "cli/test_fuzz_cli.py": 49,
    "workflows/test_workflow_clocks.py": 40,
    "workflows/test_bad_input.py": 39,
    "workflows/test_campaign.py": 33,
    "runtime/test_offload.py": 30,
    "workflows/test_replay_stale.py": 26,
    "web/test_temporal_ui.py": 25,
    "workflows/test_exactly_once.py": 25,
    "channels/test_sms_kannel.py": 22,
    "test_monitoring.py": 21,
    "workflows/test_worker_crash.py": 21,
    "web/test_process.py": 21,
    "web/test_console.py": 20,
    "cli/test_demo.py": 17,
    "cli/test_notification.py": 15,
    "cli/test_cli.py": 14,
}
"""Seconds a module takes under ``-n 2`` on a slow 2-core machine (``make test``'s
``--durations``, summed, December 2026): a guide to the order, not a limit. A module
missing here only runs later."""


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0].removeprefix("tests/")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the cores this process may use. A fifth of the
    suite's time is spent waiting (a relay's retry, a killed worker's restart, a browser),
    and a third worker fills it: 757 s against 799 s on 2 cores (December 2026)."""
    return len(os.sched_getaffinity(0)) + 1


def shares(total: int, workers: int) -> list[int]:
    """How many tests worksteal first sends each worker: an even split, in worker order."""
    sizes = []
    for left in range(workers, 0, -1):
        sizes.append((total - sum(sizes)) // left)
    return sizes


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers < 2:
        return
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(module_of(item), []).append(item)
    slow = sorted((m for m in modules if m in SLOW_MODULES), key=lambda m: -SLOW_MODULES[m])
    fronts: list[list[pytest.Item]] = [[] for _ in range(workers)]
    known = [0] * workers
    for module in slow:
        share = known.index(min(known))
        fronts[share] += modules[module]
        known[share] += SLOW_MODULES[module]
    rest = [
        item for module, group in modules.items() if module not in SLOW_MODULES for item in group
    ]
    ordered: list[pytest.Item] = []
    for front, size in zip(fronts, shares(len(items), workers), strict=True):
        fill = max(0, size - len(front))
        ordered += front + rest[:fill]
        rest = rest[fill:]
    items[:] = ordered + rest
