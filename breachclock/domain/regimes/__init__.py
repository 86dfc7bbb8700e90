"""The register of reporting regimes: one record per regime (a module in this package),
read by everything else through ``regime`` and ``regimes``.

The built-in records are registered on import; a new regime is a new module here and
its line below. Stored state names a regime by its code, so a code is never renamed."""

from __future__ import annotations

from breachclock.domain.regimes import dk, fi, imy, nis2, pts
from breachclock.domain.regimes.record import (
    Anchor,
    Channel,
    Layout,
    Regime,
    RegimeCode,
    Source,
    Stage,
    StageKind,
    privacy_regimes,
    regime,
    regimes,
    register,
)

__all__ = [
    "Anchor",
    "Channel",
    "Layout",
    "Regime",
    "RegimeCode",
    "Source",
    "Stage",
    "StageKind",
    "privacy_regimes",
    "regime",
    "regimes",
    "register",
]

for _record in (pts.RECORD, imy.RECORD, dk.RECORD, nis2.RECORD, fi.RECORD):
    register(_record)

RegimeCode.PTS = pts.RECORD.code
RegimeCode.IMY = imy.RECORD.code
RegimeCode.DK = dk.RECORD.code
RegimeCode.NIS2 = nis2.RECORD.code
