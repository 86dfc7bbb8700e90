"""The golden filings are what the engine files today: the seed incidents run again
(``regenerate.generate``) and every filing compared with its file under tests/golden.

A difference fails with the diff; if the change is meant, ``python -m
tests.golden.regenerate`` rewrites the files and the review reads the same diff.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from tests.golden.regenerate import generate, written


async def test_the_seed_incidents_file_what_their_golden_files_say(tmp_path: Path) -> None:
    files = await generate(tmp_path)
    golden = written()
    assert sorted(files) == sorted(golden), "filings made and golden files differ in name"
    diffs = [
        "".join(
            difflib.unified_diff(
                golden[name].splitlines(keepends=True),
                files[name].splitlines(keepends=True),
                f"tests/golden/{name}",
                "filed now",
            )
        )
        for name in sorted(files)
        if files[name] != golden[name]
    ]
    assert not diffs, (
        "filings differ from their golden files; if meant, run "
        "`python -m tests.golden.regenerate` and review the diff:\n" + "\n".join(diffs)
    )
