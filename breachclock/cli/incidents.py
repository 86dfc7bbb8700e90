"""The incident's commands: open, discover, facts, event, approve, justify, security,
close; status, timeline and report to read it. Each is one call into the service."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from breachclock.cli.common import (
    by_option,
    emit,
    engine,
    input_file,
    json_option,
    model,
    read_json,
    read_pdf,
    reference_arg,
    run,
    say,
    track_code,
    track_option,
)
from breachclock.domain.incident import notification_views as notify_views
from breachclock.domain.incident import views
from breachclock.domain.incident.model import (
    Close,
    Discover,
    FactsPatch,
    Justify,
    OpenIncident,
    OpenSecurityReport,
    RecordReceipt,
    TimelineInput,
)
from breachclock.domain.incident.report import FACT_LABELS, render_json, render_text
from breachclock.domain.instants import show, zone
from breachclock.domain.regimes import privacy_regimes
from breachclock.runtime.terminal import printable
from breachclock.service import incidents


@click.command("open")
@reference_arg
@click.option("--title", help="A short title (no personal data).")
@click.option(
    "--regime",
    type=click.Choice([code.value for code in privacy_regimes()]),
    help="Regulator of the report [pts].",
)
@input_file("JSON: title, regime and/or facts (starter.py schema open).", required=False)
@click.option(
    "--outside-service",
    is_flag=True,
    help="Not in providing the communications service (HR, marketing data): IMY's, not PTS's.",
)
@by_option
@run
async def open_(
    reference: str,
    title: str | None,
    regime: str | None,
    file: Path | None,
    outside_service: bool,
    by: str,
) -> None:
    """Open an incident."""
    data = read_json(file) if file else {}
    facts = data.get("facts")
    if outside_service:
        facts = {**(facts if isinstance(facts, dict) else {}), "in_communications_service": False}
    opening = model(
        OpenIncident,
        reference=reference,
        title=title or data.get("title"),
        regime=regime or data.get("regime"),
        opened_by=by,
        facts=facts,
    )
    await incidents.open_incident(engine(), opening)
    click.echo(
        f"opened {reference} ({opening.regime.value.upper()}); "
        f"record awareness with: discover {reference} --at TIME --how TEXT"
    )


@click.command()
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
    found = await incidents.discover(engine(), reference, model(Discover, at=at, by=by, how=how))
    tz = zone(engine().settings.operator_zone)
    click.echo(f"{reference} discovered {show(found.at, tz)}")
    for due in found.deadlines:
        click.echo(f"  {due.name} due {show(due.due_at, tz)}")


@click.command()
@reference_arg
@input_file("JSON object of facts (starter.py schema facts; e.g. examples/facts.json).")
@run
async def facts(reference: str, file: Path) -> None:
    """Record or correct facts."""
    patch = model(FactsPatch, changes=read_json(file))
    missing = await incidents.record_facts(engine(), reference, patch)
    if not missing:
        click.echo("facts recorded; nothing is missing for a complete report")
        return
    click.echo(f"facts recorded; still missing ({len(missing)}):")
    click.echo("\n".join(f"  - {FACT_LABELS.get(key, key)} ({key})" for key in missing))


@click.command()
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
    answer = await incidents.add_event(engine(), reference, request)
    click.echo(printable(say(answer)))


@click.command()
@reference_arg
@click.option(
    "--filing",
    required=True,
    help="The filing you approve, as 'status' and 'report' name the pending one "
    "(initial_report, supplementary_report, …, correction).",
)
@click.option("--late-reason", help="Why the filing is late, when it is.")
@click.option(
    "--other-language-ok",
    is_flag=True,
    help="File free text written in another language than the filing's as it is "
    "(recorded); without it, such text is refused.",
)
@track_option
@by_option
@run
async def approve(
    reference: str,
    filing: str,
    late_reason: str | None,
    other_language_ok: bool,
    track: str | None,
    by: str,
) -> None:
    """File the pending report now (approving the same filing again files nothing)."""
    result = await incidents.approve(
        engine(), reference, by, filing, late_reason, track_code(track), other_language_ok
    )
    click.echo(printable(say(result)))


@click.command()
@reference_arg
@click.option("--text", required=True, help="Why facts are still missing (well-founded).")
@track_option
@by_option
@run
async def justify(reference: str, text: str, track: str | None, by: str) -> None:
    """Record why facts are still missing (for the extension report)."""
    request = model(Justify, by=by, text=text, track=track)
    click.echo(printable(say(await incidents.justify(engine(), reference, request))))


@click.command()
@reference_arg
@click.argument("filing", type=click.IntRange(1, 100_000))
@click.option("--receipt", required=True, help="The receipt's number, as the portal shows it.")
@click.option("--at", "at", required=True, help="The time on the receipt (offset or zone).")
@click.option("--pdf", type=click.Path(path_type=Path), help="The receipt's PDF, to keep.")
@track_option
@by_option
@run
async def receipt(
    reference: str,
    filing: int,
    receipt: str,
    at: str,
    pdf: Path | None,
    track: str | None,
    by: str,
) -> None:
    """Record that FILING was filed on the authority's portal, with its receipt."""
    request = model(RecordReceipt, by=by, filing=filing, receipt=receipt, at=at, track=track)
    document = read_pdf(pdf) if pdf is not None else None
    answer = await incidents.record_receipt(engine(), reference, request, document)
    click.echo(printable(say(answer)))


@click.command()
@reference_arg
@click.option("--aware-at", help="When it was known to be a significant security incident.")
@by_option
@run
async def security(reference: str, aware_at: str | None, by: str) -> None:
    """Open a NIS2 security-incident report beside the privacy report."""
    request = model(OpenSecurityReport, by=by, aware_at=aware_at)
    click.echo(printable(say(await incidents.open_security_report(engine(), reference, request))))


@click.command()
@reference_arg
@click.option("--reason", help="For the register: why closed, or why never reported.")
@click.option(
    "--abandon-reports",
    is_flag=True,
    help="Close although reports are still due: each is recorded as never filed (needs --reason).",
)
@by_option
@run
async def close(reference: str, reason: str | None, abandon_reports: bool, by: str) -> None:
    """Close the incident; it is written to the register."""
    request = model(Close, by=by, reason=reason, abandon_reports=abandon_reports)
    click.echo(printable(say(await incidents.close(engine(), reference, request))))


@click.command()
@reference_arg
@json_option
@run
async def status(reference: str, as_json: bool) -> None:
    """Deadlines, filings and what is missing."""
    found = await incidents.standing(engine(), reference)
    state, live = found.state, found.live
    now = datetime.now(UTC)
    notification = {
        **notify_views.notification(state, live),
        "calls_held": found.calls_held,
        "calls_waiting": found.calls_waiting,
    }
    lines = [views.status_text(state, now), *notify_views.notification_text(state, live)]
    if found.calls_held or found.calls_waiting:
        lines.append(
            f"    calls with agents: {found.calls_held} being made, "
            f"{found.calls_waiting} waiting for an agent (calls next)"
        )
    emit(as_json, {**views.status(state, now), "notification": notification}, "\n".join(lines))


@click.command()
@reference_arg
@json_option
@run
async def timeline(reference: str, as_json: bool) -> None:
    """Every recorded step of the incident."""
    state = await engine().state(reference)
    emit(as_json, views.timeline(state), views.timeline_text(state))


@click.command()
@reference_arg
@json_option
@track_option
@run
async def report(reference: str, as_json: bool, track: str | None) -> None:
    """Render the report that would be filed now."""
    draft = await incidents.draft(engine(), reference, track_code(track))
    click.echo(printable(render_json(draft) if as_json else render_text(draft)))


COMMANDS = [open_, discover, facts, event, approve, justify, receipt, security, close]
READS = [status, timeline, report]
