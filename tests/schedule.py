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

import pytest

SLOW_MODULES = {
    "channels/test_campaign_plans.py": 74,
    "web/test_browser.py": 51,
    "cli/test_notification.py": 49,
    "cli/test_cli.py": 40,
    "runtime/test_engine_lock.py": 40,
    "test_packaging.py": 35,
    "web/test_schemathesis.py": 33,
    "workflows/test_campaign_kill.py": 30,
    "web/test_process.py": 26,
    "test_docs.py": 24,
    "workflows/test_worker_crash.py": 24,
    "test_bench_smoke.py": 24,
    "workflows/test_bad_input.py": 23,
    "web/test_temporal_ui.py": 21,
    "cli/test_examples.py": 18,
    "workflows/test_server_restart.py": 14,
    "cli/test_demo.py": 13,
    "cli/test_fuzz_cli.py": 12,
    "cli/test_containment.py": 12,
    "runtime/test_encryption.py": 11,
    "cli/test_ownership.py": 11,
    "golden/test_goldens.py": 9,
}
"""Seconds a module takes under ``-n 2`` (``make test``'s ``--durations``, summed; the
campaign kill, packaging and engine-lock figures are estimates after they were cut): a
guide to the order, not a limit. A module missing here only runs later."""


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0].removeprefix("tests/")


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
