"""The reporting regimes as data: which regulator, which clocks, in what order.

Each regime is a sequence of stages. An *automatic* stage is filed at its
deadline with whatever is known (the law wants an early report, however thin).
A *follow-up* stage wants the complete facts by its deadline; if they are still
missing then, it takes an extension filing that carries a justification, and the
rest follows as soon as possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from breachclock.domain.catalogue import Language
from breachclock.domain.instants import add_calendar_month


class RegimeCode(StrEnum):
    PTS = "pts"
    """Sweden, LEK (2022:482) and Regulation 611/2013: integrity incidents in the service."""
    IMY = "imy"
    """Sweden, GDPR art. 33: personal-data breaches outside LEK."""
    DK = "dk"
    """Denmark: Digitaliseringsstyrelsen (formerly Erhvervsstyrelsen)."""
    NIS2 = "nis2"
    """NIS2 art. 23: a significant security incident, reported beside the privacy report."""


class StageKind(StrEnum):
    AUTOMATIC = "automatic"
    FOLLOW_UP = "follow_up"


class Anchor(StrEnum):
    AWARENESS = "awareness"
    PREVIOUS_FILING = "previous_filing"


@dataclass(frozen=True)
class Stage:
    name: str
    kind: StageKind
    anchor: Anchor
    hours: int | None = None
    """Elapsed hours from the anchor; None with ``calendar_month`` or for no fixed deadline."""
    calendar_month: bool = False
    needs_own_filing: bool = False
    """True where a complete earlier filing does not make this one unnecessary (NIS2 final)."""

    def due(self, anchor_at: datetime) -> datetime | None:
        if self.calendar_month:
            return add_calendar_month(anchor_at)
        if self.hours is None:
            return None
        return anchor_at + timedelta(hours=self.hours)


@dataclass(frozen=True)
class Regime:
    code: RegimeCode
    regulator: str
    address: str
    """Where its filings go by e-mail (a setting may point them elsewhere, e.g. a test inbox)."""
    stages: tuple[Stage, ...]


REGIMES: dict[RegimeCode, Regime] = {
    RegimeCode.PTS: Regime(
        code=RegimeCode.PTS,
        regulator="Post- och telestyrelsen (PTS)",
        address="incidentrapport@pts.se",
        stages=(
            Stage("initial_report", StageKind.AUTOMATIC, Anchor.AWARENESS, hours=24),
            Stage("supplementary_report", StageKind.FOLLOW_UP, Anchor.PREVIOUS_FILING, hours=72),
        ),
    ),
    RegimeCode.IMY: Regime(
        code=RegimeCode.IMY,
        regulator="Integritetsskyddsmyndigheten (IMY)",
        address="imy@imy.se",
        stages=(
            Stage("notification", StageKind.AUTOMATIC, Anchor.AWARENESS, hours=72),
            Stage("further_information", StageKind.FOLLOW_UP, Anchor.PREVIOUS_FILING),
        ),
    ),
    RegimeCode.DK: Regime(
        code=RegimeCode.DK,
        regulator="Digitaliseringsstyrelsen",
        address="sikkerhedshaendelser@digst.dk",
        stages=(
            Stage("initial_report", StageKind.AUTOMATIC, Anchor.AWARENESS, hours=24),
            Stage("follow_up_report", StageKind.FOLLOW_UP, Anchor.PREVIOUS_FILING, hours=72),
        ),
    ),
    RegimeCode.NIS2: Regime(
        code=RegimeCode.NIS2,
        regulator="CSIRT / competent authority (NIS2)",
        address="cert@cert.se",
        stages=(
            Stage("early_warning", StageKind.AUTOMATIC, Anchor.AWARENESS, hours=24),
            Stage("incident_notification", StageKind.AUTOMATIC, Anchor.AWARENESS, hours=72),
            Stage(
                "final_report",
                StageKind.FOLLOW_UP,
                Anchor.PREVIOUS_FILING,
                calendar_month=True,
                needs_own_filing=True,
            ),
        ),
    ),
}

LANGUAGE_OF: dict[RegimeCode, Language] = {
    RegimeCode.PTS: "sv",
    RegimeCode.IMY: "sv",
    RegimeCode.DK: "da",
    RegimeCode.NIS2: "en",
}
"""The language a regulator is written to (NIS2: the default, ``Policy.nis2_language``)."""

PRIVACY_REGIMES = (RegimeCode.PTS, RegimeCode.IMY, RegimeCode.DK)


def regime(code: RegimeCode) -> Regime:
    return REGIMES[code]


def phone_region(code: RegimeCode) -> str:
    """Where a subscriber's number without a country code belongs: Denmark for the Danish
    authority's incidents, Sweden otherwise."""
    return "DK" if code is RegimeCode.DK else "SE"
