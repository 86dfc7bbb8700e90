"""The command-line client: ``python starter.py COMMAND``.

Human-readable output by default, ``--json`` on every read command. Every error
is one plain line on stderr and a non-zero exit: 1 for input the engine refused,
2 for a malformed command, 3 when Temporal cannot be reached.
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import hashlib
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

from activities.calls import CallRequest
from breachclock.domain.ids import campaign_id
from breachclock.domain.incident import lifecycle, views
from breachclock.domain.incident import notification_views as notify_views
from breachclock.domain.incident.model import (
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
from breachclock.domain.incident.report import build_draft, render_json, render_text
from breachclock.domain.instants import InstantError, iso_local, not_far_ahead, show, zone
from breachclock.domain.notify.assessment import Assessment, Decision, Recommendation
from breachclock.domain.notify.delivery import CallOutcome, Counts
from breachclock.domain.notify.notice import IncidentNotice
from breachclock.domain.notify.subscribers import DELIMITERS, SubscriberFileError
from breachclock.domain.regimes import RegimeCode
from breachclock.domain.text import InputFileError
from breachclock.runtime import files
from breachclock.runtime.config import Settings
from breachclock.runtime.logs import configure as configure_logs
from breachclock.runtime.search_attributes import NEXT_DEADLINE, REGIME, STATE
from breachclock.runtime.store import open_notify_store, open_store
from breachclock.runtime.temporal import WORKFLOW_ID_PREFIX, connect, workflow_id
from breachclock.runtime.terminal import printable
from breachclock.service.subscribers import load_list, read_list
from workflows.campaign import CampaignProgress, CampaignWorkflow
from workflows.incident import IncidentWorkflow
from workflows.messages import Answer, ApproveResult, Discovered, IncidentStart

T = TypeVar("T", bound=BaseModel)


class Refused(Exception):
    """Input the engine or the edge refused; the message is for a person."""


def describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "input"
        parts.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
    return " ".join("; ".join(parts).splitlines())  # one line, whatever keys a file had


def model(cls: type[T], **data: Any) -> T:
    """Validate input at the edge, before anything is sent (CET read in the operator's zone)."""
    context = {"operator_zone": Settings().operator_zone}
    try:
        return cls.model_validate({k: v for k, v in data.items() if v is not None}, context=context)
    except ValidationError as err:
        raise Refused(describe(err)) from err


def not_ahead(instant: datetime | None, what: str) -> None:
    """The CLI's early check: a time more than a year ahead is a typo in the year."""
    try:
        if instant is not None:
            not_far_ahead(instant, datetime.now(UTC), what)
    except InstantError as err:
        raise Refused(str(err)) from err


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = files.read_json(path)
    except InputFileError as err:
        raise Refused(str(err)) from err
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
            click.echo(printable(f"error: {err}"), err=True)
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


def update_id(name: Any, reference: str, arg: BaseModel) -> str:
    """The same command run again is the same update: Temporal answers it as the first."""
    what = getattr(name, "__name__", str(name))
    text = f"{what}\0{reference}\0{arg.model_dump_json()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def update(reference: str, name: Any, arg: BaseModel, *, repeatable: bool = True) -> Any:
    """Send an update; ``repeatable``: with an id derived from the command, so running
    the same command twice acts once."""
    handle = (await client()).get_workflow_handle(workflow_id(reference))
    try:
        return await handle.execute_update(
            name, arg, id=update_id(name, reference, arg) if repeatable else None
        )
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
    click.echo(printable(json.dumps(data, indent=2, ensure_ascii=False) if as_json else text))


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
            IncidentStart(opening=opening),
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
    request = model(Discover, at=at, by=by, how=how)
    not_ahead(request.at, "the discovery time")
    found: Discovered = await update(reference, IncidentWorkflow.discover, request)
    tz = zone(Settings().operator_zone)
    click.echo(f"{reference} discovered {show(found.at, tz)}")
    for due in found.deadlines:
        click.echo(f"  {due.name} due {show(due.due_at, tz)}")


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
    request = model(TimelineInput, at=at, what=what, by=by, how_established=how_established)
    not_ahead(request.at, "the event's time")
    answer: Answer = await update(reference, IncidentWorkflow.add_event, request)
    click.echo(answer.message)


@cli.command()
@reference_arg
@click.option(
    "--filing",
    required=True,
    help="The filing you approve, as 'status' and 'report' name the pending one "
    "(initial_report, supplementary_report, …, correction).",
)
@click.option("--late-reason", help="Why the filing is late, when it is.")
@track_option
@by_option
@run
async def approve(
    reference: str, filing: str, late_reason: str | None, track: str | None, by: str
) -> None:
    """File the pending report now (approving the same filing again files nothing)."""
    state = await fetch_state(reference)
    if track is None:  # a stage only one regulator has (early_warning) names its track
        track = getattr(lifecycle.track_of_stage(state, filing), "value", None)
    result: ApproveResult = await update(
        reference,
        IncidentWorkflow.approve,
        model(
            Approve,
            by=by,
            filing=filing,
            facts_version=state.facts_version,
            late_reason=late_reason,
            track=track,
        ),
    )
    click.echo(printable(result.message))


@cli.command()
@reference_arg
@click.option("--text", required=True, help="Why facts are still missing (well-founded).")
@track_option
@by_option
@run
async def justify(reference: str, text: str, track: str | None, by: str) -> None:
    """Record why facts are still missing (for the extension report)."""
    answer: Answer = await update(
        reference, IncidentWorkflow.justify, model(Justify, by=by, text=text, track=track)
    )
    click.echo(answer.message)


@cli.command()
@reference_arg
@click.option("--aware-at", help="When it was known to be a significant security incident.")
@by_option
@run
async def security(reference: str, aware_at: str | None, by: str) -> None:
    """Open a NIS2 security-incident report beside the privacy report."""
    request = model(OpenSecurityReport, by=by, aware_at=aware_at)
    not_ahead(request.aware_at, "the awareness time")
    answer: Answer = await update(reference, IncidentWorkflow.open_security_report, request)
    click.echo(answer.message)


@cli.command()
@reference_arg
@click.option("--reason", help="For the register: why closed, or why never reported.")
@by_option
@run
async def close(reference: str, reason: str | None, by: str) -> None:
    """Close the incident; it is written to the register."""
    answer: Answer = await update(
        reference, IncidentWorkflow.close, model(Close, by=by, reason=reason)
    )
    click.echo(answer.message)


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
    click.echo(printable(render_json(draft) if as_json else render_text(draft)))


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
    "subscriber_id, affected_items, postal_address.",
)
@click.option("--skip-invalid", is_flag=True, help="Load the valid rows, list the bad ones.")
@click.option(
    "--delimiter",
    type=click.Choice(["comma", "semicolon", "tab", ",", ";"]),
    help="The CSV's column delimiter [found from the header line].",
)
@run
async def subscribers(
    reference: str, file: Path, skip_invalid: bool, delimiter: str | None
) -> None:
    """Load the affected subscribers and users (again: nobody is added twice)."""
    state = await fetch_state(reference)
    region = "DK" if state.regime is RegimeCode.DK else "SE"
    forced = {"comma": ",", "semicolon": ";", "tab": "\t"}.get(delimiter or "", delimiter)
    try:
        loaded = read_list(file, skip_invalid, region, forced)
    except OSError as err:
        raise Refused(f"cannot read {file}: {err.strerror}") from err
    except SubscriberFileError as err:
        raise Refused(str(err)) from err
    handle = (await client()).get_workflow_handle(workflow_id(reference))
    try:
        async with open_notify_store(Settings()) as store:
            summary = await load_list(
                handle, store, reference, file.name, loaded.subscribers, loaded.rejected
            )
    except WorkflowUpdateFailedError as err:
        raise Refused(refusal_message(err)) from err
    skipped = summary.skipped
    if loaded.delimiter:
        click.echo(
            printable(f"read {file.name}: columns separated by {DELIMITERS[loaded.delimiter]}")
        )
    click.echo(
        f"{summary.added} added, {summary.repeated} already on the list; "
        f"{summary.people} on the list now"
    )
    if summary.changed:
        click.echo(
            f"{len(summary.changed)} already on the list with other details, kept as they were: "
            + ", ".join(summary.changed[:20])
            + (" …" if len(summary.changed) > 20 else "")
        )
    for row in skipped:
        click.echo(printable(f"skipped line {row.line}: {row.reason}"))


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
    answer: Answer = await update(reference, IncidentWorkflow.set_notice, text)
    click.echo(answer.message)


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
    click.echo(printable(message))


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
    click.echo(printable(message))


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
    rows = [
        {
            "subscriber_id": r.person.id,
            "name": r.person.name,
            "postal_address": r.person.postal_address,
            "reason": r.reason,
        }
        for r in found
    ]
    lines = [
        f"{r.person.id}  {r.person.name or ''}  "
        f"{r.person.postal_address_line or '(no address)'}  ({r.reason})"
        for r in found
    ]
    emit(as_json, rows, "\n".join(printable(line, one_line=True) for line in lines) or "nobody")


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
    name = printable(call.name or "(no name on record)", one_line=True)
    click.echo(
        f"call {item.key}\n  name:   {name}\n  number: {call.phone}\n"
        f"  say:    {printable(call.greeting, one_line=True)}\n"
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
    click.echo(printable(CallRequest.model_validate_json(item.request).notice))


@calls.command("record")
@click.argument("key")
@click.argument("outcome", type=click.Choice([o.value for o in CallOutcome]))
@click.option("--agent", default=getpass.getuser, show_default="your user name")
@run
async def calls_record(key: str, outcome: str, agent: str) -> None:
    """Record how a call you hold went (reached_verified only if they confirmed their identity)."""
    async with open_notify_store(Settings()) as store:
        item = await store.work_item(key)
        if item is None:
            raise Refused(f"no call {key} on the list")
        if not await store.report(key, CallOutcome(outcome), datetime.now(UTC), agent):
            if item.claimed_by != agent:
                raise Refused(f"call {key} is not held by {agent}: take it with 'calls next' first")
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
    from breachclock.cli.demo import run_demo

    settings = Settings() if data_dir is None else Settings(BREACHCLOCK_DATA_DIR=data_dir)
    asyncio.run(run_demo(settings))
