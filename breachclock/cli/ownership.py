"""``ack`` and ``snooze``: owning an incident's pages."""

from __future__ import annotations

import click

from breachclock.cli.common import (
    by_option,
    engine,
    reference_arg,
    run,
    say,
    track_code,
    track_option,
)
from breachclock.runtime.terminal import printable
from breachclock.service import incidents

SNOOZES = {"30m": 30, "1h": 60, "2h": 120}


@click.command()
@reference_arg
@click.option(
    "--deadline", help="Which deadline's page (as the page names it; default: the latest)."
)
@track_option
@by_option
@run
async def ack(reference: str, deadline: str | None, track: str | None, by: str) -> None:
    """Acknowledge a page: its deadline's later pages reach nobody wider. The deadline,
    its automatic filing and its overdue pages stand."""
    answer = await incidents.acknowledge(engine(), reference, by, deadline, track_code(track))
    click.echo(printable(say(answer)))


@click.command()
@reference_arg
@click.option("--for", "length", type=click.Choice(list(SNOOZES)), required=True)
@by_option
@run
async def snooze(reference: str, length: str, by: str) -> None:
    """Hold lead and reminder pages for a while; filings, deadlines and overdue pages never wait."""
    answer = await incidents.snooze(engine(), reference, by, SNOOZES[length])
    click.echo(printable(say(answer)))


COMMANDS = [ack, snooze]
