"""One message catalogue for every word a person reads: the console, the CLI's
refusals, the filings to regulators, the notices to subscribers and the timeline.

The messages live in gettext PO files, one per language, under
``breachclock/domain/locales/<language>/LC_MESSAGES/breachclock.po`` (Babel reads
them; translators and ``pybabel`` tools work on them as they are). A message id is a
stable key (``filing.s.times``, ``problem.approve.late_reason``), never English prose,
so the three languages stand side by side and none is the "source": each is complete
on its own (``tests/domain/test_catalogue.py``).

``Voice`` speaks one language in one zone (and, for a filing, to one regulator:
``key@pts`` overrides ``key``). Its placeholders are Python format fields whose format
spec says how a value is written in that language:

``{due:when}``      an instant as documents write it: ``2026-11-23 kl. 09:05 CET``
``{due:human}``     an instant as a screen shows it: ``mån 23 nov. 09:05 CET``
``{on:day}``        a date; ``{n:number}`` a count with the language's grouping
``{left:span}``     a length of time (seconds, or a timedelta): ``3 h 12 min``
``{stage:@stage}``  a recorded value's word: the message ``stage.<value>`` (of each, for a list)
``{items:list}``    a list, joined as the language joins lists (``list/or``, ``@key/or``: "or")

Anything else (a name, a reference, what a person typed) is written as given.

Tests switch on *marking* (``marking()``): every message then comes wrapped in
``MESSAGE`` marks and every raw value in ``DATA`` marks, so a test can tell the
catalogue's words from the data they carry and find any word of another language
(``foreign``).
"""

from __future__ import annotations

import gettext
import re
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.lists import format_list
from babel.messages.pofile import read_po

Language = Literal["sv", "da", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "breachclock"

MESSAGE = ("\ue000", "\ue001")
"""Marks around a catalogue message, while ``marking()``."""
DATA = ("\ue002", "\ue003")
"""Marks around a raw value inside a message, while ``marking()``."""

_MARKING: ContextVar[bool] = ContextVar("catalogue_marking", default=False)


def po_path(language: Language) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@dataclass(frozen=True)
class Messages:
    """One language's catalogue: plain messages, plural messages, and the plural rule."""

    language: Language
    plain: Mapping[str, str]
    plural: Mapping[str, tuple[str, ...]]
    plural_rule: Any

    def keys(self) -> set[str]:
        return set(self.plain) | set(self.plural)


@cache
def messages(language: Language) -> Messages:
    """The catalogue of ``language``, read once from its PO file."""
    with po_path(language).open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    plain: dict[str, str] = {}
    plural: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id:
            continue  # the header
        if isinstance(message.id, tuple):
            plural[str(message.id[0])] = tuple(str(form) for form in message.string or ())
        else:
            plain[str(message.id)] = str(message.string)
    rule = gettext.c2py(catalog.plural_expr)
    return Messages(language, plain, plural, rule)


for _language in LANGUAGES:  # read at import: never file I/O inside a workflow's task
    messages(_language)


class CatalogueKeyError(KeyError):
    """A key no catalogue has: a programming error, which the catalogue tests catch."""


@contextmanager
def marking() -> Iterator[None]:
    """While inside, messages and the data in them come marked (for tests)."""
    token = _MARKING.set(True)
    try:
        yield
    finally:
        _MARKING.reset(token)


def _mark(text: str, marks: tuple[str, str]) -> str:
    return f"{marks[0]}{text}{marks[1]}" if _MARKING.get() else text


def instant_of(value: Any) -> datetime:
    """A datetime, or the ISO text a problem's parameters carry it as."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def seconds_of(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


BABEL_LOCALE = {"sv": "sv_SE", "da": "da_DK", "en": "en_GB"}


def _load_locale_data() -> None:
    """Have Babel read its locale data now, at import: Babel loads it lazily from files,
    and a workflow's task may not open files (Babel is passed through the workflow
    sandbox, so what is loaded here is what the workflows use)."""
    sample = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
    for locale in BABEL_LOCALE.values():
        format_list(["a", "b"], style="standard", locale=locale)
        format_list(["a", "b"], style="or", locale=locale)
        format_datetime(sample, "EEE d MMM HH:mm zzz", locale=locale)


_load_locale_data()
HUMAN_PATTERN = {"sv": "EEE d MMM HH:mm", "da": "EEE d. MMM HH.mm", "en": "EEE d MMM HH:mm"}
"""Weekday, day, month, time: what a screen shows ("fre 5 dec. 14:03 CET")."""
THOUSANDS = {"sv": "\u00a0", "da": ".", "en": ","}


class Voice:
    """Speaks ``language`` in ``zone``; to ``regime`` where a message has an override."""

    def __init__(
        self,
        language: Language,
        zone: ZoneInfo | str = "UTC",
        regime: str | None = None,
        prefix: str = "",
        now: datetime | None = None,
    ) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"no catalogue for language {language!r}")
        self.language: Language = language
        self.tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self.regime = regime
        self.prefix = prefix
        self.now = now
        """The reader's present, where known: ``human`` shows the year of another year."""
        self._messages = messages(language)
        self._formatter = _Formatter(self)

    def scoped(self, prefix: str) -> Voice:
        """The same voice, its keys read under ``prefix`` (``filing.``)."""
        return Voice(self.language, self.tz, self.regime, prefix, self.now)

    # ------------------------------------------------------------- lookups

    def _key(self, key: str, table: Mapping[str, Any]) -> str | None:
        full = self.prefix + key
        if self.regime is not None and f"{full}@{self.regime}" in table:
            return f"{full}@{self.regime}"
        return full if full in table else None

    def has(self, key: str) -> bool:
        return self._key(key, self._messages.plain) is not None

    def has_plural(self, key: str) -> bool:
        return self._key(key, self._messages.plural) is not None

    def __call__(self, key: str, /, **params: Any) -> str:
        found = self._key(key, self._messages.plain)
        if found is None:
            raise CatalogueKeyError(f"{self.prefix}{key} ({self.language})")
        return _mark(self._formatter.format(self._messages.plain[found], **params), MESSAGE)

    def plural(self, key: str, count: int, /, **params: Any) -> str:
        """The form of ``key`` for ``count`` (given to the message as ``{count}`` too)."""
        found = self._key(key, self._messages.plural)
        if found is None:
            raise CatalogueKeyError(f"{self.prefix}{key} (plural, {self.language})")
        forms = self._messages.plural[found]
        form = forms[min(self._messages.plural_rule(count), len(forms) - 1)]
        return _mark(self._formatter.format(form, count=count, **params), MESSAGE)

    def value(self, prefix: str, raw: Any) -> str:
        """A recorded value's word (``stage.initial_report``); an unforeseen value as
        recorded (it is data then, and marked so)."""
        text = raw.value if isinstance(raw, Enum) else str(raw)
        key = f"{prefix}.{text}"
        return self(key) if self.has(key) else _mark(text, DATA)

    # ---------------------------------------------------------- formatting

    def when(self, instant: datetime | None) -> str:
        """An instant in this voice's zone as documents write it, with the zone."""
        if instant is None:
            return "—"
        local = instant.astimezone(self.tz)
        if self.language == "sv":
            return local.strftime("%Y-%m-%d kl. %H:%M %Z")
        if self.language == "da":
            return local.strftime("%d.%m.%Y kl. %H.%M %Z")
        return local.strftime("%Y-%m-%d %H:%M %Z")

    def human(self, instant: datetime | None) -> str:
        """An instant as a screen shows it: weekday, day, month, time and zone; the year
        too when it is not this one."""
        if instant is None:
            return "—"
        local = instant.astimezone(self.tz)
        pattern = HUMAN_PATTERN[self.language]
        if self.now is not None and local.year != self.now.astimezone(self.tz).year:
            pattern = pattern.replace("MMM ", "MMM y ")
        text = format_datetime(local, pattern, locale=BABEL_LOCALE[self.language])
        return f"{text} {local.tzname()}"

    def day(self, on: date) -> str:
        return on.strftime("%d.%m.%Y") if self.language == "da" else on.isoformat()

    def clock(self, hhmm: str) -> str:
        """A wall-clock time ``HH:MM`` as this language writes it."""
        return hhmm.replace(":", ".") if self.language == "da" else hhmm

    def number(self, n: float) -> str:
        if isinstance(n, float) and not n.is_integer():
            text = f"{n:,.1f}"
            decimal = "." if self.language == "en" else ","
            return (
                text.replace(",", "\0")
                .replace(".", decimal)
                .replace("\0", THOUSANDS[self.language])
            )
        return f"{int(n):,}".replace(",", THOUSANDS[self.language])

    def span(self, length: timedelta | float) -> str:
        """A length of time: "15 min", "6 h", "1 d 2 h" ("1 døgn 2 t" in Danish), also
        from a voice scoped to a prefix (a filing's: the units are not under it)."""
        minutes = int(abs(seconds_of(length)) // 60)
        days, rest = divmod(minutes, 24 * 60)
        hours, mins = divmod(rest, 60)
        unit = self.scoped("") if self.prefix else self
        parts = []
        if days:
            parts.append(unit("unit.days", n=days))
        if hours:
            parts.append(unit("unit.hours", n=hours))
        if mins or not parts:
            parts.append(unit("unit.minutes", n=mins))
        return " ".join(parts)

    def countdown(self, due: datetime, now: datetime) -> str:
        """How long until ``due``: "om 3 h 12 min", or "försenad 2 h 5 min" once past."""
        seconds = (due - now).total_seconds()
        minutes = int(abs(seconds) // 60)
        shown = (
            timedelta(days=minutes // (24 * 60), hours=(minutes // 60) % 24)
            if minutes >= 2 * 24 * 60
            else timedelta(minutes=minutes)
        )
        key = "time.due_in" if seconds >= 0 else "time.overdue_by"
        return self(key, left=shown)

    def join(self, items: Iterable[Any], style: str = "standard") -> str:
        """Items as the language lists them ("a, b och c"; with ``style`` "or": "a, b eller c")."""
        texts = [str(i) for i in items]
        if not texts:
            return "—"
        return format_list(texts, style=style, locale=BABEL_LOCALE[self.language])  # type: ignore[arg-type]


class _Formatter(string.Formatter):
    """Format fields by the voice's rules (see the module's docstring)."""

    def __init__(self, voice: Voice) -> None:
        self.voice = voice

    def format_field(self, value: Any, format_spec: str) -> str:
        voice = self.voice
        spec, _, style = format_spec.partition("/")
        if spec.startswith("@"):
            if isinstance(value, list | tuple):
                return voice.join((voice.value(spec[1:], v) for v in value), style or "standard")
            return voice.value(spec[1:], value)
        match format_spec:
            case "when":
                return voice.when(None if value is None else instant_of(value))
            case "human":
                return voice.human(None if value is None else instant_of(value))
            case "day":
                return voice.day(value if isinstance(value, date) else date.fromisoformat(value))
            case "clock":
                return voice.clock(str(value))
            case "number":
                return voice.number(value)
            case "span":
                return voice.span(value)
            case "list" | "list/or":
                return voice.join((_data(v) for v in value), style or "standard")
            case "":
                return _data(value)
        return _data(format(value, format_spec))


def _data(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Enum):
        value = value.value
    text = str(value)
    if (isinstance(value, int | float) and not isinstance(value, bool)) or MESSAGE[0] in text:
        return text  # a number, or a message already rendered (and marked)
    return _mark(_visible(text), DATA)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _visible(text: str) -> str:
    """What a person typed, with control and bidirectional-override characters shown as
    ``\\uXXXX``: a message is one line, never moves a terminal's cursor, and reads in the
    order it was typed."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# ------------------------------------------------------------------ for tests

_SEGMENT = re.compile(f"{DATA[0]}(.*?){DATA[1]}", re.S)
_WORDLESS = re.compile(r"^[\W\d_]*$")


def foreign(rendered: str, known: Sequence[str] = ()) -> list[str]:
    """What in text rendered while ``marking()`` is not from the catalogue: text outside
    every message that has a letter in it, and data that is none of ``known`` (what the
    test itself typed, a reference …). Numbers, times and punctuation pass."""
    found = [
        value
        for value in _SEGMENT.findall(rendered)
        if not _WORDLESS.match(value) and value.strip() not in known
    ]
    outside: list[str] = []
    depth = 0
    for ch in _SEGMENT.sub("", rendered):
        if ch in MESSAGE:
            depth = depth + 1 if ch == MESSAGE[0] else max(depth - 1, 0)
            outside.append("\n")
        elif depth == 0:
            outside.append(ch)
    found += [
        piece.strip()
        for piece in "".join(outside).split("\n")
        if not _WORDLESS.match(piece) and piece.strip() not in known
    ]
    return found
