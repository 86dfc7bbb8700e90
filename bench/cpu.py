"""CPU time by process over a phase of a benchmark: this process and its children.

A rate's ratio says how far a path is from its limit, not which process holds it
back. On a machine with two cores the SMS path's gateway (Kannel's bearerbox and
smsbox), the console answering its delivery reports, the Temporal server and the
engine's worker share the same cores, so (d) prints what each took per message, in
the baseline and in the campaign, read from ``/proc`` (Linux; elsewhere it is empty).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

NAMES = (
    ("bearerbox", "bearerbox"),
    ("smsbox", "smsbox"),
    ("fakesmsc", "fake SMSC"),
    ("breachclock.web", "console"),
    ("temporal", "Temporal server"),
)
"""A child's label, by a word of its command line; the rest are ``other``."""
THIS = "this process"
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _fields(stat: str) -> list[str]:
    """A ``/proc/<pid>/stat`` line's fields after the command's name (which may hold
    spaces and parentheses): the state first, then the parent's pid."""
    return stat.rsplit(")", 1)[1].split()


def _used(stat: str) -> float:
    """User and system seconds from a ``/proc/<pid>/stat`` line."""
    fields = _fields(stat)
    return (int(fields[11]) + int(fields[12])) / TICKS


def parent_of(stat: str) -> int:
    """The parent's pid from a ``/proc/<pid>/stat`` line."""
    return int(_fields(stat)[1])


def _label(argv: bytes) -> str:
    line = argv.replace(b"\0", b" ").decode(errors="replace")
    return next((name for word, name in NAMES if word in line), "other")


def used() -> dict[str, float]:
    """CPU seconds used so far by this process and by each kind of its children."""
    ours = os.getpid()
    found: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            label = THIS if int(entry.name) == ours else None
            if label is None:
                if parent_of(stat) != ours:
                    continue
                label = _label((entry / "cmdline").read_bytes())
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not a process
        found[label] = found.get(label, 0.0) + _used(stat)
    return found


def since(before: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds each kind used since ``before`` (``used()``). A child that ended
    meanwhile is not counted."""
    now = used()
    return {
        name: now[name] - before.get(name, 0.0) for name in now if now[name] > before.get(name, 0.0)
    }


def per(unit: str, count: int, spent: Mapping[str, float], seconds: float, this: str) -> str:
    """``spent`` over a phase of ``seconds`` as milliseconds of CPU per ``unit`` (of
    ``count``), by process (this one named ``this``), and how many cores they kept busy
    together."""
    if not spent or not count or seconds <= 0:
        return f"CPU per {unit}: not measured"
    order = sorted(spent.items(), key=lambda kv: -kv[1])
    parts = [f"{this if name == THIS else name} {1000 * s / count:.2f}" for name, s in order]
    total = sum(spent.values())
    return (
        f"CPU per {unit}, ms: {', '.join(parts)}; all {1000 * total / count:.2f} "
        f"({total / seconds:.2f} cores busy)"
    )
