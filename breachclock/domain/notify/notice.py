"""The notice each affected subscriber or user receives (611/2013 art. 3, PTS's guidance).

About the incident alone, in plain words, in the person's language (Swedish, English or
Danish; with no language given, Danish under the DK regime and Swedish otherwise):

1. when the outsider had access, in the person's own time zone;
2. what happened, which of *their* data items it touched, and what it means for them;
3. what the operator has done and will do;
4. what they can do, or plainly that there is nothing they can do;
5. the operator's contact details and the incident's reference number.

The operator writes the incident-specific passages once per language (``Localised``);
a notice whose language lacks a passage is refused rather than sent half in another
language. ``check_languages`` says so before a campaign starts.

The affected items come from the CRM under its own names ("hemligt nummer",
"secret_number"); ``IncidentNotice.item_labels`` gives each its words in every
language, and ``missing_labels`` lists the items some person's language has no
label for, so that a notice is not sent in English listing "hemligt nummer".
Rendering itself stays tolerant: an item without a label is shown by its CRM name.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import jinja2
import markupsafe
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, model_validator

from breachclock.domain.inputs import REFERENCE_PATTERN, Day, InputModel, Name, Text, Truth
from breachclock.domain.instants import Instant, zone
from breachclock.domain.notify.subscribers import Language, Role, Subscriber
from breachclock.domain.problems import Problem, invalid, problem
from breachclock.domain.regimes import RegimeCode
from breachclock.domain.regimes import regime as regime_record
from breachclock.domain.templating import environment

Localised = Annotated[dict[Language, Text], Field(min_length=1)]
"""One passage in each language it is written in: {"sv": "…", "en": "…", "da": "…"}."""

Contact = Annotated[str, Field(min_length=1, max_length=300)]


class NoticeError(ValueError):
    """A notice that cannot be written as asked (a passage missing in the language)."""


class Operator(InputModel):
    """Who sends the notice and how the person reaches them."""

    name: Name
    phone: Contact | None = None
    email: Contact | None = None
    web: Contact | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Operator:
        if not (self.phone or self.email or self.web):
            raise invalid("operator.no_contact")
        return self


class NoticeMeasure(InputModel):
    what: Localised
    """The measure, why, and how it affects the person."""
    on: Day | None = None
    """Taken: the date done. Planned: the date due."""


class IncidentNotice(InputModel):
    """The incident as every notice tells it; the person's own items come from the subscriber."""

    reference: Annotated[str, Field(pattern=REFERENCE_PATTERN)]
    regime: RegimeCode = RegimeCode.PTS
    access_from: Instant
    """When the outsider got access (the time of the incident as the person sees it)."""
    access_until: Instant | None = None
    time_estimated: Truth = False
    what_happened: Localised
    consequences: Localised
    """What it means for the person."""
    measures_taken: Annotated[list[NoticeMeasure], Field(min_length=1)]
    measures_planned: list[NoticeMeasure] = Field(default_factory=list)
    recommendations: Localised | None = None
    """What the person can do; None: the notice says plainly there is nothing they can do."""
    item_labels: dict[str, Localised] = Field(default_factory=dict)
    """Words for the CRM's item names, per language (e.g. "hemligt nummer" for "secret_number")."""

    @model_validator(mode="after")
    def _period(self) -> IncidentNotice:
        if self.access_until is not None and self.access_until < self.access_from:
            raise invalid("notice.period_reversed", "access_until")
        return self

    def passages(self) -> dict[str, dict[Language, str]]:
        """Every passage that must exist in the notice's language, by a readable name."""
        found: dict[str, dict[Language, str]] = {
            "what_happened": self.what_happened,
            "consequences": self.consequences,
        }
        for kind, measures in (
            ("measures_taken", self.measures_taken),
            ("measures_planned", self.measures_planned),
        ):
            for number, measure in enumerate(measures, start=1):
                found[f"{kind}[{number}]"] = measure.what
        if self.recommendations is not None:
            found["recommendations"] = self.recommendations
        return found


class Notice(BaseModel):
    model_config = ConfigDict(frozen=True)

    subscriber_id: str
    language: Language
    subject: str
    text: str
    html: str
    sender_name: str | None = None
    """Who the e-mail is from, by name: the operator (``Operator.name``)."""
    reply_to: str | None = None
    """Where replies go: the operator's contact address (``Operator.email``), when it is one."""


def _one_line(text: str) -> str:
    """A header value on one line: configured text must not start a header of its own."""
    return " ".join(text.split())


def reply_address(operator: Operator) -> str | None:
    """The operator's contact e-mail as a bare address, or None when it is not one."""
    return None if operator.email is None else _bare_address(operator.email)


@lru_cache(maxsize=64)
def _bare_address(text: str) -> str | None:
    """Checked once per address, not once per notice (a campaign sends thousands)."""
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        return None
    return str(checked.ascii_email or checked.normalized)


def default_language(code: RegimeCode) -> Language:
    """The language of the regime's authority: its subscribers' too, unless told."""
    return Language(regime_record(code).language)


def language_for(subscriber: Subscriber, regime: RegimeCode) -> Language:
    return subscriber.language or default_language(regime)


def check_languages(notice: IncidentNotice, subscribers: Iterable[Subscriber]) -> list[Problem]:
    """The passages missing in a language some subscriber will be written to; empty when none."""
    return missing_passages(notice, [s.language for s in subscribers])


def missing_passages(notice: IncidentNotice, languages: Iterable[Language | None]) -> list[Problem]:
    """The passages missing in any of ``languages`` (None: the regime's default language)."""
    needed = sorted({language or default_language(notice.regime) for language in languages})
    problems = []
    for language in needed:
        missing = [name for name, texts in notice.passages().items() if language not in texts]
        if missing:
            names = sorted({name.partition("[")[0] for name in missing})
            problems.append(
                problem("notice.missing_passages", names[0], language=language, passages=names)
            )
    return problems


def missing_labels(
    notice: IncidentNotice, items: Iterable[str], languages: Iterable[Language | None]
) -> list[Problem]:
    """The affected items (CRM names, as in ``Subscriber.affected_items``) that have no
    label in one of ``languages`` (None: the regime's default language), one problem per
    language; empty when every item has a label in every language."""
    labels = _labels(notice)
    wanted: dict[str, str] = {}
    for item in items:
        wanted.setdefault(item.strip().casefold(), item.strip())
    needed = sorted({language or default_language(notice.regime) for language in languages})
    problems: list[Problem] = []
    for language in needed:
        missing = sorted(
            (shown for key, shown in wanted.items() if language not in labels.get(key, {})),
            key=str.casefold,
        )
        if missing:
            problems.append(
                problem(
                    "notice.missing_labels",
                    "item_labels",
                    language=language,
                    items=missing[:LISTED],
                    more=max(len(missing) - LISTED, 0),
                )
            )
    return problems


LISTED = 20
"""Items named in one of ``missing_labels``' messages; the rest are counted."""


def _labels(notice: IncidentNotice) -> dict[str, dict[Language, str]]:
    """``item_labels`` by the item's name casefolded, as the CRM's spelling varies."""
    return {k.strip().casefold(): v for k, v in notice.item_labels.items()}


NAMES = {Language.SV: "Swedish", Language.EN: "English", Language.DA: "Danish"}

SUBJECTS = {
    Language.SV: "{operator}: information om en integritetsincident som rör dina uppgifter (ärende {reference})",
    Language.EN: "{operator}: information about a privacy incident affecting your data (ref. {reference})",
    Language.DA: "{operator}: information om et brud på persondatasikkerheden, der berører dine oplysninger (sag {reference})",
}

MONTHS = {
    Language.SV: (
        "januari februari mars april maj juni juli augusti september oktober november december"
    ).split(),
    Language.EN: (
        "January February March April May June July August September October November December"
    ).split(),
    Language.DA: (
        "januar februar marts april maj juni juli august september oktober november december"
    ).split(),
}


def format_date(day: date, language: Language) -> str:
    month = MONTHS[language][day.month - 1]
    if language is Language.DA:
        return f"{day.day}. {month} {day.year}"
    return f"{day.day} {month} {day.year}"


def format_time(instant: datetime, tz: ZoneInfo, language: Language) -> str:
    """An instant as the person reads it on their own clock, with the zone's abbreviation."""
    local = instant.astimezone(tz)
    label = local.strftime("%Z")
    if not label or label[0] in "+-":
        offset = local.strftime("%z")
        label = f"UTC{offset[:3]}:{offset[3:]}"
    return f"{_clock(local, language, WRITTEN)} ({label})"


WRITTEN = {
    Language.SV: "{day} kl. {h}:{m}",
    Language.EN: "{day} at {h}:{m}",
    Language.DA: "{day} kl. {h}.{m}",
}
SPOKEN = {
    Language.SV: "den {day} klockan {h}.{m}",
    Language.EN: "{day} at {h}:{m}",
    Language.DA: "den {day} klokken {h}.{m}",
}


def _clock(local: datetime, language: Language, forms: dict[Language, str]) -> str:
    day = format_date(local.date(), language)
    return forms[language].format(day=day, h=f"{local:%H}", m=f"{local:%M}")


def render_notice(incident: IncidentNotice, subscriber: Subscriber, operator: Operator) -> Notice:
    """The notice for one person, as plain text and HTML, in their language."""
    shape = _shape(incident, subscriber, operator, "notice")
    return Notice(
        subscriber_id=subscriber.id,
        language=shape.language,
        subject=shape.subject,
        text=shape.for_name(subscriber.name, 0),
        html=shape.for_name(subscriber.name, 1, escape=True),
        sender_name=_one_line(operator.name),
        reply_to=reply_address(operator),
    )


NAME_MARK = "\x00name\x00"
"""Stands for the person's name in a rendered shape (a name holds no NUL: see ``_shape``)."""


@dataclass(frozen=True)
class _Shape:
    """A notice rendered for everyone who reads it alike (same language, zone, role and
    items), the name left as ``NAME_MARK``: a campaign renders each shape once, not once
    per person; rendering was the largest part of an e-mail's and a call's CPU."""

    language: Language
    subject: str
    texts: tuple[str, ...]

    def for_name(self, name: str | None, index: int, escape: bool = False) -> str:
        text = self.texts[index]
        if name is None:
            return text
        return text.replace(NAME_MARK, str(markupsafe.escape(name)) if escape else name)


_SHAPES: OrderedDict[tuple[Any, ...], tuple[IncidentNotice, Operator, _Shape]] = OrderedDict()
_SHAPES_LOCK = threading.Lock()  # workflows (the filing's notice copy) render on threads
SHAPES_KEPT = 256


def _shape(
    incident: IncidentNotice, subscriber: Subscriber, operator: Operator, kind: str
) -> _Shape:
    named = subscriber.name is not None
    key = (
        kind,
        id(incident),
        id(operator),
        subscriber.language,
        subscriber.time_zone,
        subscriber.role,
        tuple(subscriber.affected_items),
        named,
    )
    with _SHAPES_LOCK:
        found = _SHAPES.get(key)
        # The cache holds the notice and operator it rendered: their ids cannot be reused.
        if found is not None and found[0] is incident and found[1] is operator:
            _SHAPES.move_to_end(key)
            return found[2]
    if named and "\x00" in (subscriber.name or ""):
        return _render(kind, incident, subscriber, operator)  # never cached: not a shape
    stand_in = subscriber.model_copy(update={"name": NAME_MARK if named else None})
    shape = _render(kind, incident, stand_in, operator)
    with _SHAPES_LOCK:
        _SHAPES[key] = (incident, operator, shape)
        if len(_SHAPES) > SHAPES_KEPT:
            _SHAPES.popitem(last=False)
    return shape


def _render(
    kind: str, incident: IncidentNotice, subscriber: Subscriber, operator: Operator
) -> _Shape:
    if kind == "script":
        language, script = _script(incident, subscriber, operator)
        return _Shape(language, "", (script,))
    language, subject, context = _prepare(incident, subscriber, operator)
    html = _html_env().get_template(f"notice.{language.value}.html.j2").render(context)
    return _Shape(language, subject, (_text(language, context), html))


def spoken_notice(
    incident: IncidentNotice, subscriber: Subscriber, operator: Operator
) -> tuple[Language, str]:
    """What a call says once the person is identified, in their language (``_script``)."""
    shape = _shape(incident, subscriber, operator, "script")
    return shape.language, shape.for_name(subscriber.name, 0)


def _script(
    incident: IncidentNotice, subscriber: Subscriber, operator: Operator
) -> tuple[Language, str]:
    """What a call says once the person is identified, in their language: a script
    for speaking (``script.<language>.txt.j2``), in the order a listener needs it:
    what happened and when, which of their data, what it means, what was done and
    will be, what they can do, how to reach the operator, the reference number read
    out character by character. No headings, no "E-post:" lines, no signature.
    A call has no use for the HTML, which was a fifth of a call round's CPU."""
    language, _, context = _prepare(incident, subscriber, operator)
    tz = zone(subscriber.time_zone)
    context.update(
        when_from=spoken_time(incident.access_from, tz, language),
        when_until=spoken_time(incident.access_until, tz, language)
        if incident.access_until
        else None,
        items_spoken=spoken_list(context["items"], language, AND),
        contacts=spoken_list(_ways_to_reach(operator, language), language, OR),
        reference_spelled=spelled(incident.reference),
    )
    script = _text_env().get_template(f"script.{language.value}.txt.j2").render(context)
    return language, re.sub(r"\n{3,}", "\n\n", script)  # one blank line between parts


AND = {Language.SV: "och", Language.EN: "and", Language.DA: "og"}
OR = {Language.SV: "eller", Language.EN: "or", Language.DA: "eller"}
_REACH = {
    Language.SV: ("ringa oss på {}", "mejla oss på {}", "läsa mer på {}"),
    Language.EN: ("call us on {}", "e-mail us at {}", "read more at {}"),
    Language.DA: ("ringe til os på {}", "skrive til os på {}", "læse mere på {}"),
}


def _ways_to_reach(operator: Operator, language: Language) -> list[str]:
    phrases = _REACH[language]
    given = (operator.phone, operator.email, operator.web)
    return [phrase.format(value) for phrase, value in zip(phrases, given, strict=True) if value]


def spoken_list(parts: list[str], language: Language, words: dict[Language, str]) -> str:
    """ "a, b och c": a list as it is said."""
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {words[language]} {parts[-1]}"


def spoken_time(instant: datetime, tz: ZoneInfo, language: Language) -> str:
    """An instant as it is said, on the person's own clock: "den 1 juni 2025 klockan 12.00"."""
    return _clock(instant.astimezone(tz), language, SPOKEN)


def spelled(reference: str) -> str:
    """A reference read out character by character, its parts apart: INC-2025-042 is
    "I N C, 2 0 2 5, 0 4 2"."""
    groups = re.split(r"[^0-9A-Za-z]+", reference)
    return ", ".join(" ".join(group) for group in groups if group)


def _text(language: Language, context: dict[str, Any]) -> str:
    return _text_env().get_template(f"notice.{language.value}.txt.j2").render(context)


def _prepare(
    incident: IncidentNotice, subscriber: Subscriber, operator: Operator
) -> tuple[Language, str, dict[str, Any]]:
    """The person's language, the subject and the templates' context."""
    language = language_for(subscriber, incident.regime)
    missing = [name for name, texts in incident.passages().items() if language not in texts]
    if missing:
        raise NoticeError(
            f"notice {incident.reference}: no {NAMES[language]} text for: {', '.join(missing)}"
        )
    tz = zone(subscriber.time_zone)

    def measures(items: list[NoticeMeasure]) -> list[dict[str, Any]]:
        return [
            {"what": m.what[language], "on": format_date(m.on, language) if m.on else None}
            for m in items
        ]

    labels = _labels(incident)
    context: dict[str, Any] = {
        "reference": incident.reference,
        "operator": operator,
        "name": subscriber.name,
        "is_user": subscriber.role is Role.USER,
        "access_from": format_time(incident.access_from, tz, language),
        "access_until": format_time(incident.access_until, tz, language)
        if incident.access_until
        else None,
        "estimated": incident.time_estimated,
        "what_happened": incident.what_happened[language],
        "items": [
            labels.get(item.strip().casefold(), {}).get(language, item)
            for item in subscriber.affected_items
        ],
        "consequences": incident.consequences[language],
        "measures_taken": measures(incident.measures_taken),
        "measures_planned": measures(incident.measures_planned),
        "recommendations": incident.recommendations[language] if incident.recommendations else None,
    }
    subject = SUBJECTS[language].format(
        operator=_one_line(operator.name), reference=incident.reference
    )
    context["subject"] = subject
    return language, subject, context


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _environment(autoescape: bool, kind: str) -> jinja2.Environment:
    return environment("breachclock.domain.notify", autoescape, {"paragraphs": _paragraphs}, kind)


@cache
def _text_env() -> jinja2.Environment:
    return _environment(autoescape=False, kind=".txt.j2")


@cache
def _html_env() -> jinja2.Environment:
    return _environment(autoescape=True, kind=".html.j2")


# Compiled at import, outside any workflow sandbox (see ``templating.environment``).
_text_env()
_html_env()
