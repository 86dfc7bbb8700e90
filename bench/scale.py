"""Scale out: one campaign on the PostgreSQL store, run by one worker process and then
by two, as ``deploy/`` runs them, in the same run.

The campaign is (a) of ``bench.notify``: ``--n`` people, each called five times
without an answer (the simulator, no latency, no spacing) and then e-mailed, in the
product's 500-person slices. The workers are ``worker.py`` processes with the store
on a throw-away PostgreSQL server on 127.0.0.1 (``tests.postgres``), the embedded dev
server and an SMTP server on 127.0.0.1 that counts what it takes. The baseline is the
same campaign with one worker process: the speed-up is its time over the time with
two. Each worker's CPU time shows whether the second process used the second core.

Every campaign must tell everyone exactly once: each person's e-mail counted at the
SMTP server under its own key, the campaign's counts and the filing's notice fact.

    .venv/bin/python -m bench.scale [--n 20000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from bench.embedded import embedded
from bench.measure import ALL_DAY, Memory, server_pid, status_kib
from bench.notify import BATCH, PARALLEL, Outcome, campaign, stalls_at_midnight
from bench.smtp_sink import SmtpSink
from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import free_port
from tests.cli_fork import Forked
from tests.cli_support import start_worker, worker_env
from tests.postgres import postgres_server

OVERRIDES: dict[str, Any] = {
    "BREACHCLOCK_SIMULATOR_OUTCOMES": {"no_answer": 1.0},
    "BREACHCLOCK_SIMULATOR_LATENCY_MS": 0,
    "BREACHCLOCK_CALL_ATTEMPTS": 5,
    "BREACHCLOCK_CALL_SPACING_MINUTES": 0,
    "BREACHCLOCK_CALLING_HOURS": ALL_DAY,
    "BREACHCLOCK_NOTIFY_BATCH": BATCH,
    "BREACHCLOCK_NOTIFY_PARALLEL": PARALLEL,
}
"""The settings of ``bench.notify``'s (a), given to the engine here and to each worker."""
CALLS_EACH = 5
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Scaled:
    workers: int
    outcome: Outcome
    cpu: list[float]
    """Each worker's CPU seconds (user and system) over the campaign."""
    rss_mib: list[float]
    """Each worker's peak resident memory."""


def cpu_seconds(pid: int) -> float:
    """A process's user and system time so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def as_env(values: dict[str, Any]) -> dict[str, str]:
    return {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in values.items()}


async def with_workers(
    env: WorkflowEnvironment,
    settings: Settings,
    sink: SmtpSink,
    store_url: str,
    workers: int,
    people: int,
) -> Scaled:
    """The campaign of ``people`` run by ``workers`` worker processes of their own queue."""
    queue = f"bench-scale-{workers}-{os.urandom(3).hex()}"
    # The bench loads the list where the workers read it: the same PostgreSQL.
    here = settings.model_copy(update={"task_queue": queue, "store_url": SecretStr(store_url)})
    # As deploy/ runs them: one data folder each (an engine holds its folder), and the
    # codec and link keys shared, the codec's with this process, which starts the runs.
    keys, active = settings.keyring()
    variables = worker_env(
        env,
        here,
        settings.smtp_port,
        **as_env(OVERRIDES),
        BREACHCLOCK_STORE_URL=store_url,
        BREACHCLOCK_CODEC_KEYS=json.dumps(
            {k: base64.b64encode(v).decode() for k, v in keys.items()}
        ),
        BREACHCLOCK_CODEC_ACTIVE_KEY=active,
        BREACHCLOCK_LINK_KEY=base64.b64encode(os.urandom(32)).decode(),
    )
    folders = [
        Path(tempfile.mkdtemp(prefix=f"w{i}-", dir=settings.data_dir)) for i in range(workers)
    ]
    processes: list[Forked | subprocess.Popen[bytes]] = []
    try:
        for folder in folders:
            started = {**variables, "BREACHCLOCK_DATA_DIR": str(folder)}
            processes.append(await asyncio.to_thread(start_worker, started, fresh=True))
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a worker process ended as it started")
        before = [cpu_seconds(p.pid) for p in processes]
        label = f"{people:,} people, {workers} worker process(es)"
        outcome = await campaign(env, here, sink, Memory(None), label, people)
        cpu = [cpu_seconds(p.pid) - b for p, b in zip(processes, before, strict=True)]
        rss = [(status_kib(p.pid, "VmHWM") or 0) / 1024 for p in processes]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return Scaled(workers, outcome, cpu, rss)


def describe(scaled: Scaled) -> str:
    run = scaled.outcome.run
    cpu = ", ".join(f"{c:.1f} s" for c in scaled.cpu)
    rss = ", ".join(f"{r:.0f} MiB" for r in scaled.rss_mib)
    return (
        f"{scaled.outcome.label}: list loaded at {run.people / run.load_seconds:,.0f} people/s; "
        f"campaign {run.seconds:.1f} s, {run.people / run.seconds:,.0f} people/s; "
        f"worker CPU {cpu} (over {run.seconds:.1f} s of wall time); peak RSS {rss}; "
        f"SMTP server {scaled.outcome.sink.messages:,} messages, "
        f"{len(scaled.outcome.sink.keys):,} distinct keys"
    )


async def main(people: int, rounds: int) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    sink = SmtpSink(free_port())
    results: list[tuple[Scaled, Scaled]] = []
    with postgres_server() as store_url:
        async with embedded("bench-scale", sink, **OVERRIDES) as (env, settings):
            print(
                f"settings: {people:,} people × ({CALLS_EACH} unanswered calls + e-mail), "
                f"batch {BATCH}, parallel {PARALLEL} slices per worker; PostgreSQL store; "
                f"Temporal server pid {server_pid(settings.temporal_port) or '?'}; "
                f"{os.cpu_count()} cores",
                flush=True,
            )
            for _ in range(rounds):
                pair = []
                for workers in (1, 2):
                    wait = stalls_at_midnight(people)
                    if wait:
                        print(f"waiting {wait:.0f} s for 00:00 (calls stop at 23:59)", flush=True)
                        await asyncio.sleep(wait)
                    scaled = await with_workers(env, settings, sink, store_url, workers, people)
                    print(describe(scaled), flush=True)
                    pair.append(scaled)
                results.append((pair[0], pair[1]))
    problems = [
        f"{s.outcome.label}: {p}"
        for pair in results
        for s in pair
        for p in s.outcome.problems(CALLS_EACH)
    ]
    for one, two in results:
        speedup = one.outcome.run.seconds / two.outcome.run.seconds
        print(
            f"speed-up, two worker processes over one on PostgreSQL, {people:,} people: "
            f"{speedup:.2f}x  ({one.outcome.run.seconds:.1f} s → {two.outcome.run.seconds:.1f} s)"
        )
    for problem in problems:
        print(f"WRONG: {problem}")
    print("correct: everyone e-mailed once" if not problems else "NOT CORRECT", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000, help="people called, then e-mailed")
    parser.add_argument("--rounds", type=int, default=2, help="one worker, then two; this often")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.n, args.rounds)))
