"""The command-line client: ``python starter.py COMMAND``, one module per noun
(incidents, notification, calls, register), each command one call into the service
layer (``breachclock.service``) that the HTTP API shares.

Human-readable output by default, ``--json`` on every read command. Every error is
one plain line on stderr and a non-zero exit: 1 for input the engine refused, 2 for
a malformed command, 3 when Temporal or the store cannot be reached.
"""

from __future__ import annotations

import logging
import sys

import click

from breachclock.cli import containment, incidents, notification, ownership, register
from breachclock.cli.calls import calls
from breachclock.cli.common import REFUSED, USAGE
from breachclock.cli.schema import schema
from breachclock.runtime.logs import configure as configure_logs
from breachclock.runtime.terminal import printable


@click.group()
def cli() -> None:
    """breachclock: privacy-incident reporting on Temporal."""
    configure_logs(logging.WARNING)


for command in [
    *incidents.COMMANDS,
    *notification.COMMANDS,
    *ownership.COMMANDS,
    *containment.COMMANDS,
    *incidents.READS,
    *notification.READS,
    *containment.READS,
    calls,
    register.list_,
    register.rebuild_read_model,
    schema,
]:
    cli.add_command(command)


def main(
    args: list[str] | None = None, group: click.Group = cli, prog_name: str = "starter.py"
) -> None:
    """``starter.py``: the group, with click's usage errors as one line too (click prints
    a usage block, a blank line and the error; the README promises one line)."""
    try:
        group.main(args, prog_name=prog_name, standalone_mode=False)
    except click.UsageError as err:
        where = err.ctx.command_path if err.ctx else prog_name
        message = printable(err.format_message(), one_line=True)
        click.echo(f"error: {message} (see: {where} --help)", err=True)
        sys.exit(USAGE)
    except click.ClickException as err:
        click.echo(f"error: {printable(err.format_message(), one_line=True)}", err=True)
        sys.exit(err.exit_code)
    except click.Abort:
        click.echo("error: interrupted", err=True)
        sys.exit(REFUSED)
