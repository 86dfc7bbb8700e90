"""The affected subscribers and users, from a CRM export (CSV or JSONL).

Each row names one person, how to reach them (phone and/or e-mail), their language
and time zone, whether they are the subscriber or a user of someone's subscription,
and which of *their* data items the incident affected.

Rows are checked one by one. A rejected row is reported by line number with a plain
reason that never contains the phone number or e-mail address: those reasons go to
logs and to the person fixing the export. Phone numbers are normalised to E.164,
e-mail addresses checked for syntax only (no network).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from breachclock.files import MAX_LIST_BYTES, InputFileError, loads, text_lines
from breachclock.incident.instants import InstantError, zone

DEFAULT_ZONE = "Europe/Stockholm"
DEFAULT_REGION = "SE"
PAGE_SIZE = 100
"""Subscribers per page: a page, not the whole list, is what travels in one payload."""

COLUMNS = (
    "id",
    "name",
    "phone",
    "email",
    "language",
    "time_zone",
    "role",
    "subscriber_id",
    "affected_items",
)
OPTIONAL_BLANK = ("name", "phone", "email", "language", "time_zone", "role", "subscriber_id")


class Language(StrEnum):
    SV = "sv"
    EN = "en"
    DA = "da"


class Role(StrEnum):
    SUBSCRIBER = "subscriber"
    USER = "user"


Item = Annotated[str, Field(min_length=1, max_length=200)]


AS_STORED: dict[str, Any] = {"stored": True}
"""Validation context for a person read back from the notification store: their
phone number and e-mail address were parsed and normalised when the list was
loaded, and parsing them again on every campaign round cost a sixth of the
worker's CPU (bench.notify)."""


def _stored(info: ValidationInfo) -> bool:
    return bool((info.context or {}).get("stored"))


class Subscriber(BaseModel):
    """One affected person. Its repr and str show no contact details or name."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str | None, Field(max_length=200, repr=False)] = None
    phone: Annotated[str | None, Field(repr=False)] = None
    """E.164, e.g. +46701234567."""
    email: Annotated[str | None, Field(repr=False)] = None
    language: Language | None = None
    """None: the regime's default language is used (Danish for DK, otherwise Swedish)."""
    time_zone: str = DEFAULT_ZONE
    role: Role = Role.SUBSCRIBER
    subscriber_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    """For a user: the subscriber whose subscription they use."""
    affected_items: Annotated[list[Item], Field(min_length=1, max_length=100)]
    """Which of this person's data items the incident affected, e.g. "secret number"."""

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or _stored(info):
            return value
        region = (info.context or {}).get("region", DEFAULT_REGION)
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            raise ValueError("phone number cannot be read as a phone number") from None
        if not phonenumbers.is_valid_number(number):
            raise ValueError(
                "phone number is not a valid number (numbers outside "
                f"{region} need their country code, e.g. +45)"
            )
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or _stored(info):
            return value
        try:
            return str(validate_email(value, check_deliverability=False).normalized)
        except EmailNotValidError:
            # The library's message can quote parts of the address: keep it out.
            raise ValueError("e-mail address is not valid") from None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zone(value)
        except InstantError:
            raise ValueError(
                "unknown time zone (use an IANA name such as Europe/Stockholm)"
            ) from None
        return value

    @field_validator("affected_items")
    @classmethod
    def _items(cls, value: list[str]) -> list[str]:
        items = [v.strip() for v in value if v.strip()]
        if not items:
            raise ValueError("no affected items given")
        return items

    @model_validator(mode="after")
    def _consistent(self) -> Subscriber:
        if self.phone is None and self.email is None:
            raise ValueError("neither a phone number nor an e-mail address given")
        if self.role is Role.USER and self.subscriber_id is None:
            raise ValueError("a user needs subscriber_id: the subscriber they belong to")
        if self.role is Role.SUBSCRIBER and self.subscriber_id not in (None, self.id):
            raise ValueError("a subscriber cannot belong to another subscriber (subscriber_id)")
        return self

    def __str__(self) -> str:
        return f"{self.role.value} {self.id}"


class Rejected(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int
    """The line in the file where the row starts (1 is a CSV file's header)."""
    reason: str


class LoadResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    subscribers: list[Subscriber]
    rejected: list[Rejected]


class SubscriberFileError(ValueError):
    """The file, or rows in it, cannot be used; the message lists every bad line."""

    def __init__(self, message: str, rejected: Sequence[Rejected] = ()) -> None:
        super().__init__(message)
        self.rejected = list(rejected)


def load(path: Path | str, skip_invalid: bool = False, region: str = DEFAULT_REGION) -> LoadResult:
    """Read a CSV (``.csv``) or JSONL (``.jsonl``, ``.ndjson``) export of affected people.

    With ``skip_invalid`` False any bad row raises ``SubscriberFileError`` listing every
    bad line; with True the bad rows come back in ``rejected`` and the rest load.
    ``region`` is where numbers without a country code belong (SE; DK for Danish lists).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    else:
        raise SubscriberFileError(f"{path.name}: expected a .csv or .jsonl file")

    subscribers: list[Subscriber] = []
    rejected: list[Rejected] = []
    first_line: dict[str, int] = {}
    try:
        for line, row in rows:
            if isinstance(row, str):
                rejected.append(Rejected(line=line, reason=row))
                continue
            row_id = row.get("id")
            if isinstance(row_id, str) and row_id.strip():
                row_id = row["id"] = row_id.strip()
                if row_id in first_line:
                    rejected.append(
                        Rejected(
                            line=line, reason=f"duplicate id (first on line {first_line[row_id]})"
                        )
                    )
                    continue
                first_line[row_id] = line
            try:
                subscribers.append(Subscriber.model_validate(row, context={"region": region}))
            except ValidationError as err:
                rejected.append(Rejected(line=line, reason=_reason(err)))
    except InputFileError as err:
        raise SubscriberFileError(str(err)) from None

    if rejected and not skip_invalid:
        lines = "\n".join(f"  line {r.line}: {r.reason}" for r in rejected)
        raise SubscriberFileError(
            f"{path.name}: {len(rejected)} bad row(s), nothing loaded:\n{lines}", rejected
        )
    return LoadResult(subscribers=subscribers, rejected=rejected)


def merge(existing_ids: set[str], result: LoadResult) -> list[Subscriber]:
    """The loaded subscribers not already known by id: loading a file again adds nobody twice.

    ``existing_ids`` is not changed; add the returned ids to it when they are taken on.
    """
    return [s for s in result.subscribers if s.id not in existing_ids]


T = TypeVar("T")


def pages(items: Sequence[T], size: int = PAGE_SIZE) -> list[list[T]]:
    """The list split into pages of at most ``size``, in order."""
    if size < 1:
        raise ValueError("page size must be at least 1")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _reason(err: ValidationError) -> str:
    """A rejected row's reason from pydantic's errors: field and message, never the input."""
    parts = []
    for e in err.errors(include_input=False, include_url=False, include_context=False):
        field = ".".join(str(p) for p in e["loc"] if not isinstance(p, int))
        message = str(e["msg"]).removeprefix("Value error, ")
        parts.append(f"{field}: {message}" if field else message)
    return "; ".join(parts)


Row = tuple[int, dict[str, Any] | str]
"""A row's first line and either its fields or why it could not be read at all."""


def _csv_rows(path: Path) -> Iterator[Row]:
    reader = csv.reader(text_lines(path, MAX_LIST_BYTES))

    def read() -> list[str] | None:
        try:
            return next(reader, None)
        except csv.Error as err:  # a NUL byte, a field longer than csv.field_size_limit()
            raise SubscriberFileError(
                f"{path.name}: line {reader.line_num} cannot be read as CSV: {err}"
            ) from None

    header = [h.strip() for h in (read() or [])]
    if not header:
        raise SubscriberFileError(f"{path.name}: empty file (no header line)")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise SubscriberFileError(
            f"{path.name}: unknown column(s) {', '.join(unknown)}; "
            f"the columns are {', '.join(COLUMNS)}"
        )
    for needed in ("id", "affected_items"):
        if needed not in header:
            raise SubscriberFileError(f"{path.name}: no {needed!r} column")
    end_of_previous = reader.line_num
    while (record := read()) is not None:
        line = end_of_previous + 1
        end_of_previous = reader.line_num
        if not record:
            continue  # a blank line, as DictReader skips it
        if len(record) > len(header):
            yield line, "more fields than the header has"
            continue
        row: dict[str, Any] = {}
        for key, value in zip(header, record + [""] * (len(header) - len(record)), strict=True):
            text = value.strip()
            if key == "affected_items":
                row[key] = [item for item in text.split(";") if item.strip()]
            elif text or key not in OPTIONAL_BLANK:
                row[key] = text
        yield line, row


def _jsonl_rows(path: Path) -> Iterator[Row]:
    for number, text in enumerate(text_lines(path, MAX_LIST_BYTES), start=1):
        if not text.strip():
            continue
        try:
            value = loads(text, f"{path.name} line {number}")
        except InputFileError as err:
            yield number, err.reason
            continue
        if not isinstance(value, dict):
            yield number, "not a JSON object"
            continue
        yield (
            number,
            {k: v for k, v in value.items() if not (k in OPTIONAL_BLANK and v in (None, ""))},
        )
