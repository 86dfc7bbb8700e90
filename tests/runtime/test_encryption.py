"""Personal data never reaches the Temporal server in the clear."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import Close, Discover, Facts, FactsPatch, TimelineInput
from breachclock.runtime.codec import (
    CodecKeyError,
    EncryptionCodec,
    encrypted_converter,
    local_keys,
)
from breachclock.runtime.store import open_notify_store, open_store
from breachclock.runtime.temporal import start_time_skipping
from tests.conftest import SmtpSink, approve_pending, harness
from workflows.incident import IncidentWorkflow

NAME = "Anna Andersson"
PHONE = "+46701234567"


def payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_rotation_old_key_still_decrypts_new_key_encrypts() -> None:
    old, new = os.urandom(32), os.urandom(32)
    before = EncryptionCodec({"k1": old}, "k1")
    after = EncryptionCodec({"k1": old, "k2": new}, "k2")
    (sealed_old,) = await before.encode([payload(NAME)])
    (sealed_new,) = await after.encode([payload(NAME)])
    assert (
        NAME.encode() not in sealed_old.data and sealed_old.metadata["encryption-key-id"] == b"k1"
    )
    assert sealed_new.metadata["encryption-key-id"] == b"k2"
    assert [p.data for p in await after.decode([sealed_old, sealed_new])] == [NAME.encode()] * 2
    with pytest.raises(CodecKeyError, match="k2"):
        await before.decode([sealed_new])


async def test_a_payload_that_does_not_open_fails_only_its_own_value() -> None:
    """The worker decodes an activation's payloads together: one sealed with a key it
    lacks (or tampered with) must fail only the value that needs it, with its reason."""
    engine, stranger = os.urandom(32), os.urandom(32)
    converter = encrypted_converter(EncryptionCodec({"engine": engine}, "engine"))
    (mine,) = await converter.encode(["a value the engine sealed"])
    (theirs,) = await encrypted_converter(EncryptionCodec({"other": stranger}, "other")).encode(
        ["a value sealed elsewhere"]
    )
    tampered = Payload(metadata=mine.metadata, data=mine.data[:-1] + bytes([mine.data[-1] ^ 1]))
    assert converter.payload_codec is not None
    opened = await converter.payload_codec.decode([mine, theirs, tampered])
    assert converter.payload_converter.from_payloads(opened[:1]) == ["a value the engine sealed"]
    with pytest.raises(CodecKeyError, match="key 'other', which is not configured"):
        converter.payload_converter.from_payloads(opened[1:2])
    with pytest.raises(CodecKeyError, match="does not open"):
        converter.payload_converter.from_payloads(opened[2:])


async def test_tampering_is_detected_and_plain_payloads_pass() -> None:
    codec = EncryptionCodec({"k": os.urandom(32)}, "k")
    (sealed,) = await codec.encode([payload("x")])
    tampered = Payload(
        metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    )
    with pytest.raises(InvalidTag):
        await codec.decode([tampered])
    plain = payload("not encrypted")
    assert await codec.decode([plain]) == [plain]


def test_bad_key_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CodecKeyError, match="32 bytes"):
        EncryptionCodec({"short": b"123"}, "short")
    with pytest.raises(CodecKeyError, match="active key"):
        EncryptionCodec({"a": os.urandom(32)}, "b")
    with pytest.raises(CodecKeyError, match=r"no codec key at .*keys\.json: start the engine"):
        local_keys(tmp_path / "keys.json")  # a client never makes a key of its own
    keys, active = local_keys(tmp_path / "keys.json", create=True)
    assert len(keys[active]) == 32
    assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
    assert local_keys(tmp_path / "keys.json") == (keys, active), "made once, then reused"


async def test_history_on_the_server_holds_no_personal_data(tmp_path: Path, smtp: SmtpSink) -> None:
    converter = encrypted_converter(EncryptionCodec({"k": os.urandom(32)}, "k"))
    env: WorkflowEnvironment = await start_time_skipping(converter)
    try:
        async with harness(env, tmp_path, smtp) as h:
            facts = Facts.model_validate(
                {"circumstances": f"{NAME} ({PHONE}) called customer service"}
            )
            handle = await h.open("ENC-1", facts=facts)
            now = await h.now()
            await handle.execute_update(
                IncidentWorkflow.discover, Discover(at=now, by=NAME, how=f"call from {PHONE}")
            )
            await handle.execute_update(
                IncidentWorkflow.add_event, TimelineInput(at=now, what=f"{NAME} confirmed", by=NAME)
            )
            await approve_pending(handle, NAME)
            await env.sleep(timedelta(hours=20))
            raw = (await handle.fetch_history()).to_json()
    finally:
        await env.shutdown()
    report = smtp.to("incidentrapport@pts.se")[0].get_payload()[0].get_payload(decode=True).decode()
    assert NAME in report and PHONE in report, "the worker decrypts: the regulator reads it all"
    for secret in (NAME, PHONE, "oncall@operator.example", "incident-manager@"):
        assert secret not in raw, f"{secret} reached the Temporal server in the clear"
    assert "binary/encrypted" in raw or "YmluYXJ5L2VuY3J5cHRlZA" in raw


async def test_a_campaign_leaves_no_contact_details_in_history_or_logs(
    tmp_path: Path, smtp: SmtpSink, capfd: pytest.CaptureFixture[str]
) -> None:
    """The Comviq case with a notification campaign: raw histories without the codec, and
    every log line, hold no subscriber's name, number or address."""
    from breachclock.domain.ids import campaign_id
    from tests.notify_support import decide, finish, people, ready

    converter = encrypted_converter(EncryptionCodec({"k": os.urandom(32)}, "k"))
    env: WorkflowEnvironment = await start_time_skipping(converter)
    crowd = people(12)
    try:
        async with harness(env, tmp_path, smtp, BREACHCLOCK_NOTIFY_BATCH=5) as h:
            handle = await h.discovered("ENC-2")
            await ready(h.settings, handle, "ENC-2", crowd)
            await decide(handle)
            state = await finish(env, handle)
            await approve_pending(handle, "DPO")
            raw = (await handle.fetch_history()).to_json()
            campaign = env.client.get_workflow_handle(campaign_id("ENC-2", 1))
            raw += (await campaign.fetch_history()).to_json()
    finally:
        await env.shutdown()
    logs = capfd.readouterr()
    told = [m for m in smtp.messages if str(m["X-Breachclock-Key"]).endswith(":email")]
    assert told or state.notification.waves[0].counts, "the campaign ran"
    secrets = [s for p in crowd for s in (p.name, p.phone, p.email) if s]
    national = [p.phone.replace("+46", "0") for p in crowd if p.phone]
    for secret in [*secrets, *national]:
        assert secret not in raw, f"{secret} reached the Temporal server in the clear"
        assert secret not in logs.out and secret not in logs.err, f"{secret} in a log line"


async def test_personal_data_at_rest_is_sealed_and_owner_only(
    skipping: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """The stores the engine keeps in its data folder (22,000 names and numbers for
    weeks): no name, number or address readable in their files, and only their owner
    may open them; a closed incident in the register is sealed too."""
    from breachclock.app.engine import prepare_data_dir
    from tests.notify_support import decide, people, ready

    crowd = people(6)
    async with harness(
        skipping, tmp_path, smtp, BREACHCLOCK_CALLS="agents", BREACHCLOCK_CALL_ATTEMPTS=1
    ) as h:
        await prepare_data_dir(h.settings)
        # Calls waiting for agents: the worklist holds names, numbers and the script.
        handle = await h.discovered("REST-1")
        await ready(h.settings, handle, "REST-1", crowd)
        await decide(handle)
        # A closed incident whose facts name someone: in the register.
        closed = await h.discovered("REST-2")
        await closed.execute_update(
            IncidentWorkflow.record_facts,
            FactsPatch(changes={"circumstances": f"{NAME} ({PHONE}) called customer service"}),
        )
        await closed.execute_update(
            IncidentWorkflow.close, Close(by="DPO", reason="a test", abandon_reports=True)
        )
        await closed.result()
        async with open_notify_store(h.settings) as store:
            for _ in range(100):
                if await store.claim("agent", datetime.now(UTC), 60):
                    break
                await asyncio.sleep(0.1)
        async with open_store(h.settings) as records:
            assert NAME in (await records.registered("REST-2") or ""), "it opens with the key"
    data = h.settings.data_dir
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {"notify.db", "breachclock.db"} <= {p.name for p in files}
    raw = b"".join(p.read_bytes() for p in files)
    secrets = [s for p in crowd for s in (p.name, p.phone, p.email) if s] + [NAME, PHONE]
    for secret in secrets:
        assert secret.encode() not in raw, f"{secret} is readable in the data folder"
    assert data.stat().st_mode & 0o777 == 0o700
    for path in files:
        assert path.stat().st_mode & 0o077 == 0, f"{path.name} is readable by others"
