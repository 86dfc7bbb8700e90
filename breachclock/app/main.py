"""``breachclock``: one command for every process and every CLI noun.

``breachclock engine`` runs the engine (as ``worker.py``; ``engine stop`` stops it),
``breachclock worker`` one more worker for a Temporal cluster, ``breachclock web`` the API and console on their own, ``breachclock codec-server`` the
payload codec for the Temporal UI and CLI, ``breachclock demo`` the Comviq case; every
other command is the CLI's (``breachclock status INC-1``), as ``starter.py`` runs them.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from breachclock.cli import cli
from breachclock.cli import main as cli_main
from breachclock.cli.common import run, voice
from breachclock.domain.problems import said
from breachclock.runtime.config import settings_or_exit
from breachclock.runtime.logs import configure as configure_logs

PASS_ON = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
"""For commands that hand their arguments to a process's own parser."""


@click.group()
def breachclock() -> None:
    """breachclock: privacy-incident reporting on Temporal."""
    configure_logs(logging.WARNING)


for name, command in cli.commands.items():
    breachclock.add_command(command, name)


@breachclock.command(context_settings=PASS_ON)
@click.pass_context
def engine(ctx: click.Context) -> None:
    """Run the engine on this data folder (``engine stop`` stops it)."""
    from breachclock.app.engine import main as engine_main

    engine_main(list(ctx.args))


@breachclock.command()
def worker() -> None:
    """Join a Temporal cluster (TEMPORAL_ADDRESS) as one more worker, serving no console."""
    from breachclock.app.engine import worker_main

    worker_main()


@breachclock.command(context_settings=PASS_ON)
@click.pass_context
def web(ctx: click.Context) -> None:
    """Serve the API and console as a process of their own (``web --help``)."""
    from breachclock.web.__main__ import main as web_main

    web_main(list(ctx.args))


@breachclock.command("codec-server", context_settings=PASS_ON)
@click.pass_context
def codec_server(ctx: click.Context) -> None:
    """Decode payloads for the Temporal UI and CLI (``codec-server --help``)."""
    from breachclock.runtime.codec_server import main as codec_main

    codec_main(list(ctx.args))


@breachclock.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="The demo's data folder [a new one under the data folder's demo/].",
)
@click.option(
    "--leave-calls",
    is_flag=True,
    help="Instead: open a demo incident on the running engine whose calls wait in the "
    "console's call worklist (example data; its mail goes to example.org only).",
)
def demo(data_dir: Path | None, leave_calls: bool) -> None:
    """The Comviq case from start to finish on the time-skipping test server, in a data
    folder of its own (never the engine's register, outbox or campaign store); with
    ``--leave-calls``, calls for an agent to take on the running engine."""
    if leave_calls:
        calls_for_agents()
        return
    from breachclock.app.demo import run_demo

    settings = (
        settings_or_exit() if data_dir is None else settings_or_exit(BREACHCLOCK_DATA_DIR=data_dir)
    )
    asyncio.run(run_demo(settings, own_folder=data_dir is None))


@run
async def calls_for_agents() -> None:
    from breachclock.app.demo_calls import leave_calls
    from breachclock.service.engine import Engine

    settings = settings_or_exit()
    reference, waiting = await leave_calls(Engine(settings))
    url = f"{settings.console_url}/calls"
    click.echo(
        said("answer.demo.calls_left", reference=reference, n=waiting, url=url).words(voice())
    )


def main(args: list[str] | None = None, prog_name: str = "breachclock") -> None:
    cli_main(args, group=breachclock, prog_name=prog_name)
