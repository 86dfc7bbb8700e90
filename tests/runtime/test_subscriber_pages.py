"""The affected-subscriber list from a CRM export: CSV and JSONL, real files."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from breachclock.domain.catalogue import Voice
from breachclock.domain.notify.subscribers import (
    AS_STORED,
    Language,
    Rejected,
    Role,
    Subscriber,
    SubscriberFileError,
    pages,
)
from breachclock.runtime.codec import Sealer
from breachclock.runtime.store import people as people_schema
from breachclock.runtime.store.db import SqliteDb
from breachclock.runtime.store.people import NotifyStore
from breachclock.service.notification import page_key
from breachclock.service.notification import read_list as load

HEADER = "id,name,phone,email,language,time_zone,role,subscriber_id,affected_items\n"

BAD_PHONE = "+46 70 12"
BAD_EMAIL = "anna..bad@example.se"

GOOD_AND_BAD_CSV = (
    HEADER
    + "c1,Anna Andersson,070-123 45 67,anna@example.se,sv,,subscriber,,secret number;address\n"  # 2
    + f"c2,Bo,{BAD_PHONE},,sv,,subscriber,,secret number\n"  # 3: bad phone
    + f"c3,Cecilia,,{BAD_EMAIL},en,,subscriber,,address\n"  # 4: bad email
    + "c4,Dan,,,sv,,subscriber,,address\n"  # 5: neither
    + "c5,Eva,+45 32 12 34 56,,fi,,subscriber,,address\n"  # 6: unknown language
    + "c6,Frida,0701234568,,sv,Europe/Stockhlom,subscriber,,address\n"  # 7: unknown zone
    + "c1,Anna again,0701234569,,sv,,subscriber,,address\n"  # 8: duplicate id
    + 'u1,"Gustav, employee",+45 32 12 34 57,gustav@example.dk,da,Europe/Copenhagen,user,c1,"secret number; "\n'  # 9
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(tmp_path: Path, rows: list[dict[str, Any] | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    return write(tmp_path, "affected.jsonl", "\n".join(lines) + "\n")


def test_csv_good_rows_load_and_normalise(tmp_path: Path) -> None:
    result = load(write(tmp_path, "affected.csv", GOOD_AND_BAD_CSV), skip_invalid=True)
    assert [s.id for s in result.subscribers] == ["c1", "u1"]
    anna, gustav = result.subscribers
    assert anna.phone == "+46701234567"
    assert anna.email == "anna@example.se"
    assert anna.language is Language.SV
    assert anna.time_zone == "Europe/Stockholm"
    assert anna.affected_items == ["secret number", "address"]
    assert gustav.phone == "+4532123457"
    assert gustav.role is Role.USER
    assert gustav.subscriber_id == "c1"
    assert gustav.time_zone == "Europe/Copenhagen"
    assert gustav.affected_items == ["secret number"]


def codes(rejected: list[Rejected]) -> dict[int, list[tuple[str, str | None]]]:
    return {r.line: [(p.code, p.field) for p in r.problems] for r in rejected}


def test_csv_bad_rows_by_line_with_coded_problems(tmp_path: Path) -> None:
    result = load(write(tmp_path, "affected.csv", GOOD_AND_BAD_CSV), skip_invalid=True)
    assert codes(result.rejected) == {
        3: [("subscriber.phone_invalid", "phone")],
        4: [("subscriber.email_invalid", "email")],
        5: [("subscriber.no_contact", None)],
        6: [("input.enum", "language")],
        7: [("subscriber.zone_unknown", "time_zone")],
        8: [("subscriber_file.duplicate_id", "id")],
    }
    assert result.rejected[-1].problems[0].params == {"first": 2}
    words = {r.line: r.words(Voice("sv")) for r in result.rejected}
    assert words[4] == "email: e-postadressen är inte giltig"
    assert words[8] == "id: samma id som rad 2"


def test_csv_bad_rows_raise_listing_every_line_without_contact_details(tmp_path: Path) -> None:
    path = write(tmp_path, "affected.csv", GOOD_AND_BAD_CSV)
    with pytest.raises(SubscriberFileError) as caught:
        load(path, skip_invalid=False)
    message = str(caught.value)
    for line in (3, 4, 5, 6, 7, 8):
        assert f"line {line}" in message
    assert "line 2," not in message and "line 2:" not in message and "line 9" not in message
    for secret in (BAD_PHONE, BAD_EMAIL, "anna..bad", "46 70 12", "0701234568", "0701234569"):
        assert secret not in message
    assert len(caught.value.rejected) == 6


def test_line_numbers_count_multi_line_fields(tmp_path: Path) -> None:
    text = (
        HEADER
        + 'c1,"Anna\nAndersson",0701234567,,sv,,subscriber,,address\n'  # lines 2-3
        + "c2,Bo,nonsense,,sv,,subscriber,,address\n"  # line 4
    )
    result = load(write(tmp_path, "a.csv", text), skip_invalid=True)
    assert [r.line for r in result.rejected] == [4]


def test_csv_unknown_column_refuses_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "id,phone,affected_items,ssn\nc1,0701234567,x,1\n")
    with pytest.raises(SubscriberFileError, match="unknown column"):
        load(path, skip_invalid=True)


def test_jsonl_good_and_bad(tmp_path: Path) -> None:
    good = {
        "id": "j1",
        "name": "Anna",
        "phone": "070-123 45 67",
        "language": "sv",
        "affected_items": ["secret number", "address"],
    }
    path = jsonl(
        tmp_path,
        [
            good,  # 1
            {**good, "id": "j2", "phone": BAD_PHONE},  # 2
            "",  # 3: blank, skipped
            {**good, "id": "j3", "phone": None, "email": BAD_EMAIL},  # 4
            {"id": "j4", "affected_items": ["address"]},  # 5: neither
            {**good, "id": "j5", "language": "de"},  # 6
            {**good, "id": "j6", "time_zone": "Mars/Olympus"},  # 7
            {**good, "phone": "0701234569"},  # 8: duplicate j1
            "{not json",  # 9
            {**good, "id": "j7", "role": "user"},  # 10: user without subscriber
            {**good, "id": "j8", "email": "Bo@Example.DK", "phone": "+45 32 12 34 56"},  # 11
        ],
    )
    result = load(path, skip_invalid=True)
    assert [s.id for s in result.subscribers] == ["j1", "j8"]
    assert result.subscribers[1].phone == "+4532123456"
    assert result.subscribers[1].email == "Bo@example.dk"
    found = codes(result.rejected)
    assert sorted(found) == [2, 4, 5, 6, 7, 8, 9, 10]
    assert found[8] == [("subscriber_file.duplicate_id", "id")]
    assert found[9] == [("json.invalid", None)]
    assert found[10] == [("subscriber.user_without_subscriber", "subscriber_id")]
    with pytest.raises(SubscriberFileError) as caught:
        load(path, skip_invalid=False)
    assert BAD_PHONE not in str(caught.value) and BAD_EMAIL not in str(caught.value)


def test_clean_file_loads_without_skip(tmp_path: Path) -> None:
    text = HEADER + "c1,,0701234567,,,,,,address\n"
    result = load(write(tmp_path, "a.csv", text))
    assert result.rejected == []
    assert result.subscribers[0].language is None
    assert result.subscribers[0].role is Role.SUBSCRIBER


def test_danish_region_reads_national_numbers(tmp_path: Path) -> None:
    path = jsonl(tmp_path, [{"id": "d1", "phone": "32 12 34 56", "affected_items": ["adresse"]}])
    assert load(path, region="DK").subscribers[0].phone == "+4532123456"


async def test_loading_twice_adds_nobody_twice(tmp_path: Path) -> None:
    """Through the store the incident loads into, as the CLI stages its pages."""
    store = NotifyStore(
        SqliteDb(tmp_path / "notify.db", people_schema.SCHEMA),
        Sealer({"k": os.urandom(32)}, "k"),
    )
    path = write(tmp_path, "affected.csv", GOOD_AND_BAD_CSV)

    async def take(people: list[Subscriber]) -> list[str]:
        key = page_key("INC-1", people)
        await store.stage("INC-1", key, people, datetime.now(UTC))
        before = {r.person.id for r in await store.due("INC-1", 0, 10**6, FAR)}
        await store.load("INC-1", key)
        after = {r.person.id for r in await store.due("INC-1", 0, 10**6, FAR)}
        return sorted(after - before)

    async with store:
        assert await take(load(path, skip_invalid=True).subscribers) == ["c1", "u1"]
        assert await take(load(path, skip_invalid=True).subscribers) == []
        more = jsonl(
            tmp_path,
            [
                {"id": "c1", "phone": "0701234567", "affected_items": ["x"]},
                {"id": "n1", "phone": "0701234568", "affected_items": ["x"]},
            ],
        )
        assert await take(load(more).subscribers) == ["n1"]


FAR = datetime(2999, 1, 1, tzinfo=UTC)


async def test_the_list_counts_each_person_once_and_numbers_them_without_gaps(
    tmp_path: Path,
) -> None:
    """A page that names someone twice (a caller that did not check, as the file reader
    does) takes them once: the list's size, read from its highest number, stays true."""
    store = NotifyStore(
        SqliteDb(tmp_path / "notify.db", people_schema.SCHEMA),
        Sealer({"k": os.urandom(32)}, "k"),
    )

    def someone(sid: str, phone: str) -> Subscriber:
        return Subscriber(id=sid, phone=phone, affected_items=["x"])

    async def take(people: list[Subscriber]) -> tuple[int, int, int]:
        key = page_key("INC-1", people)
        await store.stage("INC-1", key, people, datetime.now(UTC))
        outcome = await store.load("INC-1", key)
        return outcome.added, outcome.repeated, outcome.people

    async with store:
        first = [someone("a", "0701234567"), someone("b", "0701234568")]
        first.append(someone("a", "0701234569"))
        assert await take(first) == (2, 1, 2)
        assert await take([someone("b", "0701234568"), someone("c", "0701234560")]) == (1, 1, 3)
        seqs = await store.db.query("SELECT seq FROM recipients ORDER BY seq")
        assert [s for (s,) in seqs] == [0, 1, 2]
        assert (await store.counts("INC-1")).total == 3


def test_pages_split_in_order() -> None:
    people = [
        Subscriber(id=f"s{i}", phone=f"07012345{i:02d}", affected_items=["x"]) for i in range(7)
    ]
    split = pages(people, 3)
    assert [[s.id for s in p] for p in split] == [["s0", "s1", "s2"], ["s3", "s4", "s5"], ["s6"]]
    assert pages([], 3) == []
    with pytest.raises(ValueError):
        pages(people, 0)


def test_repr_and_errors_hide_contact_details() -> None:
    s = Subscriber(
        id="c1",
        name="Anna Andersson",
        phone="0701234567",
        email="anna@example.se",
        affected_items=["x"],
    )
    for shown in (repr(s), str(s)):
        assert "+46701234567" not in shown and "anna@example.se" not in shown
        assert "Anna" not in shown
        assert "c1" in shown
    with pytest.raises(ValidationError) as caught:
        Subscriber(id="c1", phone="0701", email="anna@@example.se", affected_items=["x"])
    assert "0701" not in str(caught.value) and "anna@@" not in str(caught.value)


def test_people_read_back_from_the_store_are_not_parsed_again() -> None:
    loaded = Subscriber(
        id="c1", phone="070-123 45 67", email="Anna@Example.SE", affected_items=["address"]
    )
    assert (loaded.phone, loaded.email) == ("+46701234567", "Anna@example.se")
    stored = loaded.model_dump_json()
    assert Subscriber.model_validate_json(stored, context=AS_STORED) == loaded
    # Outside the store's context the checks still run.
    with pytest.raises(ValidationError):
        Subscriber.model_validate({**loaded.model_dump(), "phone": BAD_PHONE})


# --- delimiters, letters, users and internationalised addresses -------------------------------

EXCEL_HEADER = "id;name;phone;email;language;time_zone;role;subscriber_id;affected_items\r\n"


def test_a_swedish_excel_csv_with_semicolons_loads(tmp_path: Path) -> None:
    text = (
        "\ufeff"
        + EXCEL_HEADER
        + "c1;Åsa Öberg;070-123 45 67;;sv;;subscriber;;hemligt nummer|adress\r\n"
        + 'c2;"Bo; Berg";0701234568;;sv;;subscriber;;"hemligt nummer;adress"\r\n'
    )
    result = load(write(tmp_path, "export.csv", text))
    assert result.delimiter == ";"
    assert [s.affected_items for s in result.subscribers] == [
        ["hemligt nummer", "adress"],
        ["hemligt nummer", "adress"],
    ]
    assert result.subscribers[1].name == "Bo; Berg"


def test_tabs_and_commas_are_found_too(tmp_path: Path) -> None:
    tabbed = HEADER.replace(",", "\t") + "c1\tAnna\t0701234567\t\t\t\t\t\tadress|faktura\n"
    result = load(write(tmp_path, "export.csv", tabbed))
    assert result.delimiter == "\t" and result.subscribers[0].affected_items == [
        "adress",
        "faktura",
    ]
    assert load(write(tmp_path, "plain.csv", HEADER + "c1,,0701234567,,,,,,x\n")).delimiter == ","
    assert (
        load(
            jsonl(tmp_path, [{"id": "j1", "phone": "0701234567", "affected_items": ["x"]}])
        ).delimiter
        is None
    )


def test_a_forced_delimiter_is_used(tmp_path: Path) -> None:
    path = write(tmp_path, "export.csv", EXCEL_HEADER + "c1;Anna;0701234567;;;;;;x\r\n")
    with pytest.raises(SubscriberFileError) as caught:
        load(path, delimiter=",")
    assert [p.code for p in caught.value.problems] == ["subscriber_file.columns_unknown"]
    assert "unknown columns id;name;phone" in str(caught.value)
    assert load(path, delimiter=";").delimiter == ";"
    with pytest.raises(SubscriberFileError) as caught:
        load(path, delimiter=":")
    assert [(p.code, p.field) for p in caught.value.problems] == [
        ("subscriber_file.delimiter_unknown", "delimiter")
    ]
    with pytest.raises(SubscriberFileError) as caught:
        load(jsonl(tmp_path, []), delimiter=";")
    assert [p.code for p in caught.value.problems] == ["subscriber_file.delimiter_not_csv"]


def test_a_postal_address_is_kept_for_the_letter_and_never_shown(tmp_path: Path) -> None:
    text = (
        HEADER.replace("\n", ",postal_address\n")
        + 'c1,Anna,0701234567,,,,,,x,"Storgatan 1\n111 22 Stockholm"\n'  # lines 2-3
        + "c2,Bo,0701234568,,,,,,x,\n"  # 4: no address
        + "c3,Cecilia,0701234569,,,,,,x,"
        + "Lång gatan 7 " * 50
        + "\n"  # 5: too long
    )
    result = load(write(tmp_path, "a.csv", text), skip_invalid=True)
    anna, bo = result.subscribers
    assert anna.postal_address == "Storgatan 1\n111 22 Stockholm"
    assert anna.postal_address_line == "Storgatan 1, 111 22 Stockholm"
    assert bo.postal_address is None and bo.postal_address_line is None
    assert "Storgatan" not in repr(anna) and "Storgatan" not in str(anna)
    ((line, reason),) = [(r.line, r.words(Voice("en"))) for r in result.rejected]
    assert line == 5 and reason.startswith("postal_address:") and "gatan" not in reason


def test_a_user_must_name_a_subscriber_in_the_same_file(tmp_path: Path) -> None:
    text = (
        HEADER
        + "u0,Ulla,0701234560,,,,user,c1,x\n"  # 2: before their subscriber: fine
        + "c1,Anna,0701234567,,,,subscriber,,x\n"  # 3
        + "u1,Ulf,0701234561,,,,user,0709999999,x\n"  # 4: a shifted column, say
        + "u2,Ulrika,0701234562,,,,user,u0,x\n"  # 5: a user of a user
        + "c2,Bo,not a number,,,,subscriber,,x\n"  # 6: in the file, if invalid
        + "u3,Urban,0701234563,,,,user,c2,x\n"  # 7
    )
    result = load(write(tmp_path, "a.csv", text), skip_invalid=True)
    assert [s.id for s in result.subscribers] == ["u0", "c1", "u3"]
    assert codes(result.rejected) == {
        4: [("subscriber_file.subscriber_not_in_file", "subscriber_id")],
        5: [("subscriber_file.subscriber_is_a_user", "subscriber_id")],
        6: [("subscriber.phone_unreadable", "phone")],
    }
    with pytest.raises(SubscriberFileError) as caught:
        load(write(tmp_path, "a.csv", text))
    problems = caught.value.problems
    assert [(p.code, p.field) for p in problems] == [
        ("subscriber_file.bad_rows", None),
        ("subscriber_file.row_column", "line.4.subscriber_id"),
        ("subscriber_file.row_column", "line.5.subscriber_id"),
        ("subscriber_file.row_column", "line.6.phone"),
    ]
    assert problems[1].because[0].code == "subscriber_file.subscriber_not_in_file"
    assert "line 4, subscriber_id: the user names a subscriber_id" in str(caught.value)
    assert "0709999999" not in str(caught.value)


@pytest.mark.parametrize(
    ("given", "stored", "needs_smtputf8"),
    [
        ("jörg@exämple.se", "jörg@exämple.se", True),
        ("anna@exämple.se", "anna@xn--exmple-cua.se", False),
        ("Anna@Example.SE", "Anna@example.se", False),
    ],
)
def test_internationalised_addresses_say_whether_they_need_smtputf8(
    given: str, stored: str, needs_smtputf8: bool
) -> None:
    person = Subscriber(id="c1", email=given, affected_items=["x"])
    assert person.email == stored
    assert person.email_needs_smtputf8 is needs_smtputf8
    assert (
        Subscriber(id="c2", phone="0701234567", affected_items=["x"]).email_needs_smtputf8 is False
    )
