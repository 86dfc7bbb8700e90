"""The command-line client: ``python starter.py COMMAND``.

Human-readable output by default, ``--json`` on every read command. Every error
is one plain line on stderr and a non-zero exit: 1 for input the engine refused,
2 for a malformed command, 3 when Temporal cannot be reached.
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import BaseModel, ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from breachclock.config import Settings
from breachclock.incident import lifecycle, views
from breachclock.incident.instants import show, zone
from breachclock.incident.model import (
    Approve,
    Close,
    Discover,
    FactsPatch,
    IncidentState,
    Justify,
    OpenIncident,
    OpenSecurityReport,
    TimelineInput,
    clean_reference,
)
from breachclock.incident.regimes import RegimeCode
from breachclock.incident.report import build_draft, render_json, render_text
from breachclock.logs import configure as configure_logs
from breachclock.store import open_store
from breachclock.temporal import WORKFLOW_ID_PREFIX, connect, workflow_id
from breachclock.workflows.incident import ApproveResult, IncidentStart, IncidentWorkflow
from breachclock.workflows.search import NEXT_DEADLINE, REGIME, STATE

T = TypeVar("T")


class Refused(Exception):
    """Input the engine or the edge refused; the message is for a person."""


def describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "input"
        parts.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def model(cls: type[T], **data: Any) -> T:
    """Validate input at the edge, before anything is sent."""
    try:
        return cls(**{k: v for k, v in data.items() if v is not None})
    except ValidationError as err:
        raise Refused(describe(err)) from err


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise Refused(f"cannot read {path}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise Refused(f"{path} is not valid JSON: {err.msg} at line {err.lineno}") from err
    if not isinstance(data, dict):
        raise Refused(f"{path} must hold a JSON object")
    return data


def run(coro: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run a command; turn every failure into one line and an exit code."""

    @functools.wraps(coro)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        code = 0
        try:
            asyncio.run(coro(*args, **kwargs))
        except Refused as err:
            click.echo(f"error: {err}", err=True)
            code = 1
        except RPCError as err:
            unreachable = err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
            click.echo(
                f"error: cannot reach Temporal: {err.message}"
                if unreachable
                else f"error: {err.message}",
                err=True,
            )
            code = 3 if unreachable else 1
        except RuntimeError as err:
            if "connect" not in str(err).lower():
                raise
            click.echo(
                f"error: cannot reach Temporal ({err}); is the engine running (make run)?", err=True
            )
            code = 3
        except OSError as err:
            click.echo(f"error: cannot reach the store ({err.strerror or err})", err=True)
            code = 3
        sys.stdout.flush()
        sys.stderr.flush()
        # Exit at once: a short-lived client can abort in interpreter teardown (sdk-python#300).
        os._exit(code)

    return wrapper


def refusal_message(err: WorkflowUpdateFailedError) -> str:
    """The innermost cause: the validator's words, not the SDK's "Failed decoding arguments"."""
    cause: BaseException | None = err.cause
    while isinstance(cause, ApplicationError) and cause.cause is not None:
        cause = cause.cause
    return getattr(cause, "message", None) or str(cause)


async def client() -> Client:
    return await connect(Settings())


async def update(reference: str, name: Any, arg: BaseModel) -> Any:
    handle = (await client()).get_workflow_handle(workflow_id(reference))
    try:
        return await handle.execute_update(name, arg)
    except WorkflowUpdateFailedError as err:
        raise Refused(refusal_message(err)) from err
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise Refused(f"no open incident {reference}") from err
        raise


async def fetch_state(reference: str) -> IncidentState:
    """The incident from its workflow, or from the register once Temporal forgot it."""
    handle = (await client()).get_workflow_handle(workflow_id(reference))
    try:
        result: IncidentState = await handle.query(IncidentWorkflow.status)
        return result
    except RPCError as err:
        if err.status is not RPCStatusCode.NOT_FOUND:
            raise
    async with open_store(Settings()) as store:
        record = await store.registered(reference)
    if record is None:
        raise Refused(f"no incident {reference}")
    return IncidentState.model_validate_json(record)


def emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else text)


def reference_arg(f: Callable[..., Any]) -> Callable[..., Any]:
    def check(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
        try:
            return clean_reference(value)
        except ValueError as err:
            raise click.BadParameter(str(err)) from err

    return click.argument("reference", callback=check)(f)


by_option = click.option(
    "--by", default=getpass.getuser, show_default="your user name", help="Who acts."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
track_option = click.option(
    "--track",
    type=click.Choice([r.value for r in RegimeCode]),
    help="Which regulator's report (default: the incident's).",
)


@click.group()
def cli() -> None:
    """breachclock: privacy-incident reporting on Temporal."""
    configure_logs(logging.WARNING)


@cli.command("open")
@reference_arg
@click.option("--title", help="A short title (no personal data).")
@click.option(
    "--regime", type=click.Choice(["pts", "imy", "dk"]), help="Regulator of the report [pts]."
)
@click.option(
    "--file", "file", type=click.Path(path_type=Path), help="JSON: title, regime and/or facts."
)
@by_option
@run
async def open_(
    reference: str, title: str | None, regime: str | None, file: Path | None, by: str
) -> None:
    """Open an incident."""
    data = read_json(file) if file else {}
    opening = model(
        OpenIncident,
        reference=reference,
        title=title or data.get("title"),
        regime=regime or data.get("regime"),
        opened_by=by,
        facts=data.get("facts"),
    )
    settings = Settings()
    try:
        await (await client()).start_workflow(
            IncidentWorkflow.run,
            IncidentStart(opening=opening, policy=settings.policy()),
            id=workflow_id(reference),
            task_queue=settings.task_queue,
        )
    except WorkflowAlreadyStartedError as err:
        raise Refused(f"incident {reference} already exists") from err
    click.echo(
        f"opened {reference} ({opening.regime.value.upper()}); record awareness with: discover {reference} --at TIME"
    )


@cli.command()
@reference_arg
@click.option(
    "--at", "at", required=True, help="When the operator became aware (offset or zone required)."
)
@click.option(
    "--how", required=True, help="How the incident was discovered / awareness established."
)
@by_option
@run
async def discover(reference: str, at: str, how: str, by: str) -> None:
    """Record awareness: the clocks start."""
    state: IncidentState = await update(
        reference, IncidentWorkflow.discover, model(Discover, at=at, by=by, how=how)
    )
    tz = zone(state.policy.operator_zone)
    click.echo(
        f"{reference} discovered {show(state.discovery.at if state.discovery else None, tz)}"
    )
    for row in views.deadlines(state):
        click.echo(f"  {row['name']} due {show(datetime.fromisoformat(row['due_at']), tz)}")


@cli.command()
@reference_arg
@click.option(
    "--file", "file", required=True, type=click.Path(path_type=Path), help="JSON object of facts."
)
@run
async def facts(reference: str, file: Path) -> None:
    """Record or correct facts."""
    patch = model(FactsPatch, changes=read_json(file))
    missing: list[str] = await update(reference, IncidentWorkflow.record_facts, patch)
    click.echo(f"facts recorded; still missing: {', '.join(missing) if missing else 'nothing'}")


@cli.command()
@reference_arg
@click.option("--at", "at", required=True, help="When it happened (offset or zone required).")
@click.option("--what", required=True)
@click.option(
    "--how-established", default="reported", show_default=True, help="logs, estimate (basis), …"
)
@by_option
@run
async def event(reference: str, at: str, what: str, how_established: str, by: str) -> None:
    """Add a timeline event."""
    await update(
        reference,
        IncidentWorkflow.add_event,
        model(TimelineInput, at=at, what=what, by=by, how_established=how_established),
    )
    click.echo("event recorded")


@cli.command()
@reference_arg
@click.option("--late-reason", help="Why the filing is late, when it is.")
@track_option
@by_option
@run
async def approve(reference: str, late_reason: str | None, track: str | None, by: str) -> None:
    """File the pending report now."""
    result: ApproveResult = await update(
        reference,
        IncidentWorkflow.approve,
        model(Approve, by=by, late_reason=late_reason, track=track),
    )
    click.echo(result.message)


@cli.command()
@reference_arg
@click.option("--text", required=True, help="Why facts are still missing (well-founded).")
@track_option
@by_option
@run
async def justify(reference: str, text: str, track: str | None, by: str) -> None:
    """Record why facts are still missing (for the extension report)."""
    await update(reference, IncidentWorkflow.justify, model(Justify, by=by, text=text, track=track))
    click.echo("justification recorded")


@cli.command()
@reference_arg
@click.option("--aware-at", help="When it was known to be a significant security incident.")
@by_option
@run
async def security(reference: str, aware_at: str | None, by: str) -> None:
    """Open a NIS2 security-incident report beside the privacy report."""
    state: IncidentState = await update(
        reference,
        IncidentWorkflow.open_security_report,
        model(OpenSecurityReport, by=by, aware_at=aware_at),
    )
    click.echo(f"NIS2 report opened; {len(state.tracks)} reports now run for {reference}")


@cli.command()
@reference_arg
@click.option("--reason", help="For the register: why closed, or why never reported.")
@by_option
@run
async def close(reference: str, reason: str | None, by: str) -> None:
    """Close the incident; it is written to the register."""
    await update(reference, IncidentWorkflow.close, model(Close, by=by, reason=reason))
    click.echo(f"{reference} closed")


@cli.command()
@reference_arg
@json_option
@run
async def status(reference: str, as_json: bool) -> None:
    """Deadlines, filings and what is missing."""
    state = await fetch_state(reference)
    emit(as_json, views.status(state), views.status_text(state))


@cli.command()
@reference_arg
@json_option
@run
async def timeline(reference: str, as_json: bool) -> None:
    """Every recorded step of the incident."""
    state = await fetch_state(reference)
    emit(as_json, views.timeline(state), views.timeline_text(state))


@cli.command()
@reference_arg
@json_option
@track_option
@run
async def report(reference: str, as_json: bool, track: str | None) -> None:
    """Render the report that would be filed now."""
    state = await fetch_state(reference)
    wanted = state.track(RegimeCode(track) if track else None)
    if wanted is None:
        raise Refused("no report is open yet: record the discovery first")
    now = datetime.now(UTC)
    index = state.tracks.index(wanted)
    step = lifecycle.pending_filing(state, index, now)
    if step is None:
        raise Refused("nothing is pending: every report has been filed")
    draft = build_draft(state, step, state.next_filing_number, now, None)
    click.echo(render_json(draft) if as_json else render_text(draft))


def register_row(
    reference: str, state: str, regime: str | None, deadline: datetime | None, reason: str | None
) -> dict[str, Any]:
    return {
        "reference": reference,
        "state": state,
        "regime": regime,
        "next_deadline": deadline.isoformat() if deadline else None,
        "closed_reason": reason,
    }


@cli.command("list")
@json_option
@run
async def list_(as_json: bool) -> None:
    """The register: every incident, most urgent deadline first."""
    settings = Settings()
    rows: dict[str, dict[str, Any]] = {}
    async with open_store(settings) as store:
        closed = await store.all_registered()
    for raw in closed:
        state = IncidentState.model_validate_json(raw)
        reason = state.closure.reason if state.closure else None
        rows[state.reference] = register_row(
            state.reference, "closed", state.regime.value, None, reason
        )
    async for wf in (await client()).list_workflows("WorkflowType = 'Incident'"):
        reference = wf.id.removeprefix(WORKFLOW_ID_PREFIX)
        if not wf.id.startswith(WORKFLOW_ID_PREFIX) or reference in rows:
            continue  # for a closed incident the register has the final word
        attrs = wf.typed_search_attributes
        deadline = attrs.get(NEXT_DEADLINE)
        rows[reference] = register_row(
            reference, attrs.get(STATE) or "opened", attrs.get(REGIME), deadline, None
        )
    ordered = sorted(
        rows.values(),
        key=lambda r: (r["next_deadline"] is None, r["next_deadline"] or "", r["reference"]),
    )
    tz = zone(settings.operator_zone)
    text = (
        "\n".join(
            f"{r['reference']:24} {r['state']:11} {(r['regime'] or '').upper():5} "
            + (
                f"next deadline {show(datetime.fromisoformat(r['next_deadline']), tz)}"
                if r["next_deadline"]
                else ""
            )
            for r in ordered
        )
        or "no incidents"
    )
    emit(as_json, ordered, text)


@cli.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Where the outbox goes [BREACHCLOCK_DATA_DIR].",
)
def demo(data_dir: Path | None) -> None:
    """The Comviq case from start to finish on the time-skipping test server."""
    from breachclock.demo import run_demo

    settings = Settings() if data_dir is None else Settings(BREACHCLOCK_DATA_DIR=data_dir)
    asyncio.run(run_demo(settings))
