"""What a regime's record holds, and the code that names one.

A regime is one record (a module beside this one): the authority, how it takes
filings, the language it is written to, its clocks, the layout of its form and the
public source of each of these facts. The rest of the engine reads records only, so
a new regime is a new record, its catalogue entries and a golden test.

Each regime is a sequence of stages. An *automatic* stage is filed at its deadline
with whatever is known (the law wants an early report, however thin). A *follow-up*
stage wants the complete facts by its deadline; if they are still missing then, it
takes an extension filing that carries a justification, and the rest follows as soon
as possible.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

from breachclock.domain.catalogue import Language
from breachclock.domain.instants import add_calendar_month

_CODES: dict[str, RegimeCode] = {}
"""Every registered code, once: validation and ``RegimeCode(x)`` hand out these very
objects, so codes compare by identity as the enum they replaced did."""


_REGISTER: dict[str, Regime] = {}
"""The registered records by code, in the order registered (``register``)."""


class _Codes(type):
    def __iter__(cls) -> Iterator[RegimeCode]:
        """Every registered regime's code, as the enum it replaced iterated its members."""
        return iter([r.code for r in _REGISTER.values()])


class RegimeCode(str, metaclass=_Codes):
    """A registered regime's code (``pts``, ``dk``…). Stored state carries it as its
    string: a code in a saved history is never renamed."""

    __slots__ = ()

    PTS: ClassVar[RegimeCode]
    IMY: ClassVar[RegimeCode]
    DK: ClassVar[RegimeCode]
    NIS2: ClassVar[RegimeCode]

    def __new__(cls, value: str) -> RegimeCode:
        return _known(str(value))

    @classmethod
    def mint(cls, value: str) -> RegimeCode:
        """The code of a record being registered (``register``)."""
        code = _CODES.get(value)
        if code is None:
            code = _CODES[value] = str.__new__(cls, value)
        return code

    @property
    def value(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"RegimeCode({self.value!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(
            _known,
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


def _known(value: str) -> RegimeCode:
    record = _REGISTER.get(value)
    if record is None:
        raise ValueError(f"unknown regime {value!r}")
    return record.code


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


class Channel(StrEnum):
    EMAIL = "email"
    """The engine sends the filing by e-mail."""
    PORTAL = "portal"
    """A person files on the authority's portal (signed in as the operator); the engine
    prepares the filing, pages them, and counts it sent when they record the receipt."""


@dataclass(frozen=True)
class Source:
    """Where a fact of the record comes from: what it supports, and the public page."""

    fact: str
    url: str


class Layout(StrEnum):
    """The order of a filing's fields, as the authority's form has them."""

    ANNEX_I = "annex_i"
    """Regulation 611/2013 Annex I in PTS's form's order (PTS; the Danish authority)."""
    GDPR = "gdpr"
    """IMY's notification form."""
    NIS2 = "nis2"
    """NIS2 art. 23 early warning, notification and final report."""


@dataclass(frozen=True)
class Regime:
    code: RegimeCode
    regulator: str
    """The authority's name in its own language, as a filing addresses it."""
    channel: Channel
    destination: str
    """The e-mail address filings go to, or the portal's URL where a person files them."""
    language: Language
    """The language the authority is written to (NIS2: the default, ``Policy.nis2_language``)."""
    stages: tuple[Stage, ...]
    sources: tuple[Source, ...]
    layout: Layout = Layout.ANNEX_I
    privacy: bool = True
    """A privacy regime an incident may be opened under (NIS2 runs beside one)."""
    phone_region: str = "SE"
    """Where a subscriber's number without a country code belongs."""

    @property
    def address(self) -> str | None:
        """The e-mail address the engine sends filings to; None for a portal."""
        return self.destination if self.channel is Channel.EMAIL else None

    @property
    def portal(self) -> str | None:
        """The portal a person files on; None where the engine sends the filing."""
        return self.destination if self.channel is Channel.PORTAL else None


def register(record: Regime) -> Regime:
    """Add ``record`` to the register (or replace the one with its code)."""
    _REGISTER[record.code.value] = record
    return record


def regime(code: RegimeCode) -> Regime:
    return _REGISTER[code]


def regimes() -> list[Regime]:
    """Every registered regime, in the order registered."""
    return list(_REGISTER.values())


def privacy_regimes() -> tuple[RegimeCode, ...]:
    """The regimes an incident may be opened under."""
    return tuple(r.code for r in _REGISTER.values() if r.privacy)
