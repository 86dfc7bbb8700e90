"""The benchmarks still run (a smoke check: timings are the benchmarks' business)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench import cpu

ROOT = Path(__file__).resolve().parents[1]


def test_approve_benchmark_prints_its_ratio() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.approve", "--n", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "approve → mail accepted            n=2" in done.stdout
    assert "  task: approval, filing sent      n=2" in done.stdout
    assert "ratio (median approve / median baseline)" in done.stdout


def test_notify_benchmark_prints_its_ratios() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.notify",
            *("--n", "30", "--email-only-n", "60", "--large-n", "40", "--batch", "10"),
            *("--sms-n", "20"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "ratio (a) campaign time / baseline time, 30 people" in done.stdout
    assert "ratio (c) campaign time / baseline time, 40 people" in done.stdout
    assert "ratio (b) campaign e-mail rate / baseline rate, 60 e-mails" in done.stdout
    assert "baseline: the best" in done.stdout
    assert "correct: everyone e-mailed (and texted) once" in done.stdout
    assert "ratio (d) campaign rate / sendsms rate, 20 people" in done.stdout
    assert "(d) exact counts: yes" in done.stdout
    (split,) = [line for line in done.stdout.splitlines() if "campaign, CPU per person" in line]
    assert "the worker " in split, split


def test_cpu_by_process_counts_a_child_s_work_under_its_name() -> None:
    """``bench.cpu`` finds this process's children by their command line: a busy child
    whose argv says ``smsbox`` is counted as smsbox, for the CPU it used."""
    before = cpu.used()
    busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    child = subprocess.Popen([sys.executable, "-c", busy, "smsbox"])
    try:
        for _ in range(100):
            spent = cpu.since(before)
            if spent.get("smsbox", 0.0) >= 0.25:
                break
            time.sleep(0.05)
    finally:
        child.wait(timeout=30)
    assert spent.get("smsbox", 0.0) >= 0.25, spent
    line = cpu.per("message", 10, spent, 1.0, "the client")
    assert line.startswith("CPU per message, ms: smsbox ")


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m bench.<args>``, tiny, to its end; it must have succeeded."""
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_cache_benchmark_prints_memory_and_miss_cost() -> None:
    done = bench("bench.cache", "--n", "3")
    assert "memory per cached incident:" in done.stdout
    assert "ratio (median miss / median hit)" in done.stdout


def test_render_benchmark_prints_its_ratios() -> None:
    done = bench("bench.render", "--n", "2", "--parallel", "2")
    assert "ratio p99 in the worker process (now) / baseline" in done.stdout


def test_register_benchmark_prints_the_page_against_its_query() -> None:
    out = bench("bench.register", "--incidents", "3", "--n", "1").stdout
    assert "register page (3 open)" in out and "plain SQL query of its rows" in out


def test_scale_benchmark_runs_one_campaign_on_one_then_two_workers_on_postgresql() -> None:
    out = bench("bench.scale", "--n", "600", "--rounds", "1").stdout
    assert "600 people, 1 worker process(es)" in out and "600 people, 2 worker process(es)" in out
    assert "speed-up, two worker processes over one on PostgreSQL, 600 people" in out
    assert "correct: everyone e-mailed once" in out
