"""breachclock's Prometheus metrics: their names, and the series the engine exports.

Names follow Prometheus's conventions as the Temporal runtime writes them (see
``telemetry.metrics_runtime``): a counter is named here without ``_total`` and exported
with it; a histogram's unit is its name's suffix (``seconds``); a gauge's name carries
its unit itself. Labels are bounded values only (regime, stage, state, outcome), never
an incident's reference.

Prometheus cannot see the first increment of a counter whose series appears with it
(``increase()`` has no earlier sample), so the engine writes every counter's series at
zero when it starts (``zero_counters``), with the labels the workflows' meter adds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from temporalio.common import MetricMeter

from breachclock.domain.incident.health import Health
from breachclock.domain.incident.model import FilingKind
from breachclock.domain.notify.delivery import CallOutcome, Status
from breachclock.domain.regimes import RegimeCode

PREFIX = "breachclock_"


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    unit: str = ""
    """A gauge's is in its name already (the runtime appends none to gauges)."""


FILINGS = Metric("breachclock_filings", "Reports filed with regulators", "{filing}")
ESCALATIONS = Metric("breachclock_escalations", "Escalation pages sent", "{page}")
NOTIFICATION_ATTEMPTS = Metric(
    "breachclock_notification_attempts", "Notification attempts by channel and outcome", "{attempt}"
)
PEOPLE_DONE = Metric(
    "breachclock_people_notified", "People a campaign is done with, by how it ended", "{person}"
)
FIRST_FILING = Metric(
    "breachclock_discovery_to_initial_filing",
    "Time from awareness to the main track's first filing",
    "seconds",
)
"""A histogram: exported as ``breachclock_discovery_to_initial_filing_seconds``."""

ESCALATION_LEVELS = ("lead", "reminder", "overdue")
EMAIL_OUTCOMES = ("sent",)
"""The e-mail outcomes known before any is counted (others appear as they happen)."""

OPEN_INCIDENTS = Metric("breachclock_open_incidents", "Open incidents by state and regime")
NEXT_DEADLINE = Metric(
    "breachclock_next_deadline_seconds",
    "Seconds until the nearest deadline not yet met, over open incidents (negative: overdue)",
)
UNOWNED_DEADLINE = Metric(
    "breachclock_next_unowned_deadline_seconds",
    "Seconds until the nearest deadline nobody has approved a filing for or acknowledged",
)
OVERDUE = Metric("breachclock_filings_overdue", "Deadlines passed with no filing")
SENDING_FAILING = Metric(
    "breachclock_filing_sending_failing",
    "Open incidents whose last filing attempt failed, by regime",
)
STALLED = Metric(
    "breachclock_campaigns_stalled", "Campaigns ended without finishing and not restarted"
)
ENGINE_UP = Metric("breachclock_engine_up", "1 while the engine's worker runs")
TEMPORAL_UP = Metric(
    "breachclock_temporal_up", "1 when the engine's last look at its incidents succeeded"
)
LAST_SWEEP = Metric(
    "breachclock_health_sweep_timestamp_seconds",
    "When the engine last looked at its open incidents (Unix time)",
)


def workflow_meter(
    meter: MetricMeter, namespace: str, task_queue: str, workflow_type: str
) -> MetricMeter:
    """The meter with the labels a workflow's own meter adds (``workflow.metric_meter()``),
    so a series written here is the one the workflow increments."""
    return meter.with_additional_attributes(
        {"namespace": namespace, "task_queue": task_queue, "workflow_type": workflow_type}
    )


def zero_counters(incidents: MetricMeter, campaigns: MetricMeter) -> None:
    """Every counter's known series, at zero (adding 0 creates the series)."""
    filings = incidents.create_counter(FILINGS.name, FILINGS.description, FILINGS.unit)
    pages = incidents.create_counter(ESCALATIONS.name, ESCALATIONS.description, ESCALATIONS.unit)
    for code in RegimeCode:
        for kind in FilingKind:
            for late in (False, True):
                filings.add(0, {"regime": code.value, "kind": kind.value, "late": late})
        for level in ESCALATION_LEVELS:
            pages.add(0, {"regime": code.value, "level": level})
    attempts = campaigns.create_counter(
        NOTIFICATION_ATTEMPTS.name, NOTIFICATION_ATTEMPTS.description, NOTIFICATION_ATTEMPTS.unit
    )
    outcomes: list[tuple[str, str]] = [("call", str(o)) for o in CallOutcome]
    outcomes += [("email", o) for o in EMAIL_OUTCOMES]
    for channel, outcome in outcomes:
        attempts.add(0, {"channel": channel, "outcome": outcome})
    people = campaigns.create_counter(PEOPLE_DONE.name, PEOPLE_DONE.description, PEOPLE_DONE.unit)
    for status in Status:
        if status is not Status.PENDING:
            people.add(0, {"status": status.value})


def _gauge(meter: MetricMeter, metric: Metric) -> Any:
    return meter.create_gauge_float(metric.name, metric.description, metric.unit)


def record_health(meter: MetricMeter, found: Health | None) -> None:
    """The health sweep's figures as gauges; ``None``: Temporal did not answer (the
    figures stand as last seen, and ``breachclock_temporal_up`` says 0)."""
    _gauge(meter, ENGINE_UP).set(1.0)
    _gauge(meter, TEMPORAL_UP).set(0.0 if found is None else 1.0)
    if found is None:
        return
    _gauge(meter, LAST_SWEEP).set(time.time())
    opened = _gauge(meter, OPEN_INCIDENTS)
    for (state, code), count in found.open.items():
        opened.set(float(count), {"state": state, "regime": code.value})
    for metric, values in (
        (NEXT_DEADLINE, found.next_deadline),
        (UNOWNED_DEADLINE, found.unowned_deadline),
    ):
        gauge = _gauge(meter, metric)
        for (code, stage), seconds in values.items():
            gauge.set(seconds, {"regime": code.value, "stage": stage})
    for metric, counts in ((OVERDUE, found.overdue), (SENDING_FAILING, found.sending_failing)):
        gauge = _gauge(meter, metric)
        for code, count in counts.items():
            gauge.set(float(count), {"regime": code.value})
    _gauge(meter, STALLED).set(float(found.campaigns_stalled))


def record_stopped(meter: MetricMeter) -> None:
    """The worker stops: ``breachclock_engine_up`` says 0 to the last scrape."""
    _gauge(meter, ENGINE_UP).set(0.0)
