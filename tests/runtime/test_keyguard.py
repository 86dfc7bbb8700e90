"""A worker or CLI whose codec keys are not the deployment's refuses to start, in one
line naming the setting to copy and from where, and makes no key of its own: on the
data folder's SQLite and on a shared PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from breachclock.domain.catalogue import Voice
from breachclock.runtime.config import Settings
from breachclock.runtime.keyguard import KeysNotTheDeployments, ensure_keys
from breachclock.runtime.store import open_store
from tests.cli_fork import run_python
from tests.cli_support import ROOT
from tests.postgres import postgresql_url_fixture, scratch_database  # noqa: F401 - the fixture


def keys(*names: str) -> str:
    return json.dumps({n: base64.b64encode(os.urandom(32)).decode() for n in names})


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """None: each process's own data folder's SQLite; else one PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    async with scratch_database(request.getfixturevalue("postgresql_url")) as url:
        yield url


@pytest.fixture(autouse=True)
def no_keys_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BREACHCLOCK_CODEC_KEYS", raising=False)
    monkeypatch.delenv("BREACHCLOCK_CODEC_ACTIVE_KEY", raising=False)


def settings(data: Path, url: str | None, codec: str | None = None, **more: str) -> Settings:
    values = {"BREACHCLOCK_DATA_DIR": data, "BREACHCLOCK_STORE_URL": url, **more}
    if codec is not None:
        values["BREACHCLOCK_CODEC_KEYS"] = codec
    return Settings(**values)


async def refusal(s: Settings, create: bool = True) -> str:
    with pytest.raises(KeysNotTheDeployments) as caught:
        await ensure_keys(s, create=create)
    return caught.value.problem.words(Voice("en"))


async def test_a_second_engine_without_the_keys_refuses_and_makes_none(
    tmp_path: Path, store_url: str | None
) -> None:
    first = settings(tmp_path / "first", store_url, keys("deploy-1"))
    await ensure_keys(first, create=True)
    async with open_store(first) as store:
        await store.register("R-1", datetime.now(UTC), "sealed with deploy-1")
    # Another machine's engine on the same PostgreSQL, or the same folder's SQLite.
    folder = tmp_path / "second" if store_url else tmp_path / "first"
    second = settings(folder, store_url)
    line = await refusal(second)
    assert "sealed with key deploy-1" in line
    assert "copy BREACHCLOCK_CODEC_KEYS from BREACHCLOCK_CODEC_KEYS (" in line
    assert not second.key_file.exists(), "no key of its own"
    # A key of its own, configured: refused too, and nothing it would seal is written.
    assert "deploy-1" in await refusal(settings(folder, store_url, keys("elsewhere")))
    # With the deployment's keys it starts, and reads what the first wrote.
    same = settings(folder, store_url, first.codec_keys)
    await ensure_keys(same, create=True)
    async with open_store(same) as store:
        assert await store.registered("R-1") == "sealed with deploy-1"


async def test_a_client_next_to_an_engine_with_its_own_key_file_is_told_where_it_is(
    tmp_path: Path, store_url: str | None
) -> None:
    engine = settings(tmp_path / "data", store_url)
    await ensure_keys(engine, create=True)  # the engine's first start makes the key file
    assert engine.key_file.exists()
    line = await refusal(settings(tmp_path / "data", store_url, keys("mine")), create=False)
    assert f"copy BREACHCLOCK_CODEC_KEYS from {engine.key_file} (" in line
    await ensure_keys(settings(tmp_path / "data", store_url), create=False)


async def test_keys_rotate(tmp_path: Path, store_url: str | None) -> None:
    old = json.loads(keys("k1"))
    new = json.loads(keys("k2"))
    data = tmp_path / "data"
    await ensure_keys(settings(data, store_url, json.dumps(old)), create=True)
    both = settings(data, store_url, json.dumps(old | new), BREACHCLOCK_CODEC_ACTIVE_KEY="k2")
    await ensure_keys(both, create=True)  # the active key seals from now on
    await ensure_keys(settings(data, store_url, json.dumps(new)), create=True)
    assert "sealed with key k2" in await refusal(settings(data, store_url, json.dumps(old)))


async def test_the_engine_refuses_in_one_line(tmp_path: Path, store_url: str | None) -> None:
    await ensure_keys(settings(tmp_path / "first", store_url, keys("deploy-1")), create=True)
    folder = tmp_path / ("second" if store_url else "first")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREACHCLOCK_", "TEMPORAL_"))}
    env |= {"BREACHCLOCK_DATA_DIR": str(folder), "LANG": "C.UTF-8"}
    if store_url:
        env["BREACHCLOCK_STORE_URL"] = store_url
    done = await asyncio.to_thread(run_python, str(ROOT / "worker.py"), env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("error: the codec keys here cannot open the deployment's data")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (folder / "codec-keys.json").exists() or not store_url
