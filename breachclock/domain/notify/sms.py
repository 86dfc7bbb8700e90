"""The SMS channel's text: what fits in a text message, in which alphabet, and its words.

An SMS is sent in the GSM 7-bit default alphabet when every character is in it (3GPP
TS 23.038 §6.2.1: å/ä/ö, æ/ø, é and ü are; the extension table's ``^{}\\[~]|€`` take
two septets each), and in UCS-2 otherwise (an emoji, many names). One message holds
140 octets: 160 GSM septets or 70 UCS-2 units; a concatenated message spends six octets
of each part on its header (3GPP TS 23.040 §9.2.3.24.1), leaving 153 septets or 67
units a part. A notice's SMS is at most ``MAX_PARTS`` parts: longer is refused when the
notice is approved (``check``), not truncated when sent.

The words come from the catalogue (``sms.body``): who writes (the operator's name),
what happened and what to do (the operator's ``summary``, short, per language), how to
reach the operator through a channel the person already knows (its customer-service
number or address), and the reference. No link, unless the operator turns one on:
scammers send exactly such messages, and operators warn their customers about them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from breachclock.domain.catalogue import Voice
from breachclock.domain.inputs import InputModel
from breachclock.domain.notify.notice import IncidentNotice, Operator
from breachclock.domain.notify.subscribers import Language
from breachclock.domain.problems import Problem, problem

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1), less the escape code."""
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
"""The default alphabet's extension table: each is the escape code and one septet."""

MAX_PARTS = 2
SINGLE = {"gsm": 160, "ucs2": 70}
PART = {"gsm": 153, "ucs2": 67}
LINK = re.compile(r"(?i)\b(?:https?://|www\.)|\b[a-z0-9-]+\.(?:se|dk|com|net|org|eu|nu|io)/")


class Coding(StrEnum):
    GSM = "gsm"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class Size:
    """How a text travels: its alphabet, its length in that alphabet's units, its parts."""

    coding: Coding
    units: int
    parts: int


def _units(char: str, coding: Coding) -> int:
    if coding is Coding.GSM:
        return 2 if char in GSM_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1  # outside the BMP: a UTF-16 surrogate pair


def coding_of(text: str) -> Coding:
    return Coding.GSM if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text) else Coding.UCS2


@functools.lru_cache(maxsize=256)
def size(text: str) -> Size:
    """The text's alphabet, units and parts; a character's units never straddle two parts.

    Remembered: a campaign sends one text per language to every person, and counting it
    again for each was a twentieth of the SMS path's CPU."""
    coding = coding_of(text)
    units = [_units(c, coding) for c in text]
    total = sum(units)
    if total <= SINGLE[coding]:
        return Size(coding, total, 1 if text else 0)
    parts, used = 1, 0
    for u in units:
        if used + u > PART[coding]:
            parts, used = parts + 1, 0
        used += u
    return Size(coding, total, parts)


Summary = Annotated[str, Field(min_length=1, max_length=400)]
Sender = Annotated[str, Field(min_length=1, max_length=11, pattern=r"^[A-Za-z0-9 ]+$")]


class SmsNotice(InputModel):
    """What the operator writes for the SMS, beside the notice itself."""

    sender: Sender
    """Who the SMS is from, as the phone shows it: the operator's name, at most 11
    letters and digits (an alphanumeric sender id)."""
    summary: dict[Language, Summary] = Field(min_length=1)
    """What happened and what to do, in a sentence or two per language."""
    link: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    """Set only when the operator turns a link on: the page the SMS points to."""


def render(sms: SmsNotice, incident: IncidentNotice, operator: Operator, language: Language) -> str:
    """The SMS in ``language`` (the summary must exist in it: ``check`` says so first)."""
    voice = Voice(Language(language).value)
    contact = (
        voice("sms.contact.phone", phone=operator.phone)
        if operator.phone
        else voice("sms.contact.email", email=operator.email)
        if operator.email
        else voice("sms.contact.web", web=operator.web)
    )
    text = voice(
        "sms.body",
        operator=operator.name,
        summary=sms.summary[language],
        contact=contact,
        reference=incident.reference,
    )
    return f"{text} {voice('sms.link', link=sms.link)}" if sms.link else text


def check(
    sms: SmsNotice, incident: IncidentNotice, operator: Operator, languages: Iterable[Language]
) -> list[Problem]:
    """Why this SMS cannot go to people in these languages: a summary missing, a link
    the operator did not turn on, or a text longer than ``MAX_PARTS`` parts."""
    found: list[Problem] = []
    for language in sorted(set(languages)):
        if language not in sms.summary:
            found.append(
                problem("sms.summary_missing", f"sms.summary.{language}", language=language)
            )
            continue
        if LINK.search(sms.summary[language]):
            found.append(
                problem("sms.link_not_allowed", f"sms.summary.{language}", language=language)
            )
        measured = size(render(sms, incident, operator, language))
        if measured.parts > MAX_PARTS:
            found.append(
                problem(
                    "sms.too_long",
                    f"sms.summary.{language}",
                    language=language,
                    parts=measured.parts,
                    most=MAX_PARTS,
                    units=measured.units,
                    limit=PART[measured.coding] * MAX_PARTS,
                    coding=measured.coding,
                )
            )
    return found
