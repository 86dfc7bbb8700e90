"""The affected subscribers and users, from a CRM export (CSV or JSONL).

Each row names one person, how to reach them (phone and/or e-mail), their language
and time zone, whether they are the subscriber or a user of someone's subscription,
and which of *their* data items the incident affected.

Rows are checked one by one. A rejected row is reported by line number with coded
problems (``Problem``, worded by each surface in its reader's language) that never
carry the phone number or e-mail address: they go to logs and to the person fixing
the export. A person may be known by a number alone (no name, no e-mail): Tre's
callers (seed 004) are. Phone numbers are normalised to E.164,
e-mail addresses checked for syntax only (no network). Internationalised addresses
are accepted: one on an internationalised domain is kept in its ASCII form
(``anna@xn--exmple-cua.se``), one whose local part is not ASCII (``jörg@exämple.se``)
is kept as it is and ``Subscriber.email_needs_smtputf8`` says that only a relay
offering SMTPUTF8 can take it.

A CSV file's columns are separated by commas, semicolons (Excel in Swedish or Danish)
or tabs, found from the header line (or forced); within ``affected_items`` the items
are separated by ``;`` or ``|`` (``|`` needs no quoting when ``;`` separates columns).
A user row names its subscriber, who must be in the same file.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from pathlib import PurePath
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

from breachclock.domain.catalogue import Voice
from breachclock.domain.instants import InstantError, zone
from breachclock.domain.problems import Problem, Said, invalid, problem, problems_of
from breachclock.domain.text import InputFileError, loads

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
    "postal_address",
)
OPTIONAL_BLANK = tuple(c for c in COLUMNS if c not in ("id", "affected_items"))
DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs"}
"""The column delimiters a CSV file may use, and how to say which one was."""
ITEM_SEPARATORS = re.compile(r"[;|]")


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
    postal_address: Annotated[str | None, Field(min_length=1, max_length=500, repr=False)] = None
    """Where a letter reaches them, lines separated by newlines (for the letter list)."""

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or _stored(info):
            return value
        region = (info.context or {}).get("region", DEFAULT_REGION)
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            raise invalid("subscriber.phone_unreadable") from None
        if not phonenumbers.is_valid_number(number):
            raise invalid("subscriber.phone_invalid", region=region)
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or _stored(info):
            return value
        try:
            checked = validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            # The library's message can quote parts of the address: keep it out.
            raise invalid("subscriber.email_invalid") from None
        # The ASCII form where there is one: a domain in punycode needs nothing of the relay.
        return str(checked.ascii_email or checked.normalized)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zone(value)
        except InstantError:
            raise invalid("subscriber.zone_unknown") from None
        return value

    @field_validator("affected_items")
    @classmethod
    def _items(cls, value: list[str]) -> list[str]:
        items = [v.strip() for v in value if v.strip()]
        if not items:
            raise invalid("subscriber.no_items")
        return items

    @model_validator(mode="after")
    def _consistent(self) -> Subscriber:
        if self.phone is None and self.email is None:
            raise invalid("subscriber.no_contact")
        if self.role is Role.USER and self.subscriber_id is None:
            raise invalid("subscriber.user_without_subscriber", "subscriber_id")
        if self.role is Role.SUBSCRIBER and self.subscriber_id not in (None, self.id):
            raise invalid("subscriber.subscriber_of_subscriber", "subscriber_id")
        return self

    @property
    def email_needs_smtputf8(self) -> bool:
        """True when the address's local part is not ASCII (``jörg@exämple.se``): it can
        only be sent through a relay that offers SMTPUTF8 (RFC 6531), with the address
        in UTF-8 in MAIL FROM/RCPT TO and in the To header."""
        return self.email is not None and not self.email.isascii()

    @property
    def postal_address_line(self) -> str | None:
        """The postal address on one line, its lines separated by commas."""
        if self.postal_address is None:
            return None
        return ", ".join(p.strip() for p in self.postal_address.splitlines() if p.strip())

    def __str__(self) -> str:
        return f"{self.role.value} {self.id}"


class LoadOutcome(BaseModel):
    """What taking on one page of the list did; the same answer however often it is asked."""

    added: int
    repeated: int
    changed: list[str] = []
    """Ids already on the list whose rows now hold different details (kept as they were)."""
    people: int
    """On the list after this page."""


class Rejected(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int
    """The line in the file where the row starts (1 is a CSV file's header)."""
    problems: list[Problem] = []
    """Why, coded; their fields name the row's column (``phone``)."""
    reason: str | None = None
    """Why, in English: only on rows skipped before refusals were coded (stored histories)."""

    def words(self, voice: Voice) -> str:
        """The problems in ``voice``, each after the column it concerns (a column's name
        is the file's, in no language)."""
        said = [
            f"{p.field}: {p.words(voice)}" if p.field else p.words(voice) for p in self.problems
        ]
        return "; ".join(said) or self.reason or ""


def _row(line: int, code: str, field: str | None = None, **params: Any) -> Rejected:
    return Rejected(line=line, problems=[problem(code, field, **params)])


class ListRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    subscribers: list[Subscriber]
    rejected: list[Rejected]
    delimiter: str | None = None
    """The CSV file's column delimiter (one of ``DELIMITERS``); None for JSON Lines."""


class SubscriberFileError(ValueError):
    """The file, or rows in it, cannot be used: ``problems`` says why, coded (a bad
    row is one ``subscriber_file.row`` problem, its line's problems behind it); the
    message is the same in English, for logs."""

    def __init__(self, problems: Sequence[Problem], rejected: Sequence[Rejected] = ()) -> None:
        self.problems = list(problems)
        self.rejected = list(rejected)
        super().__init__("; ".join(p.words(Voice("en")) for p in self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by its problems (a list is parsed in a worker process of its own)."""
        return (type(self), (self.problems, self.rejected))


def _file_problem(
    name: str, code: str, field: str | None = None, **params: Any
) -> SubscriberFileError:
    return SubscriberFileError([problem(code, field, file=name, **params)])


def parse(
    name: str,
    text: Iterator[str],
    skip_invalid: bool = False,
    region: str = DEFAULT_REGION,
    delimiter: str | None = None,
) -> ListRead:
    """Read a CSV (``.csv``) or JSONL (``.jsonl``, ``.ndjson``) export of affected people,
    given its file name and its lines of ``text`` (``runtime.files.text_lines`` reads them safely;
    an ``InputFileError`` it raises while reading is one of the file's refusals).

    With ``skip_invalid`` False any bad row raises ``SubscriberFileError`` listing every
    bad line; with True the bad rows come back in ``rejected`` and the rest load.
    ``region`` is where numbers without a country code belong (SE; DK for Danish lists).
    ``delimiter`` forces a CSV file's column delimiter (one of ``DELIMITERS``); by
    default it is found from the header line.
    """
    path = PurePath(name)
    suffix = path.suffix.lower()
    if delimiter is not None and delimiter not in DELIMITERS:
        raise _file_problem(path.name, "subscriber_file.delimiter_unknown", "delimiter")
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise _file_problem(path.name, "subscriber_file.kind_unknown")
    if delimiter is not None and suffix != ".csv":
        raise _file_problem(path.name, "subscriber_file.delimiter_not_csv", "delimiter")

    subscribers: list[Subscriber] = []
    lines: list[int] = []
    rejected: list[Rejected] = []
    first_line: dict[str, int] = {}
    try:
        if suffix == ".csv":
            delimiter, rows = _csv_rows(path, text, delimiter)
        else:
            rows = _jsonl_rows(path, text)
        for line, row in rows:
            if isinstance(row, Rejected):
                rejected.append(row)
                continue
            row_id = row.get("id")
            if isinstance(row_id, str) and row_id.strip():
                row_id = row["id"] = row_id.strip()
                if row_id in first_line:
                    rejected.append(
                        _row(line, "subscriber_file.duplicate_id", "id", first=first_line[row_id])
                    )
                    continue
                first_line[row_id] = line
            try:
                subscribers.append(Subscriber.model_validate(row, context={"region": region}))
                lines.append(line)
            except ValidationError as err:
                rejected.append(Rejected(line=line, problems=problems_of(err)))
    except InputFileError as err:
        # Reading the file (runtime.files) says why in one line of its own.
        raise _file_problem(path.name, "subscriber_file.unreadable", detail=str(err)) from None
    subscribers = _users_with_their_subscriber(subscribers, lines, set(first_line), rejected)

    if rejected and not skip_invalid:
        raise SubscriberFileError(
            [
                problem("subscriber_file.bad_rows", file=path.name, count=len(rejected)),
                *(found for r in rejected for found in _row_problems(r)),
            ],
            rejected,
        )
    return ListRead(subscribers=subscribers, rejected=rejected, delimiter=delimiter)


def _row_problems(row: Rejected) -> list[Problem]:
    """A bad row's problems as problems of the whole file: each after its line and
    column (``line.3.phone``), the row's own problem behind it."""
    found = []
    for own in row.problems:
        because: list[Said] = [own]
        if own.field:
            found.append(
                problem(
                    "subscriber_file.row_column",
                    f"line.{row.line}.{own.field}",
                    line=row.line,
                    column=own.field,
                    because=because,
                )
            )
        else:
            found.append(
                problem("subscriber_file.row", f"line.{row.line}", line=row.line, because=because)
            )
    return found


def _users_with_their_subscriber(
    people: list[Subscriber], lines: list[int], ids: set[str], rejected: list[Rejected]
) -> list[Subscriber]:
    """The people, less users whose subscriber no row of the file names (added to
    ``rejected``, which stays in line order). The ids are not quoted: a shifted
    column can put a phone number in ``subscriber_id``."""
    roles = {p.id: p.role for p in people}
    kept = []
    for person, line in zip(people, lines, strict=True):
        named = person.subscriber_id
        if person.role is Role.USER and named is not None and named != person.id:
            if named not in ids:
                code = "subscriber_file.subscriber_not_in_file"
            elif roles.get(named) is Role.USER:
                code = "subscriber_file.subscriber_is_a_user"
            else:
                kept.append(person)
                continue
            rejected.append(_row(line, code, "subscriber_id"))
        else:
            kept.append(person)
    rejected.sort(key=lambda r: r.line)
    return kept


T = TypeVar("T")


def pages(items: Sequence[T], size: int = PAGE_SIZE) -> list[list[T]]:
    """The list split into pages of at most ``size``, in order."""
    if size < 1:
        raise ValueError("page size must be at least 1")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


Row = tuple[int, dict[str, Any] | Rejected]
"""A row's first line and either its fields or why it could not be read at all."""


def _delimiter(header: str) -> str:
    """The delimiter that splits the header line into the most known column names."""
    known = {
        d: sum(name.strip() in COLUMNS for name in next(csv.reader([header], delimiter=d), []))
        for d in DELIMITERS
    }
    return max(DELIMITERS, key=lambda d: known[d])  # a tie: the first, the comma


def _csv_rows(
    path: PurePath, lines: Iterator[str], delimiter: str | None
) -> tuple[str, Iterator[Row]]:
    """The delimiter (``delimiter``, or found from the header line) and the rows after
    the header, which is checked at once."""
    first = next(lines, "")
    delimiter = delimiter or _delimiter(first)
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)

    def read() -> list[str] | None:
        try:
            return next(reader, None)
        except csv.Error:  # a NUL byte, a field longer than csv.field_size_limit()
            raise _file_problem(
                path.name, "subscriber_file.not_csv", line=reader.line_num
            ) from None

    header = [h.strip() for h in (read() or [])]
    if not header:
        raise _file_problem(path.name, "subscriber_file.empty")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise _file_problem(
            path.name, "subscriber_file.columns_unknown", unknown=unknown, columns=list(COLUMNS)
        )
    for needed in ("id", "affected_items"):
        if needed not in header:
            raise _file_problem(path.name, "subscriber_file.column_missing", column=needed)
    return delimiter, _csv_records(read, lambda: reader.line_num, header)


def _csv_records(
    read: Callable[[], list[str] | None], line_num: Callable[[], int], header: list[str]
) -> Iterator[Row]:
    end_of_previous = line_num()
    while (record := read()) is not None:
        line = end_of_previous + 1
        end_of_previous = line_num()
        if not record:
            continue  # a blank line, as DictReader skips it
        if len(record) > len(header):
            yield line, _row(line, "subscriber_file.too_many_fields")
            continue
        row: dict[str, Any] = {}
        for key, value in zip(header, record + [""] * (len(header) - len(record)), strict=True):
            text = value.strip()
            if key == "affected_items":
                row[key] = [item for item in ITEM_SEPARATORS.split(text) if item.strip()]
            elif text or key not in OPTIONAL_BLANK:
                row[key] = text
        yield line, row


def _jsonl_rows(path: PurePath, lines: Iterator[str]) -> Iterator[Row]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            value = loads(text, f"{path.name} line {number}")
        except InputFileError as err:
            yield number, _row(number, err.code or "json.invalid")
            continue
        if not isinstance(value, dict):
            yield number, _row(number, "subscriber_file.row_not_object")
            continue
        yield (
            number,
            {k: v for k, v in value.items() if not (k in OPTIONAL_BLANK and v in (None, ""))},
        )
