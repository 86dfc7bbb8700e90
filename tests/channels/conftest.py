"""A real Kannel with its fake SMSC for each test module of the channels (started once
per module: its log is the fake SMSC's count of what arrived)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from breachclock.runtime.kannel import Kannel
from tests.kannel import kannel_in


@pytest.fixture(scope="module")
def kannel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kannel]:
    gateway = kannel_in(tmp_path_factory.mktemp("kannel"))
    try:
        yield gateway
    finally:
        gateway.stop()
