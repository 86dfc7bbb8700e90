"""``starter.py demo`` runs the Comviq case to the end, campaign included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_runs_the_comviq_case_to_the_end(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "starter.py"), "demo", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "notification campaign 1 started for 3300 people" in out
    assert "notification campaign 1 finished:" in out
    assert "Filings: no. 1 initial, no. 2 extension, no. 3 final" in out
    mails = list((tmp_path / "outbox").glob("*.eml"))
    final = [m.read_text() for m in mails if "report no. 3" in m.read_text()]
    assert len(final) == 1 and "Copy of the notice" in final[0]
