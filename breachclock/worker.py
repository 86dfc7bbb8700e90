"""The engine: a worker for incidents, on the embedded defaults or a cluster.

With no ``TEMPORAL_ADDRESS`` it starts the Temporal dev server (SQLite in the data
folder, search attributes registered, UI on loopback) and, with no ``SMTP_HOST``,
a local outbox that keeps every mail as an .eml file.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from breachclock.activities.filing import MailActivities
from breachclock.activities.mailer import Mailer, SmtpRelay
from breachclock.activities.register import RegisterActivities
from breachclock.config import Settings
from breachclock.outbox import Outbox
from breachclock.store import RecordStore, open_store
from breachclock.telemetry import metrics_runtime
from breachclock.temporal import connect, start_dev_server
from breachclock.workflows.incident import IncidentWorkflow

log = structlog.get_logger(__name__)

WORKFLOWS = [IncidentWorkflow]


def sandbox() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("pydantic", "jinja2")
    )


def relay_for(settings: Settings, outbox_port: int | None = None) -> SmtpRelay:
    return SmtpRelay(
        host=settings.smtp_host or "127.0.0.1",
        port=outbox_port or settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        implicit_tls=settings.smtp_implicit_tls,
        sender=settings.mail_from,
    )


def build_worker(
    client: Client, settings: Settings, relay: SmtpRelay, store: RecordStore | None = None
) -> Worker:
    """The worker for ``settings.task_queue``, on ``client``.

    Tracing comes with the client: the SDK prepends the client's interceptors that are
    also worker interceptors (``TracingInterceptor`` is both) to the worker's, so it is
    not passed again here (that would make every span twice). Metrics use the client's
    runtime. ``store`` defaults to the configured one (``open_store``).
    """
    store = store or open_store(settings)
    mail = MailActivities(Mailer(relay, store))
    register = RegisterActivities(store)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[mail.file_report, mail.send_page, register.register_incident],
        workflow_runner=sandbox(),
    )


@contextlib.asynccontextmanager
async def engine(settings: Settings) -> AsyncIterator[tuple[Client, SmtpRelay]]:
    """The client and mail relay, starting the embedded parts that are not configured."""
    async with contextlib.AsyncExitStack() as stack:
        runtime = metrics_runtime(settings)
        if runtime is not None:
            print(f"Metrics: http://{settings.metrics_address}/metrics")
        if settings.otel_exporter != "none":
            print(f"Traces: {settings.otel_exporter}")
        if settings.embedded:
            env = await start_dev_server(settings, runtime=runtime)
            stack.push_async_callback(env.shutdown)
            client = env.client
            print(
                f"Temporal dev server: {settings.address} (UI http://127.0.0.1:{settings.ui_port})"
            )
        else:
            client = await connect(settings, runtime=runtime)
            print(f"Temporal: {settings.address}, namespace {settings.temporal_namespace}")
        if settings.smtp_host is None:
            outbox = stack.enter_context(Outbox(settings.outbox_dir, settings.smtp_port))
            print(f"SMTP outbox: 127.0.0.1:{outbox.port} -> {outbox.folder.resolve()}")
        else:
            print(f"SMTP relay: {settings.smtp_host}:{settings.smtp_port}")
        print(f"Data: {settings.data_dir.resolve()}", flush=True)
        yield client, relay_for(settings)


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with engine(settings) as (client, relay), open_store(settings) as store:
        async with build_worker(client, settings, relay, store):
            print(f"Worker running on task queue {settings.task_queue}. Ctrl-C stops.", flush=True)
            await stop.wait()
            print("Stopping…", flush=True)


def main() -> None:
    from breachclock.logs import configure

    configure()
    asyncio.run(serve(Settings()))


if __name__ == "__main__":
    main()
