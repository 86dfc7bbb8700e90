"""``takedown``, ``takedown-status``, ``takedowns``, ``recipients``: containment."""

from __future__ import annotations

import click

from breachclock.cli.common import by_option, emit, engine, json_option, reference_arg, run, say
from breachclock.domain.incident.containment import TakedownStatus
from breachclock.domain.instants import iso_local, show, zone
from breachclock.runtime.terminal import printable
from breachclock.service import containment

REPORTED = [TakedownStatus.ACKNOWLEDGED, TakedownStatus.CONFIRMED, TakedownStatus.FAILED]


@click.command()
@reference_arg
@click.argument("recipient")
@click.option(
    "--scope",
    required=True,
    help="What must be removed, as the recipient finds it (which listings, which delivery);"
    " no numbers or names.",
)
@click.option("--count", type=int, required=True, help="How many entries.")
@by_option
@run
async def takedown(reference: str, recipient: str, scope: str, count: int, by: str) -> None:
    """Ask a recipient from the directory ('recipients') to take the published data down."""
    answer = await containment.request_takedown(engine(), reference, recipient, scope, count, by)
    click.echo(printable(say(answer)))


@click.command("takedown-status")
@reference_arg
@click.argument("recipient")
@click.argument("status", type=click.Choice([s.value for s in REPORTED]))
@click.option("--how-verified", help="How you checked the removal yourself (with confirmed).")
@click.option("--reason", help="Why it failed (with failed).")
@click.option("--at", help="When (default: now).")
@by_option
@run
async def takedown_status(
    reference: str,
    recipient: str,
    status: str,
    how_verified: str | None,
    reason: str | None,
    at: str | None,
    by: str,
) -> None:
    """Record that a takedown was acknowledged, its removal confirmed, or that it failed."""
    answer = await containment.report_takedown(
        engine(), reference, recipient, status, by, at, how_verified, reason
    )
    click.echo(printable(say(answer)))


@click.command()
@reference_arg
@json_option
@run
async def takedowns(reference: str, as_json: bool) -> None:
    """Every takedown task and where it stands, with its times."""
    tasks = await containment.takedowns(engine(), reference)
    tz = zone(engine().settings.operator_zone)
    rows = [
        {
            "recipient": t.recipient,
            "name": t.name,
            "status": t.status.value,
            "count": t.count,
            "requested_at": iso_local(t.requested_at, tz),
            "sent_at": iso_local(t.sent_at, tz),
            "acknowledged_at": iso_local(t.acknowledged_at, tz),
            "confirmed_at": iso_local(t.confirmed_at, tz),
            "confirmed_by": t.confirmed_by,
            "how_verified": t.how_verified,
            "failed_at": iso_local(t.failed_at, tz),
            "reason": t.reason,
            "reminders": t.reminders,
        }
        for t in tasks
    ]
    lines = []
    for t in tasks:
        sent = show(t.sent_at, tz) if t.sent_at else "not sent yet"
        done = ""
        if t.confirmed_at:
            done = f"; removal confirmed {show(t.confirmed_at, tz)} by {t.confirmed_by} ({t.how_verified})"
        elif t.failed_at:
            done = f"; failed {show(t.failed_at, tz)}: {t.reason}"
        elif t.acknowledged_at:
            done = f"; acknowledged {show(t.acknowledged_at, tz)}"
        reminded = f"; {t.reminders} reminder(s)" if t.reminders else ""
        lines.append(f"{t.recipient}  {t.status.value}  asked {sent}{done}{reminded}")
    text = "\n".join(printable(line, one_line=True) for line in lines) or "no takedowns"
    emit(as_json, rows, text)


@click.command()
@click.option("--country", type=click.Choice(["se", "dk"]), default="se", show_default=True)
@json_option
@run
async def recipients(country: str, as_json: bool) -> None:
    """The directory of takedown recipients (BREACHCLOCK_TAKEDOWN_DIRECTORY overrides it)."""
    known = containment.directory(engine()).get(country, {})
    emit(
        as_json,
        [r.model_dump() for r in known.values()],
        "\n".join(f"{r.id}  {r.name}  <{r.email}>  ({r.kind})" for r in known.values()),
    )


COMMANDS = [takedown, takedown_status, recipients]
READS = [takedowns]
