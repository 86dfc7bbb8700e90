"""``calls``: the agents' worklist (BREACHCLOCK_CALLS=agents), one call at a time."""

from __future__ import annotations

import click

from breachclock.cli.common import agent_option, emit, engine, json_option, run
from breachclock.domain.instants import show, zone
from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.notify.identity import IdentityMethod, accepted_text
from breachclock.runtime.terminal import printable
from breachclock.service import calls as worklist


@click.group()
def calls() -> None:
    """The agents' list of calls to make by hand (BREACHCLOCK_CALLS=agents)."""


@calls.command("next")
@agent_option
@run
async def calls_next(agent: str) -> None:
    """Take the next due call: who to call, and the number. Nothing else until identified."""
    held = await worklist.next_call(engine(), agent)
    if held is None:
        click.echo("no calls waiting")
        return
    item, call = held.item, held.call
    until = show(item.claimed_until, zone(engine().settings.operator_zone))
    name = printable(call.name or "(no name on record)", one_line=True)
    click.echo(
        f"call {item.key}\n  name:   {name}\n  number: {call.phone}\n"
        f"  say:    {printable(call.greeting, one_line=True)}\n"
        "Confirm who you are speaking to before saying anything else, by one of:\n"
        f"  {accepted_text(call.methods)}\n"
        "then read the notice:\n"
        f"  starter.py calls script {item.key} --agent {agent}\n"
        f"Record the outcome by {until} or the call goes back on the list:\n"
        f"  starter.py calls record {item.key} " + "|".join(o.value for o in CallOutcome) + "\n"
        "  (reached_verified with --identified-by " + "|".join(call.methods) + ")"
    )


@calls.command("script")
@click.argument("key")
@agent_option
@json_option
@run
async def calls_script(key: str, agent: str, as_json: bool) -> None:
    """The notice to read, once the person has confirmed who they are (a call you hold)."""
    held = await worklist.held(engine(), key, agent)
    methods = held.call.methods
    emit(
        as_json,
        {"key": key, "identify_by": list(methods), "script": held.call.notice},
        f"Only once identified by {accepted_text(methods)}:\n\n{held.call.notice}",
    )


@calls.command("record")
@click.argument("key")
@click.argument("outcome", type=click.Choice([o.value for o in CallOutcome]))
@click.option(
    "--identified-by",
    type=click.Choice([m.value for m in IdentityMethod]),
    help="How the person proved who they are (required with reached_verified).",
)
@agent_option
@run
async def calls_record(key: str, outcome: str, identified_by: str | None, agent: str) -> None:
    """Record how a call you hold went (reached_verified only with --identified-by)."""
    method = IdentityMethod(identified_by) if identified_by else None
    await worklist.record_call(engine(), key, CallOutcome(outcome), agent, method)
    click.echo(
        f"{key}: {outcome} recorded" + (f" (identified by {identified_by})" if method else "")
    )
