"""Intake from monitoring: Prometheus Alertmanager's webhook opens an incident for an
alert group labelled for breachclock, and pages the on-call to confirm it.

The incident is opened, not discovered: whether the operator is aware of a personal
data breach is a person's call, and the page asks for it. The reference is derived
from the group's ``groupKey``; Temporal refuses a second workflow under one id, so a
repeated delivery of the same group opens nothing twice, and the page's key is the
reference's, so it is sent once however often the group is delivered.

A group that fires again after its incident was closed opens the next incident in the
group's chain (``ALERT-…-2``), linked to the closed one, and pages again. A resolved
alert is noted on the open incident's timeline; it never closes it.

Deliveries of one group that arrive together wait (a bounded while) for the one
that pages, and get its answer; past the bound, the refusal is ``busy`` (an HTTP
surface answers 409 with when to retry), never an error.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.mailer import KeyBusy, Mailer, relay_for
from breachclock.domain.catalogue import Language, Voice
from breachclock.domain.ids import workflow_id
from breachclock.domain.incident.alert import AlertResolved
from breachclock.domain.incident.model import Facts, OpenIncident
from breachclock.domain.problems import invalid
from breachclock.domain.regimes import RegimeCode, privacy_regimes
from breachclock.runtime.links import incident_url
from breachclock.service.engine import Engine, Refused, busy
from breachclock.service.incidents import open_incident
from workflows.incident import IncidentWorkflow

LABEL = "breachclock"
"""An alert is for breachclock when it carries ``breachclock="incident"``."""
REGIME_LABEL = "breachclock_regime"
PAGE_WAIT = 10.0
"""Seconds a delivery waits for another delivery of its group that is paging now: a
page takes a relay's answer (well under this); past it, the caller is told to retry."""
"""The values ``breachclock_regime`` may take: the regimes an incident can be opened under."""
CHAIN = 100
"""Incidents one alert group may open, one after another's closing (bounded)."""


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: str = "firing"
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    startsAt: str | None = None
    endsAt: str | None = None
    generatorURL: str | None = None
    fingerprint: str | None = None

    def for_us(self) -> bool:
        return self.labels.get(LABEL) == "incident"

    def regime(self) -> RegimeCode:
        """The regime its label names (any case), PTS without one."""
        return RegimeCode(self.labels.get(REGIME_LABEL, RegimeCode.PTS.value).strip().lower())


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

    @model_validator(mode="after")
    def _known_regimes(self) -> AlertmanagerWebhook:
        """A regime label breachclock cannot open under is the sender's mistake (422,
        which Alertmanager does not retry), named with the values it may take."""
        for number, alert in enumerate(self.alerts):
            given = alert.labels.get(REGIME_LABEL)
            accepted = [r.value for r in privacy_regimes()]
            if alert.for_us() and given is not None and given.strip().lower() not in accepted:
                raise invalid(
                    "intake.unknown_regime",
                    f"alerts.{number}.labels.{REGIME_LABEL}",
                    regime=given[:100],
                    accepted=accepted,
                )
        return self


class IntakeResult(BaseModel):
    reference: str | None
    """The incident the group opened, or had opened before; None: nothing for breachclock."""
    opened: bool
    paged: bool
    follows: str | None = None
    """The closed incident the same group opened before this one."""
    resolved: int = 0
    """Resolved alerts noted on the incident's timeline by this delivery."""


def reference_of(group_key: str, number: int = 1) -> str:
    """The group's ``number``-th incident: the first has the bare digest."""
    base = "ALERT-" + hashlib.sha256(group_key.encode()).hexdigest()[:16].upper()
    return base if number == 1 else f"{base}-{number}"


def _title(hook: AlertmanagerWebhook, alerts: list[Alert], untitled: str) -> str:
    first = alerts[0]
    text = (
        hook.commonAnnotations.get("summary")
        or first.annotations.get("summary")
        or first.labels.get("alertname")
        or untitled
    )
    return " ".join(text.split())[:300]


async def alertmanager(engine: Engine, hook: AlertmanagerWebhook, by: str) -> IntakeResult:
    firing = [a for a in hook.alerts if a.status == "firing" and a.for_us()]
    resolved = [a for a in hook.alerts if a.status == "resolved" and a.for_us()]
    if not firing and not resolved:
        return IntakeResult(reference=None, opened=False, paged=False)
    reference, previous, running = await _current(engine, hook.groupKey)
    if not firing:
        noted = await _resolve(engine, reference, resolved) if running else 0
        return IntakeResult(
            reference=reference if running else None, opened=False, paged=False, resolved=noted
        )
    first = firing[0]
    regime = first.regime()
    opening = engine.parse(
        OpenIncident,
        reference=reference,
        title=_title(hook, firing, Voice(engine.settings.web_language)("intake.untitled")),
        regime=regime,
        opened_by=by,
        facts=Facts(in_communications_service=regime is not RegimeCode.IMY),
        alert=_source(first, previous),
    )
    opened = False
    if not running:
        try:
            await open_incident(engine, opening)
            opened = True
        except Refused as err:  # another delivery of the group opened it just now
            if not any(p.code == "incident.exists" for p in err.problems):
                raise
    paged = await _page(engine, opening, firing, hook.externalURL)
    noted = await _resolve(engine, reference, resolved)
    return IntakeResult(
        reference=reference,
        opened=opened,
        paged=paged,
        follows=previous if opened else None,
        resolved=noted,
    )


def _source(alert: Alert, follows: str | None) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "labels": alert.labels,
        "starts_at": alert.startsAt,
        "generator_url": alert.generatorURL or None,
        "follows": follows,
    }


async def _current(engine: Engine, group_key: str) -> tuple[str, str | None, bool]:
    """The group's incident that is not closed (its reference, the closed one before
    it, and whether it runs), walking the chain: the register and Temporal both know a
    closed one (the register after Temporal has let its history go)."""
    client = await engine.client()
    previous = None
    for number in range(1, CHAIN + 1):
        reference = reference_of(group_key, number)
        async with engine.records() as store:
            if await store.registered(reference) is not None:
                previous = reference
                continue
        try:
            status = (await client.get_workflow_handle(workflow_id(reference)).describe()).status
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return reference, previous, False
        if status == WorkflowExecutionStatus.RUNNING:
            return reference, previous, True
        previous = reference
    raise Refused.of("intake.chain_full", reference=reference_of(group_key), limit=CHAIN)


async def _resolve(engine: Engine, reference: str, alerts: list[Alert]) -> int:
    """Each resolved alert noted on the incident's timeline (once: the entry is keyed
    by fingerprint and time); the count newly noted."""
    noted = 0
    for alert in alerts:
        if not alert.endsAt:
            continue
        resolved = engine.parse(AlertResolved, fingerprint=alert.fingerprint, at=alert.endsAt)
        answer = await engine.update(reference, IncidentWorkflow.alert_resolved, resolved)
        noted += answer.said is not None and answer.said.code == "answer.event.recorded"
    return noted


def page_text(
    language: Language, opening: OpenIncident, names: list[str], source: str, url: str
) -> tuple[str, str]:
    """The intake page's subject and body in ``language``: what monitoring opened, and
    that a person records awareness on the incident's page (``url``), not in a terminal."""
    w = Voice(language)
    alerted = w("intake.page.alerts", names=names) + (f" ({source})" if source else "")
    body = [
        w("intake.page.opened", reference=opening.reference, title=opening.title),
        alerted,
        "",
        w("intake.page.do"),
        f"  {url}",
    ]
    return w("intake.page.subject", reference=opening.reference), "\n".join(body) + "\n"


async def _page(engine: Engine, opening: OpenIncident, alerts: list[Alert], source: str) -> bool:
    """Page the on-call once per incident (the ledger knows the key): True if sent now.
    In the console's language (``page_text``)."""
    settings = engine.settings
    names = sorted({a.labels.get("alertname", "?") for a in alerts})
    url = incident_url(settings.console_url, opening.reference)
    subject, body = page_text(settings.web_language, opening, names, source, url)
    message = EmailMessage()
    message["To"] = ", ".join(settings.page_oncall)
    message["Subject"] = subject
    message.set_content(body)
    async with engine.records() as store:
        try:
            receipt = await Mailer(relay_for(settings), store).send_once(
                f"{opening.reference}:page:intake", message, wait=PAGE_WAIT
            )
        except KeyBusy:
            raise busy() from None
    return not receipt.duplicate
