"""``list``: the register, most urgent deadline first."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from breachclock.cli.common import emit, engine, json_option, run
from breachclock.domain.incident.register import RegisterRow
from breachclock.domain.instants import countdown, iso_local, show, zone
from breachclock.service.engine import Unreachable
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
    """The register: every incident, most urgent deadline first."""
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
    if found.unreachable:
        raise Unreachable(
            f"{found.unreachable}; only closed incidents (from the register) are shown"
        )
