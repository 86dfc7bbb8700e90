"""Telling subscribers from the command line, against the dev server and a real worker."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from breachclock.runtime.config import Settings
from breachclock.runtime.store import open_notify_store
from tests.cli.test_cli import Cli
from tests.cli_support import address
from tests.conftest import SmtpSink, harness, unique
from tests.notify_support import HARMFUL

CSV = """id,name,phone,email,language,time_zone,role,subscriber_id,affected_items,postal_address
S1,Anna Svensson,070-123 45 67,anna@example.org,sv,Europe/Stockholm,subscriber,,secret number,
S2,Bo Berg,not a number,bo@example.org,en,,subscriber,,secret number;address,
S3,Cecilia Carlsson,+46701234568,,,,user,S1,secret number,"Storgatan 1, 111 22 Stockholm"
S4,Dan Dahl,,dan@@example,,,subscriber,,address,
S5,Eva Ek,+46701234569,eva@example.org,sv,Mars/Olympus,subscriber,,address,
"""


def as_swedish_excel(text: str) -> str:
    """The same list as Swedish Excel saves it: semicolons between columns, a BOM, CRLF;
    the items separated by "|", which needs no quoting there."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in csv.reader(io.StringIO(text)):
        writer.writerow([cell.replace(";", "|") for cell in row])
    return "\ufeff" + out.getvalue()


NOTICE = {
    "access_from": "2026-11-01T10:00+01:00",
    "what_happened": {"sv": "Hemliga nummer blev synliga.", "en": "Secret numbers were shown."},
    "consequences": {"sv": "Andra kan ha sett ditt nummer.", "en": "Others may have seen it."},
    "measures_taken": [{"what": {"sv": "Vi tog bort dem.", "en": "We removed them."}}],
    # The assessment (HARMFUL) finds physical harm likely: the notice says what to do.
    "recommendations": {
        "sv": "Ring oss om du får oönskade samtal.",
        "en": "Call us if unwanted calls come.",
    },
    "item_labels": {
        "secret number": {"sv": "hemligt nummer", "en": "secret number"},
        "address": {"sv": "adress", "en": "address"},
    },
}


async def a_call_waits(settings: Settings, reference: str) -> None:
    """Until one of the agents' calls waits for an agent, read from the engine's
    store in this process, so ``calls next`` runs when there is a call to take: polling
    with it ran a CLI process (a second of CPU) per look while the campaign handed the
    calls out."""
    async with open_notify_store(settings) as store:
        async with asyncio.timeout(60):
            while True:
                if (await store.calls_out(reference, datetime.now(UTC)))[1]:
                    return
                await asyncio.sleep(0.05)


async def test_load_the_list_decide_and_follow_the_campaign(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    overrides = {
        "BREACHCLOCK_CALL_ATTEMPTS": "2",
        "BREACHCLOCK_CALL_SPACING_MINUTES": "0",
        "BREACHCLOCK_CALLING_HOURS": "00:00-23:59",
        "BREACHCLOCK_CALLS": "agents",
    }
    methods = ["bankid", "one_time_code"]
    async with harness(
        dev_server, tmp_path, smtp, **overrides, BREACHCLOCK_IDENTITY_METHODS=methods
    ) as h:
        cli = Cli(
            {
                **os.environ,
                **overrides,
                "BREACHCLOCK_IDENTITY_METHODS": json.dumps(methods),
                "TEMPORAL_ADDRESS": address(dev_server),
                "BREACHCLOCK_TASK_QUEUE": h.settings.task_queue,
                "BREACHCLOCK_DATA_DIR": str(h.settings.data_dir),
            }
        )
        ref = unique("NOTE")
        assert (await cli("open", ref, "--title", "Secret numbers shown")).returncode == 0
        files = tmp_path / "in"
        files.mkdir()
        (files / "affected.csv").write_text(CSV)
        excel = tmp_path / "excel" / "affected.csv"  # the same list: its rows skipped once
        excel.parent.mkdir()
        excel.write_text(as_swedish_excel(CSV), encoding="utf-8")
        (files / "assessment.json").write_text(json.dumps(HARMFUL))
        (files / "notice.json").write_text(json.dumps(NOTICE))

        refused = await cli("subscribers", ref, "--file", str(files / "affected.csv"))
        assert refused.returncode == 1
        assert "affected.csv: bad rows: 3; nothing loaded" in refused.stderr
        assert "line 3, phone:" in refused.stderr and "line 5, email:" in refused.stderr
        assert "line 6, time_zone:" in refused.stderr
        for secret in ("not a number", "dan@@example", "Bo Berg"):
            assert secret not in refused.stderr, "a bad row's reason never quotes it"

        # Loading the same list twice adds nobody twice, the second time from Swedish Excel.
        for path in (files / "affected.csv", excel):
            loaded = await cli("subscribers", ref, "--file", str(path), "--skip-invalid")
            assert loaded.returncode == 0, loaded.stderr
        assert "read affected.csv: columns separated by semicolons" in loaded.stdout
        assert "0 added, 2 already on the list; 2 on the list now" in loaded.stdout
        forced = await cli("subscribers", ref, "--file", str(excel), "--delimiter", "comma")
        assert forced.returncode == 1 and "unknown columns id;name;phone" in forced.stderr
        assert "skipped line 3: phone" in loaded.stdout

        early = await cli("decide", ref, "--notify", "--by", "DPO")
        assert early.returncode == 1 and "assessment first" in early.stderr

        assessed = await cli("assess", ref, "--file", str(files / "assessment.json"))
        assert assessed.returncode == 0, assessed.stderr
        assert "recommendation: NOTIFY" in assessed.stdout
        assert (await cli("notice", ref, "--file", str(files / "notice.json"))).returncode == 0
        decided = await cli("decide", ref, "--notify", "--by", "DPO")
        assert decided.returncode == 0, decided.stderr
        assert "notifying 2 people" in decided.stdout

        # Agents work the list: name and number, nothing of the incident before identity.
        handed = []
        for _ in range(100):
            await a_call_waits(h.settings, ref)
            got = await cli("calls", "next", "--agent", "agent-1")
            assert got.returncode == 0, got.stderr
            if "no calls waiting" not in got.stdout:
                handed.append(got.stdout)
                if len(handed) == 2:
                    break
        assert len(handed) == 2
        out = (await cli.json("status", ref))["notification"]
        assert (out["calls_held"], out["calls_waiting"]) == (2, 0), "status says they are out"
        first = handed[0]
        assert "+46701234567" in first or "+46701234568" in first
        assert "Hemliga nummer" not in first, "nothing about the incident before identity"
        keys = [text.split()[1] for text in handed]
        stranger = await cli("calls", "script", keys[0], "--agent", "agent-2")
        assert stranger.returncode == 1 and "is not held by you" in stranger.stderr
        assert "Hemliga nummer" not in stranger.stdout, "the script is for the agent on the call"
        assert "by one of:\n  bankid (BankID" in first and "security_questions" not in first
        script = await cli("calls", "script", keys[0], "--agent", "agent-1")
        assert "Hemliga nummer blev synliga." in script.stdout
        assert script.stdout.startswith("Only once identified by bankid")
        record = ("calls", "record", keys[0], "reached_verified", "--agent", "agent-1")
        unproven = await cli(*record)
        assert unproven.returncode == 1
        assert "needs how the person proved who they are: BankID or one-time code" in (
            unproven.stderr
        )
        weak = await cli(*record, "--identified-by", "security_questions")
        assert weak.returncode == 1 and "does not count as proof" in weak.stderr
        proven = await cli(*record, "--identified-by", "one_time_code")
        assert proven.returncode == 0, proven.stderr
        assert "(identified by one_time_code)" in proven.stdout
        twice = await cli("calls", "record", keys[0], "no_answer", "--agent", "agent-1")
        assert twice.returncode == 1 and "already recorded" in twice.stderr
        bad = await cli("calls", "record", keys[1], "maybe", "--agent", "agent-1")
        assert bad.returncode == 2
        assert (
            await cli("calls", "record", keys[1], "no_answer", "--agent", "agent-1")
        ).returncode == 0
        for _ in range(100):  # the second call for the one not reached
            await a_call_waits(h.settings, ref)
            got = await cli("calls", "next", "--agent", "agent-1")
            if "no calls waiting" not in got.stdout:
                assert (
                    await cli(
                        "calls", "record", got.stdout.split()[1], "busy", "--agent", "agent-1"
                    )
                ).returncode == 0
                break

        watched = await cli("watch", ref, "--interval", "0.2")
        assert watched.returncode == 0, watched.stderr
        assert "2/2 (100%)" in watched.stdout

        shown = await cli("status", ref)
        assert "subscriber notice: notify; 2 people on the list" in shown.stdout
        assert "3 invalid rows skipped" in shown.stdout
        data = await cli.json("status", ref)
        assert data["notification"]["by_status"]["called"] == 1
        assert data["notification"]["by_status"]["unreachable"] == 1  # S3 has no e-mail
        assert data["notification"]["skipped_rows"] == 3

        called = keys[0].split(":")[1]
        told = await cli.json("person", ref, called)
        assert [(a["outcome"], a["identified_by"]) for a in told["attempts"]] == [
            ("reached_verified", "one_time_code")
        ]
        assert "(identified by one_time_code)" in (await cli("person", ref, called)).stdout
        who = await cli.json("person", ref, "S3")
        assert [a["channel"] for a in who["attempts"]] == ["call", "call", "letter"]
        letters = await cli.json("unreachable", ref)
        assert letters == [
            {
                "subscriber_id": "S3",
                "name": "Cecilia Carlsson",
                "postal_address": "Storgatan 1, 111 22 Stockholm",
                "reason": "2 calls did not reach them, and there is no e-mail address",
            }
        ]
        listed = await cli("unreachable", ref)
        assert listed.stdout == (
            "S3  Cecilia Carlsson  Storgatan 1, 111 22 Stockholm"
            "  (2 calls did not reach them, and there is no e-mail address)\n"
        )
