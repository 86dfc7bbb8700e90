"""Intake from monitoring: Prometheus Alertmanager's webhook opens an incident for an
alert group labelled for breachclock, and pages the on-call to confirm it.

The incident is opened, not discovered: whether the operator is aware of a personal
data breach is a person's call, and the page asks for it. The reference is derived
from the group's ``groupKey``, so Temporal's workflow-id uniqueness makes a repeated
delivery of the same group open nothing twice; the page's key is the reference's, so
it is sent once however often the group is delivered. Deliveries of one group that
arrive together wait (a bounded while) for the one that pages, and get its answer;
past the bound, the refusal is ``busy`` (an HTTP surface answers 409 with when to
retry), never an error.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from activities.mailer import KeyBusy, Mailer, relay_for
from breachclock.domain.incident.model import OpenIncident
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime.config import cli_command
from breachclock.service.engine import Engine, Refused, busy
from breachclock.service.incidents import open_incident

LABEL = "breachclock"
"""An alert is for breachclock when it carries ``breachclock="incident"``."""
REGIME_LABEL = "breachclock_regime"
PAGE_WAIT = 10.0
"""Seconds a delivery waits for another delivery of its group that is paging now: a
page takes a relay's answer (well under this); past it, the caller is told to retry."""


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: str = "firing"
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    startsAt: str | None = None
    fingerprint: str | None = None


class AlertmanagerWebhook(BaseModel):
    """Alertmanager's webhook payload (version 4), the fields breachclock reads."""

    model_config = ConfigDict(extra="ignore")
    version: str = "4"
    groupKey: str = Field(min_length=1, max_length=10_000)
    status: str = "firing"
    receiver: str = ""
    commonLabels: dict[str, str] = {}
    commonAnnotations: dict[str, str] = {}
    externalURL: str = ""
    alerts: list[Alert] = Field(default=[], max_length=10_000)


class IntakeResult(BaseModel):
    reference: str | None
    """The incident the group opened, or had opened before; None: nothing for breachclock."""
    opened: bool
    paged: bool


def reference_of(group_key: str) -> str:
    return "ALERT-" + hashlib.sha256(group_key.encode()).hexdigest()[:16].upper()


def _title(hook: AlertmanagerWebhook, alerts: list[Alert]) -> str:
    first = alerts[0]
    text = (
        hook.commonAnnotations.get("summary")
        or first.annotations.get("summary")
        or first.labels.get("alertname")
        or "Alert from monitoring"
    )
    return " ".join(text.split())[:300]


async def alertmanager(engine: Engine, hook: AlertmanagerWebhook, by: str) -> IntakeResult:
    labelled = [
        a for a in hook.alerts if a.status == "firing" and a.labels.get(LABEL) == "incident"
    ]
    if not labelled:
        return IntakeResult(reference=None, opened=False, paged=False)
    reference = reference_of(hook.groupKey)
    regime = labelled[0].labels.get(REGIME_LABEL, RegimeCode.PTS.value)
    opening = engine.parse(
        OpenIncident, reference=reference, title=_title(hook, labelled), regime=regime, opened_by=by
    )
    try:
        await open_incident(engine, opening)
        opened = True
    except Refused as err:
        if not any(p.code == "incident.exists" for p in err.problems):
            raise
        opened = False
    paged = await _page(engine, opening, labelled, hook.externalURL)
    return IntakeResult(reference=reference, opened=opened, paged=paged)


async def _page(engine: Engine, opening: OpenIncident, alerts: list[Alert], source: str) -> bool:
    """Page the on-call once per incident (the ledger knows the key): True if sent now."""
    settings = engine.settings
    message = EmailMessage()
    message["To"] = ", ".join(settings.page_oncall)
    message["Subject"] = f"[breachclock] {opening.reference}: confirm a possible breach"
    names = sorted({a.labels.get("alertname", "?") for a in alerts})
    body: list[Any] = [
        f"Monitoring opened {opening.reference}: {opening.title}",
        f"Alerts: {', '.join(names)}" + (f" ({source})" if source else ""),
        "",
        "Nothing is reported until a person records awareness. If this is a personal "
        "data breach, record when the operator became aware:",
        f"  {cli_command()} discover {opening.reference} --at TIME --by NAME --how TEXT",
        "or on the incident's page in the console.",
    ]
    message.set_content("\n".join(str(line) for line in body))
    async with engine.records() as store:
        try:
            receipt = await Mailer(relay_for(settings), store).send_once(
                f"{opening.reference}:page:intake", message, wait=PAGE_WAIT
            )
        except KeyBusy:
            raise busy() from None
    return not receipt.duplicate
