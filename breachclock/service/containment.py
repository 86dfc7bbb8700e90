"""Containment: takedown requests to named recipients, and what became of them."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources

from pydantic import ValidationError

from breachclock.domain.incident.containment import (
    Recipient,
    TakedownReport,
    TakedownRequest,
    TakedownTask,
    parse_directory,
)
from breachclock.domain.regimes import RegimeCode
from breachclock.domain.text import InputFileError
from breachclock.runtime import files
from breachclock.service.engine import Engine, Refused
from workflows.incident import IncidentWorkflow
from workflows.messages import Answer

COUNTRY = {RegimeCode.DK: "dk"}
"""The directory's country for an incident's regime (Swedish otherwise)."""


def directory(engine: Engine) -> dict[str, dict[str, Recipient]]:
    """The takedown recipients by country: ``BREACHCLOCK_TAKEDOWN_DIRECTORY`` when set,
    else the directory shipped with the domain (``takedown_directory.json``)."""
    path = engine.settings.takedown_directory
    try:
        if path is None:
            shipped = resources.files("breachclock.domain.incident") / "takedown_directory.json"
            return parse_directory(json.loads(shipped.read_text(encoding="utf-8")))
        return parse_directory(files.read_json(path))
    except (InputFileError, ValidationError) as err:
        raise Refused.of("takedown.directory_invalid", path=str(path or "")) from err


async def request_takedown(
    engine: Engine, reference: str, recipient: str, scope: str, count: int, by: str
) -> Answer:
    """Ask ``recipient`` (an id in the incident's country's directory) to remove ``count``
    entries described by ``scope``; the mail goes once, under its business key."""
    state = await engine.state(reference)
    country = COUNTRY.get(state.regime, "se")
    known = directory(engine).get(country, {})
    found = known.get(recipient)
    if found is None:
        raise Refused.of(
            "takedown.unknown_recipient",
            "recipient",
            recipient=recipient,
            country=country,
            known=sorted(known),
        )
    request = engine.parse(
        TakedownRequest,
        recipient=found.id,
        name=found.name,
        address=found.email,
        scope=scope,
        count=count,
        by=by,
    )
    answer: Answer = await engine.update(reference, IncidentWorkflow.request_takedown, request)
    return answer


async def report_takedown(
    engine: Engine,
    reference: str,
    recipient: str,
    status: str,
    by: str,
    at: str | datetime | None = None,
    how_verified: str | None = None,
    reason: str | None = None,
) -> Answer:
    """Record that a takedown was acknowledged, its removal confirmed (by a person, saying
    how it was verified), or that it failed."""
    report = engine.parse(
        TakedownReport,
        recipient=recipient,
        status=status,
        by=by,
        at=at,
        how_verified=how_verified,
        reason=reason,
    )
    answer: Answer = await engine.update(reference, IncidentWorkflow.report_takedown, report)
    return answer


async def takedowns(engine: Engine, reference: str) -> list[TakedownTask]:
    return (await engine.state(reference)).takedowns
