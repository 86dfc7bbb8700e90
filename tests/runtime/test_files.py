"""Input files are refused with one plain line, at once, whatever sits at the path."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from breachclock.cli.common import read_json
from breachclock.domain.notify.subscribers import SubscriberFileError
from breachclock.runtime.files import MAX_JSON_BYTES, MAX_LIST_BYTES
from breachclock.service.engine import Refused
from breachclock.service.notification import read_list as load
from tests.cli_support import offline

HEADER = "id,name,phone,email,language,time_zone,role,subscriber_id,affected_items\n"
ROW = "c1,Anna,0701234567,,sv,,subscriber,,address\n"


def refusal(read: Callable[[], Any], error: type[Exception] = Refused) -> str:
    """What ``read`` refused with, within five seconds: a blocked read fails the test."""
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            read()
        except BaseException as err:
            outcome.append(err)
        else:
            outcome.append(None)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "the read blocked instead of refusing"
    (err,) = outcome
    assert isinstance(err, error), f"expected {error.__name__}, got {err!r}"
    message = str(err)
    assert message.strip() and "\n" not in message, f"one line: {message!r}"
    return message


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path: a Unix socket's path is limited to about 100 bytes."""
    with tempfile.TemporaryDirectory(prefix="bc-") as folder:
        yield Path(folder)


@pytest.fixture
def fifo(short_dir: Path) -> Iterator[Path]:
    path = short_dir / "input.json"
    os.mkfifo(path)
    yield path
    try:  # release a reader a broken implementation left waiting on the pipe
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass  # nobody is waiting


def test_a_fifo_is_refused_without_blocking(fifo: Path) -> None:
    assert "a pipe (FIFO)" in refusal(lambda: read_json(fifo))
    name = fifo.with_suffix(".csv")
    os.mkfifo(name)
    assert "a pipe (FIFO)" in refusal(lambda: load(name), SubscriberFileError)


def test_a_device_is_refused_without_reading_it() -> None:
    assert "/dev/zero is a device" in refusal(lambda: read_json(Path("/dev/zero")))


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "people.jsonl"
    link.symlink_to("/dev/zero")
    assert "is a device" in refusal(lambda: load(link), SubscriberFileError)


def test_a_directory_and_a_socket_are_refused(short_dir: Path) -> None:
    folder = short_dir / "facts.json"
    folder.mkdir()
    assert "is a directory" in refusal(lambda: read_json(folder))
    path = short_dir / "s.csv"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        assert "is a socket" in refusal(lambda: read_json(path))
        assert "is a socket" in refusal(lambda: load(path), SubscriberFileError)


def test_sizes_are_capped_naming_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "facts.json"
    with big.open("wb") as out:
        out.truncate(MAX_JSON_BYTES + 1)  # sparse: nothing is written or read
    assert "more than the limit of 1 MiB" in refusal(lambda: read_json(big))
    at_limit = tmp_path / "ok.json"
    at_limit.write_bytes(b"{}" + b" " * (MAX_JSON_BYTES - 2))
    assert read_json(at_limit) == {}
    huge = tmp_path / "people.csv"
    with huge.open("wb") as out:
        out.truncate(MAX_LIST_BYTES + 1)
    assert "more than the limit of 200 MiB" in refusal(lambda: load(huge), SubscriberFileError)


def test_a_byte_order_mark_is_accepted_in_json_and_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"affected_count": 3}).encode())
    assert read_json(path) == {"affected_count": 3}
    rows = tmp_path / "people.jsonl"
    person = {"id": "j1", "phone": "0701234567", "affected_items": ["address"]}
    rows.write_bytes(b"\xef\xbb\xbf" + json.dumps(person).encode() + b"\n")
    assert [s.id for s in load(rows).subscribers] == ["j1"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"[" * 100_000, "nests too deeply"),
        (b'{"a": ' + b"1" * 5_000 + b"}", "a number longer than 4300 digits"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": 1}\n\n{"b": "caf\xe9"}', "not UTF-8 text: invalid continuation byte at line 3"),
    ],
    ids=["deep", "long number", "nan", "latin-1"],
)
def test_json_that_cannot_be_read_is_one_line(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "facts.json"
    path.write_bytes(content)
    message = refusal(lambda: read_json(path))
    assert words in message and str(path) in message


def test_jsonl_rows_too_deep_or_too_long_are_rejected_by_line(tmp_path: Path) -> None:
    person = json.dumps({"id": "j1", "phone": "0701234567", "affected_items": ["address"]})
    path = tmp_path / "people.jsonl"
    path.write_bytes(
        person.encode() + b"\n" + b"[" * 100_000 + b"\n" + b'{"id": ' + b"9" * 5_000 + b"}\n"
    )
    result = load(path, skip_invalid=True)
    assert [s.id for s in result.subscribers] == ["j1"]
    assert [(r.line, [p.code for p in r.problems]) for r in result.rejected] == [
        (2, ["json.too_deep"]),
        (3, ["json.number_too_long"]),
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ((HEADER + ROW + "c2,Bj\xf6rn,0701234568,,sv,,,,address\n").encode("latin-1"), "line 3"),
        ((HEADER + ROW + ROW.replace("c1", "c\0")).encode(), "line 3 holds a NUL byte"),
        (
            (HEADER + ROW + 'c2,"' + "x" * 200_000 + '",0701234568,,,,,,address\n').encode(),
            "line 3 cannot be read as CSV",
        ),
    ],
    ids=["latin-1", "nul", "huge field"],
)
def test_csv_that_cannot_be_read_names_the_line(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(content)
    for skip in (False, True):
        message = refusal(lambda s=skip: load(path, skip_invalid=s), SubscriberFileError)
        assert words in message and "people.csv" in message
        assert "Bj" not in message


def test_the_cli_refuses_a_fifo_in_one_line_and_exits_1(fifo: Path) -> None:
    run = offline("facts", "INC-2026-001", "--file", str(fifo))
    assert run.returncode == 1, run.stderr
    assert run.stderr == f"error: {fifo} is a pipe (FIFO), not a file that can be read (--file)\n"
