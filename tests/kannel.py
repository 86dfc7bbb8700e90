"""A real Kannel for the tests (``breachclock.runtime.kannel``) in a temporary folder.

Under CI the tests fail when Kannel is missing (``.ci/run`` installs it); elsewhere they
are skipped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from breachclock.runtime.kannel import Kannel, installed


def need_kannel() -> None:
    if not installed():
        if os.environ.get("CI"):
            pytest.fail("Kannel is not installed (Debian packages kannel, kannel-extras)")
        pytest.skip("Kannel is not installed (Debian packages kannel, kannel-extras)")


def kannel_in(folder: Path) -> Kannel:
    need_kannel()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Kannel(folder).start()
