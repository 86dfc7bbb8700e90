"""``starter.py demo`` runs the Comviq case to the end, campaign included."""

from __future__ import annotations

import subprocess
import sys
from email import message_from_bytes
from email.policy import default
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
    mails = [
        message_from_bytes(m.read_bytes(), policy=default)
        for m in (tmp_path / "outbox").glob("*.eml")
    ]
    final = [m for m in mails if "integritetsincident nr 3" in str(m["Subject"])]
    assert len(final) == 1
    body = final[0].get_body(("plain",))
    assert body is not None and "Kopia på underrättelsen" in body.get_content()
