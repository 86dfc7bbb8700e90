"""The command-line client: ``python starter.py COMMAND``, one module per noun
(incidents, notification, calls, register), each command one call into the service
layer (``breachclock.service``) that the HTTP API shares.

Human-readable output by default, ``--json`` on every read command. Every error is
one plain line on stderr and a non-zero exit: 1 for input the engine refused, 2 for
a malformed command, 3 when Temporal or the store cannot be reached.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from breachclock.cli import incidents, notification, register
from breachclock.cli.calls import calls
from breachclock.runtime.config import Settings
from breachclock.runtime.logs import configure as configure_logs


@click.group()
def cli() -> None:
    """breachclock: privacy-incident reporting on Temporal."""
    configure_logs(logging.WARNING)


for command in [
    *incidents.COMMANDS,
    *notification.COMMANDS,
    *incidents.READS,
    *notification.READS,
    calls,
    register.list_,
]:
    cli.add_command(command)


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
