"""``schema NAME``: the JSON Schema of an input file, from the same models that check it,
so what the help says and what the engine accepts cannot drift apart. The files under
``examples/`` are one valid instance of each."""

from __future__ import annotations

import json
from typing import Any

import click
from pydantic import BaseModel

from breachclock.domain.incident.model import Facts, OpenIncident
from breachclock.domain.notify.assessment import Assessment
from breachclock.domain.notify.notice import IncidentNotice
from breachclock.domain.notify.subscribers import Subscriber

SET_BY_THE_CLI = {"notice": ("reference", "regime"), "open": ("reference", "opened_by")}
"""Fields a command fills in itself: not part of the file."""

INPUTS: dict[str, tuple[type[BaseModel], str]] = {
    "facts": (Facts, "facts --file (a patch: any subset of the fields)"),
    "assessment": (Assessment, "assess --file"),
    "notice": (IncidentNotice, "notice --file"),
    "subscribers": (Subscriber, "subscribers --file: one row (CSV column or JSONL key) each"),
    "open": (OpenIncident, "open --file"),
}


def schema_of(name: str) -> dict[str, Any]:
    model, used_by = INPUTS[name]
    schema = model.model_json_schema()
    for field in SET_BY_THE_CLI.get(name, ()):
        schema.get("properties", {}).pop(field, None)
        if field in schema.get("required", []):
            schema["required"].remove(field)
    schema["description"] = f"{used_by}. Example: examples/ in the checkout."
    return schema


@click.command()
@click.argument("name", type=click.Choice(sorted(INPUTS)))
def schema(name: str) -> None:
    """The JSON Schema of an input file (facts, assessment, notice, subscribers, open)."""
    click.echo(json.dumps(schema_of(name), indent=2, ensure_ascii=False))
