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

from breachclock.activities.calls import CallRequest
from breachclock.config import Settings
from breachclock.incident import lifecycle, views
from breachclock.incident.instants import iso_local, show, zone
from breachclock.incident.model import (
    Approve,
    Close,
    Discover,
    FactsPatch,
    IncidentState,
    Justify,
    NoticeOrder,
    OpenIncident,
    OpenSecurityReport,
    TimelineInput,
    clean_reference,
)
from breachclock.incident.regimes import RegimeCode
from breachclock.incident.report import build_draft, render_json, render_text
from breachclock.logs import configure as configure_logs
from breachclock.notify import views as notify_views
from breachclock.notify.assessment import Assessment, Decision, Recommendation
from breachclock.notify.delivery import CallOutcome, Counts
from breachclock.notify.notice import IncidentNotice
from breachclock.notify.subscribers import SubscriberFileError, pages
from breachclock.notify.subscribers import load as load_subscribers
from breachclock.notify_store import open_notify_store
from breachclock.store import open_store
from breachclock.temporal import WORKFLOW_ID_PREFIX, connect, workflow_id
from breachclock.workflows.campaign import CampaignProgress, CampaignWorkflow
from breachclock.workflows.incident import (
    MAX_LOAD_PAGE,
    ApproveResult,
    IncidentStart,
    IncidentWorkflow,
    LoadResult,
    SubscriberLoad,
    campaign_id,
)
from breachclock.workflows.search import NEXT_DEADLINE, REGIME, STATE

T = TypeVar("T")


class Refused(Exception):
    """Input the engine or the edge refused; the message is for a person."""


def describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "input"
        parts.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
    return " ".join("; ".join(parts).splitlines())  # one line, whatever keys a file had


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
    except UnicodeDecodeError as err:
        raise Refused(f"{path} is not UTF-8 text: {err.reason} at byte {err.start}") from err
    except json.JSONDecodeError as err:
        raise Refused(f"{path} is not valid JSON: {err.msg} at line {err.lineno}") from err
    except RecursionError as err:
        raise Refused(f"{path} nests too deeply to be read") from err
    except ValueError as err:  # int() refuses a number thousands of digits long
        raise Refused(f"{path} cannot be read: a number in it is too long") from err
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
@click.option("--filing", help="The stage filed, as pages name it (initial_report …): a check.")
@track_option
@by_option
@run
async def approve(
    reference: str, late_reason: str | None, filing: str | None, track: str | None, by: str
) -> None:
    """File the pending report now."""
    if filing is not None:
        due = lifecycle.track_of_stage(await fetch_state(reference), filing)
        if due is None or (track is not None and due.value != track):
            raise Refused(f"no {filing} is pending for {reference}: see status")
        track = due.value
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
    live = await live_counts(state)
    data = {**views.status(state), "notification": notify_views.notification(state, live)}
    text = "\n".join([views.status_text(state), *notify_views.notification_text(state, live)])
    emit(as_json, data, text)


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


async def live_counts(state: IncidentState) -> dict[int, Counts]:
    """Counts of the campaign waves still running, straight from their workflows."""
    found: dict[int, Counts] = {}
    running = [w for w in state.notification.waves if w.finished_at is None]
    if not running:
        return found
    temporal = await client()
    for wave in running:
        handle = temporal.get_workflow_handle(campaign_id(state.reference, wave.number))
        try:
            progress: CampaignProgress = await handle.query(CampaignWorkflow.progress)
        except RPCError:
            continue  # not started yet, or just finished: the state has the rest
        found[wave.number] = progress.counts
    return found


@cli.command()
@reference_arg
@click.option("--file", "file", required=True, type=click.Path(path_type=Path), help="JSON.")
@json_option
@run
async def assess(reference: str, file: Path, as_json: bool) -> None:
    """Record the assessment of harm to subscribers; prints the recommendation and why."""
    assessment = model(Assessment, **read_json(file))
    result: Recommendation = await update(reference, IncidentWorkflow.assess, assessment)
    verdict = "NOTIFY the affected subscribers" if result.notify else "no notice required"
    text = "\n".join([f"recommendation: {verdict}", *(f"  - {r}" for r in result.reasons)])
    emit(as_json, result.model_dump(mode="json"), text)


@cli.command()
@reference_arg
@click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(path_type=Path),
    help="CSV or JSONL export: id, name, phone, email, language, time_zone, role, "
    "subscriber_id, affected_items.",
)
@click.option("--skip-invalid", is_flag=True, help="Load the valid rows, list the bad ones.")
@run
async def subscribers(reference: str, file: Path, skip_invalid: bool) -> None:
    """Load the affected subscribers and users (again: nobody is added twice)."""
    state = await fetch_state(reference)
    region = "DK" if state.regime is RegimeCode.DK else "SE"
    try:
        loaded = load_subscribers(file, skip_invalid=skip_invalid, region=region)
    except OSError as err:
        raise Refused(f"cannot read {file}: {err.strerror}") from err
    except SubscriberFileError as err:
        raise Refused(str(err)) from err
    added = repeated = on_list = 0
    people = loaded.subscribers
    skipped = loaded.rejected
    for number, page in enumerate(pages(people, MAX_LOAD_PAGE) or [[]]):
        first = number == 0
        result: LoadResult = await update(
            reference,
            IncidentWorkflow.add_subscribers,
            SubscriberLoad(
                source=file.name,
                people=page,
                skipped=skipped[:MAX_LOAD_PAGE] if first else [],
                skipped_total=len(skipped) if first else 0,
            ),
        )
        added += result.added
        repeated += result.repeated
        on_list = result.people
    click.echo(f"{added} added, {repeated} already on the list; {on_list} on the list now")
    for row in skipped:
        click.echo(f"skipped line {row.line}: {row.reason}")


@cli.command()
@reference_arg
@click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(path_type=Path),
    help="JSON: access_from, what_happened, consequences, measures_taken, … per language.",
)
@run
async def notice(reference: str, file: Path) -> None:
    """Record the notice text the subscribers will get."""
    state = await fetch_state(reference)
    text = model(
        IncidentNotice, **{**read_json(file), "reference": reference, "regime": state.regime}
    )
    await update(reference, IncidentWorkflow.set_notice, text)
    click.echo("notice recorded")


@cli.command()
@reference_arg
@click.option("--notify/--no-notify", required=True, help="Tell the subscribers, or not.")
@click.option(
    "--exemption",
    type=click.Choice(["unintelligible", "no_adverse_effect"]),
    help="The ground for not notifying.",
)
@click.option("--justification", help="Why not (goes into the report).")
@by_option
@run
async def decide(
    reference: str, notify: bool, exemption: str | None, justification: str | None, by: str
) -> None:
    """Decide on telling the subscribers; notifying starts the campaign."""
    decision = model(
        Decision, notify=notify, exemption=exemption, justification=justification, decided_by=by
    )
    message: str = await update(reference, IncidentWorkflow.decide_notice, decision)
    click.echo(message)


@cli.command()
@reference_arg
@click.option("--regulator", required=True, help="Who ordered the notice, e.g. PTS.")
@click.option("--decision-ref", help="The regulator's decision number.")
@click.option("--text", help="What the order says.")
@by_option
@run
async def order(
    reference: str, regulator: str, decision_ref: str | None, text: str | None, by: str
) -> None:
    """Record a regulator's order to notify the subscribers; starts the campaign."""
    request = model(
        NoticeOrder, by=regulator, decision_reference=decision_ref, text=text, recorded_by=by
    )
    message: str = await update(reference, IncidentWorkflow.order_notice, request)
    click.echo(message)


@cli.command()
@reference_arg
@click.option("--interval", default=2.0, show_default=True, help="Seconds between refreshes.")
@run
async def watch(reference: str, interval: float) -> None:
    """Follow a notification campaign until it finishes."""
    while True:
        state = await fetch_state(reference)
        live = await live_counts(state)
        total = notify_views.totals(state, live)
        waves = state.notification.waves
        line = notify_views.bar(total.finished, max(total.total, state.notification.people))
        detail = ", ".join(f"{n} {s.value}" for s, n in sorted(total.people.items()))
        click.echo(f"\r{line}  {detail}\033[K", nl=False)
        if waves and all(w.finished_at for w in waves):
            click.echo()
            return
        if not waves:
            click.echo()
            raise Refused("no notification campaign has started for this incident")
        await asyncio.sleep(interval)


@cli.command()
@reference_arg
@click.argument("subscriber_id")
@json_option
@run
async def person(reference: str, subscriber_id: str, as_json: bool) -> None:
    """One person's notification: every attempt and its outcome."""
    state = await fetch_state(reference)
    tz = zone(state.policy.operator_zone)
    async with open_notify_store(Settings()) as store:
        found = await store.person(reference, subscriber_id)
        attempts = await store.attempts(reference, subscriber_id)
    if found is None:
        raise Refused(f"{subscriber_id} is not on the list of {reference}")
    data = {
        "subscriber_id": subscriber_id,
        "status": found.status.value,
        "next_at": iso_local(found.next_at, tz),
        "attempts": [
            {
                "channel": a.channel,
                "number": a.number,
                "outcome": a.outcome,
                "at": iso_local(a.at, tz),
            }
            for a in attempts
        ],
    }
    text = "\n".join(
        [f"{subscriber_id}: {found.status.value}"]
        + [f"  {show(a.at, tz)}  {a.channel} {a.number}: {a.outcome}" for a in attempts]
    )
    emit(as_json, data, text)


@cli.command()
@reference_arg
@json_option
@run
async def unreachable(reference: str, as_json: bool) -> None:
    """The people no call or e-mail reached: they are to be told by letter."""
    async with open_notify_store(Settings()) as store:
        found = await store.unreachable(reference)
    rows = [{"subscriber_id": p.id, "name": p.name} for p in found]
    emit(as_json, rows, "\n".join(f"{p.id}  {p.name or ''}" for p in found) or "nobody")


@cli.group()
def calls() -> None:
    """The agents' list of calls to make by hand (BREACHCLOCK_CALLS=agents)."""


@calls.command("next")
@click.option("--agent", default=getpass.getuser, show_default="your user name")
@run
async def calls_next(agent: str) -> None:
    """Take the next due call: who to call, and the number. Nothing else until identified."""
    settings = Settings()
    async with open_notify_store(settings) as store:
        item = await store.claim(agent, datetime.now(UTC), settings.agent_hold_minutes * 60)
    if item is None:
        click.echo("no calls waiting")
        return
    call = CallRequest.model_validate_json(item.request)
    until = show(item.claimed_until, zone(settings.operator_zone))
    click.echo(
        f"call {item.key}\n  name:   {call.name or '(no name on record)'}\n  number: {call.phone}\n"
        f"  say:    {call.greeting}\n"
        "Confirm who you are speaking to before saying anything else; then read the notice:\n"
        f"  starter.py calls script {item.key}\n"
        f"Record the outcome by {until} or the call goes back on the list:\n"
        f"  starter.py calls record {item.key} " + "|".join(o.value for o in CallOutcome)
    )


@calls.command("script")
@click.argument("key")
@run
async def calls_script(key: str) -> None:
    """The notice to read, once the person has confirmed who they are."""
    async with open_notify_store(Settings()) as store:
        item = await store.work_item(key)
    if item is None:
        raise Refused(f"no call {key} on the list")
    click.echo(CallRequest.model_validate_json(item.request).notice)


@calls.command("record")
@click.argument("key")
@click.argument("outcome", type=click.Choice([o.value for o in CallOutcome]))
@run
async def calls_record(key: str, outcome: str) -> None:
    """Record how a call went (reached_verified only if they confirmed their identity)."""
    async with open_notify_store(Settings()) as store:
        if await store.work_item(key) is None:
            raise Refused(f"no call {key} on the list")
        if not await store.report(key, CallOutcome(outcome), datetime.now(UTC)):
            raise Refused(f"call {key} was already recorded")
    click.echo(f"{key}: {outcome} recorded")


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
