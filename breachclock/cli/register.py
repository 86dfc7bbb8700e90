"""``list``: the register, most urgent deadline first; ``rebuild-read-model``: the
register's and pages' read model made again from Temporal."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from breachclock.cli.common import emit, engine, json_option, run, voice
from breachclock.domain.incident.register import RegisterRow
from breachclock.domain.instants import countdown, iso_local, show, zone
from breachclock.domain.problems import said
from breachclock.service.readmodel import rebuild
from breachclock.service.register import register


def row_text(row: RegisterRow, now: datetime, tz_name: str) -> str:
    tz = zone(tz_name)
    due = (
        f"next deadline {show(row.next_deadline, tz)} ({countdown(row.next_deadline, now)})"
        if row.next_deadline
        else ""
    )
    never = f"never filed: {', '.join(row.never_filed)}" if row.never_filed else ""
    title = (row.title or "")[:40]
    return (
        f"{row.reference:24} {row.state:11} {(row.regime or '').upper():5} {title:40} {due}{never}"
    )


@click.command("list")
@json_option
@run
async def list_(as_json: bool) -> None:
    """The register: every incident, most urgent deadline first (from the read model:
    it answers while Temporal is down)."""
    e = engine()
    found = await register(e)
    rows = found.rows
    now = datetime.now(UTC)
    tz = e.settings.operator_zone
    data = [
        {**r.model_dump(mode="json"), "next_deadline": iso_local(r.next_deadline, zone(tz))}
        for r in rows
    ]
    text = "\n".join(row_text(r, now, tz).rstrip() for r in rows) or "no incidents"
    emit(as_json, data, text)


@click.command("rebuild-read-model")
@json_option
@run
async def rebuild_read_model(as_json: bool) -> None:
    """Rebuild the pages' read model from Temporal (a new, lost or restored one); the
    engine may keep running: its live projections win over older ones."""
    done = await rebuild(engine())
    lines = [said("answer.read_model.rebuilt", incidents=done.incidents, changed=done.changed)]
    if done.unread:
        lines.append(said("answer.read_model.unread", references=done.unread))
    emit(as_json, done.model_dump(mode="json"), "\n".join(line.words(voice()) for line in lines))
