"""The engine: a worker for incidents, on the embedded defaults or a cluster.

With no ``TEMPORAL_ADDRESS`` it starts the Temporal dev server (SQLite in the data
folder, search attributes registered, UI on loopback) and, with no ``SMTP_HOST``,
a local outbox that keeps every mail as an .eml file. The console and API run in a
process of their own, which the engine supervises (``breachclock.app.console``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.calls import AgentWorklist, CallProvider, Simulator, SimulatorConfig
from activities.dialer import HttpDialer
from activities.engine import EngineActivities
from activities.filing import MailActivities
from activities.mailer import Mailer, SmtpRelay
from activities.mailer import relay_for as relay_for  # where the CLI, benches and tests take it
from activities.notify import NotifyActivities
from activities.readmodel import ReadModelActivities
from activities.register import RegisterActivities
from activities.retention import RetentionActivities
from activities.sms import KannelGateway, SmsSender
from breachclock.app.console import console_process
from breachclock.app.gauges import health_gauges
from breachclock.domain.catalogue import Voice
from breachclock.runtime import engine_lock, offload
from breachclock.runtime.config import Settings, settings_or_exit
from breachclock.runtime.keyguard import KeysNotTheDeployments, ensure_keys
from breachclock.runtime.links import key_for
from breachclock.runtime.outbox import Outbox
from breachclock.runtime.store import (
    NotifyStore,
    RecordStore,
    open_delivery_store,
    open_notify_store,
    open_read_model,
    open_store,
)
from breachclock.runtime.telemetry import client_tracer, metrics_runtime
from breachclock.runtime.temporal import connect, start_dev_server
from workflows.campaign import CampaignWorkflow, notify_queue
from workflows.incident import IncidentWorkflow
from workflows.retention import RetentionWorkflow, ensure_schedule

log = structlog.get_logger(__name__)

WORKFLOWS = [IncidentWorkflow, CampaignWorkflow, RetentionWorkflow]
RETENTION_SWEEP = timedelta(hours=1)


def sandbox() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "pydantic", "jinja2", "email_validator", "phonenumbers", "babel"
        )
    )


def call_provider(settings: Settings, store: NotifyStore) -> CallProvider:
    """The configured way of placing notification calls."""
    if settings.calls == "agents":
        return AgentWorklist(store)
    if settings.calls == "http":
        if settings.dialer_url is None:
            raise ValueError("BREACHCLOCK_CALLS=http needs BREACHCLOCK_DIALER_URL")
        token = settings.dialer_token.get_secret_value() if settings.dialer_token else None
        return HttpDialer(settings.dialer_url, token=token, lines=settings.dialer_lines)
    weights = (
        {} if settings.simulator_outcomes is None else {"outcomes": settings.simulator_outcomes}
    )
    return Simulator(
        SimulatorConfig(
            seed=settings.simulator_seed,
            latency=timedelta(milliseconds=settings.simulator_latency_ms),
            lines=settings.simulator_lines,
            **weights,
        )
    )


@contextlib.asynccontextmanager
async def sms_sender(settings: Settings, ledger: RecordStore) -> AsyncIterator[SmsSender | None]:
    """The SMS gateway a plan's SMS steps send through, when one is configured."""
    gateway = KannelGateway.of(settings)
    if gateway is None:
        yield None
        return
    async with (
        open_delivery_store(settings) as reports,
        SmsSender(gateway, ledger, reports) as sender,
    ):
        yield sender


@contextlib.asynccontextmanager
async def build_worker(
    client: Client, settings: Settings, relay: SmtpRelay, store: RecordStore | None = None
) -> AsyncIterator[Worker]:
    """The workers for ``settings.task_queue`` and its notifications queue, running.

    Incidents, campaigns, filings and pages run on the incidents queue. The campaign's
    slices run on the notifications queue, with their own limits: how many at once on
    this worker, and (``BREACHCLOCK_NOTIFY_RATE``) how many start per second across
    every worker, which the server enforces.

    Tracing comes with the client: the SDK prepends the client's interceptors that are
    also worker interceptors (``TracingInterceptor`` is both) to the worker's, so it is
    not passed again here (that would make every span twice); its tracer also spans
    the SMTP send of a filing or page. Metrics use the client's
    runtime. ``store`` defaults to the configured one (``open_store``).
    """
    store = store or open_store(settings)
    links = (key_for(settings, create=True), settings.console_url)
    mailer = Mailer(relay, store, client_tracer(client))
    mail = MailActivities(mailer, links)
    register = RegisterActivities(store)
    engine = EngineActivities(client, settings.policy())
    async with (
        open_notify_store(settings) as notify_store,
        open_read_model(settings) as view,
        sms_sender(settings, store) as sms,
        # Filings are laid out there, off the loop that fires the timers (``file_report``).
        offload.process_held(
            "breachclock.domain.incident.documents", "breachclock.domain.incident.pdf"
        ),
    ):
        projection = ReadModelActivities(view)
        notify = NotifyActivities(
            notify_store,
            call_provider(settings, notify_store),
            relay,
            settings.identity_methods,
            mailer,
            sms,
        )
        retention = RetentionActivities(
            store,
            notify_store,
            timedelta(days=settings.retention_days),
            settings.outbox_dir if settings.smtp_host is None else None,
        )
        incidents = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=WORKFLOWS,
            activities=[
                mail.file_report,
                mail.prepare_for_portal,
                mail.send_page,
                mail.send_takedown,
                register.register_incident,
                projection.project_incident,
                notify.load_subscribers,
                engine.policy,
                engine.campaign_end,
                retention.purge_expired,
            ],
            workflow_runner=sandbox(),
            max_cached_workflows=settings.max_cached_workflows,
        )
        notifications = Worker(
            client,
            task_queue=notify_queue(settings.task_queue),
            activities=[notify.advance, notify.give_up],
            max_concurrent_activities=settings.notify_parallel,
            max_task_queue_activities_per_second=settings.notify_rate,
        )
        async with incidents, notifications:
            yield incidents


async def prepare_data_dir(settings: Settings) -> None:
    """The engine's data folder, owner-only (it holds keys, personal data and mail), and
    its codec key made on the first start: only the engine makes one, clients find it,
    and none is made where the store's data is sealed with a key already
    (``keyguard``: a worker started without the deployment's keys refuses instead).

    Files the engine writes from here on (databases, outbox mails) are owner-only too."""
    os.umask(0o077)
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    for path in settings.data_dir.rglob("*"):  # a folder made before this, by older code
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    await ensure_keys(settings, create=True)


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
            stack.callback(engine_lock.forget_children, settings.data_dir)
            stack.push_async_callback(env.shutdown)
            engine_lock.record_children(settings.data_dir, "Temporal dev server")
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


def ports(settings: Settings) -> dict[str, int]:
    """The ports this engine will listen on, by what listens there."""
    listening = {}
    if settings.embedded:
        listening["Temporal"] = settings.temporal_port
        listening["Temporal UI"] = settings.ui_port
    if settings.smtp_host is None:
        listening["SMTP outbox"] = settings.smtp_port
    if settings.http_port:
        listening["HTTP API"] = settings.http_port
    return listening


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await prepare_data_dir(settings)
    with engine_lock.hold(settings.data_dir):
        for line in engine_lock.end_orphans(settings.data_dir):
            print(line, flush=True)
        engine_lock.ports_free(ports(settings))
        await run_engine(settings, stop)


async def run_engine(settings: Settings, stop: asyncio.Event) -> None:
    """The worker, and the console in a process of its own (``console``)."""
    async with engine(settings) as (client, relay), open_store(settings) as store:
        async with (
            console_process(settings),
            build_worker(client, settings, relay, store),
            health_gauges(settings, client),
        ):
            await ensure_schedule(client, settings.task_queue, RETENTION_SWEEP)
            print(f"Worker running on task queue {settings.task_queue}. Ctrl-C stops.", flush=True)
            await stop.wait()
            print("Stopping…", flush=True)


def main(args: list[str]) -> None:
    """``worker.py``: run the engine; ``worker.py stop``: stop the one on this data folder."""
    from breachclock.runtime.logs import configure

    configure()
    settings = settings_or_exit()
    if args == ["stop"]:
        print(engine_lock.stop(settings.data_dir))
    elif args:
        raise SystemExit(f"error: unknown arguments {' '.join(args)!r} (usage: worker.py [stop])")
    else:
        run(settings)


def worker_main() -> None:
    """``breachclock worker``: one of several workers joining a Temporal cluster, serving
    no console (the ``web`` process does). Without a cluster to join it refuses rather
    than start an embedded server of its own that no other process would find."""
    from breachclock.runtime.logs import configure

    configure()
    settings = settings_or_exit()
    if settings.embedded:
        raise SystemExit(
            "error: a worker joins a Temporal cluster: set TEMPORAL_ADDRESS "
            "(`breachclock engine` runs everything on one machine)"
        )
    run(settings.model_copy(update={"http_port": 0}))


def run(settings: Settings) -> None:
    """Serve until stopped; a data folder another engine holds is one line and exit 1."""
    try:
        asyncio.run(serve(settings))
    except engine_lock.EngineBusy as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeysNotTheDeployments as err:
        print(f"error: {err.problem.words(Voice(settings.language))}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main(sys.argv[1:])
