"""The codec keys a process runs with must be the deployment's.

A worker or CLI started without ``BREACHCLOCK_CODEC_KEYS`` used to make a key of its
own, then seal what it wrote with it: nobody else could read that, and it could not
read what the others wrote. So the store (the SQLite file in the data folder, or the
PostgreSQL database every worker shares) keeps the id and a fingerprint of the key its
data is sealed with (an HMAC of a fixed text under the key: it does not reveal the
key), and where that key is set. A process whose keys do not include it refuses to
start, naming the setting to copy and from where; a process with no keys at all makes
one only when the store has none yet.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
from pathlib import Path

from breachclock.domain.problems import Problem, problem
from breachclock.runtime.codec import CodecKeyError
from breachclock.runtime.config import Settings
from breachclock.runtime.store import STORE_FILE, open_key_anchor

CHECK_TEXT = b"breachclock codec key fingerprint v1"


def fingerprint(key: bytes) -> str:
    return hmac.new(key, CHECK_TEXT, hashlib.sha256).hexdigest()[:32]


class KeysNotTheDeployments(Exception):
    """This process's codec keys cannot open the deployment's data: ``problem`` says
    which key the data wants and where it is set."""

    def __init__(self, found: Problem) -> None:
        self.problem = found
        super().__init__(found.code)


def source_of(settings: Settings) -> str:
    """Where this process's keys come from, as another process's operator finds it."""
    host = socket.gethostname()
    if settings.codec_keys is not None:
        return f"BREACHCLOCK_CODEC_KEYS ({host})"
    return f"{settings.key_file} ({host})"


def mismatch(settings: Settings, anchor: tuple[str, str, str]) -> KeysNotTheDeployments:
    key_id, _, source = anchor
    return KeysNotTheDeployments(
        problem("codec.not_the_deployments", key_id=key_id, source=source, setting=SETTING)
    )


SETTING = "BREACHCLOCK_CODEC_KEYS"


def store_file(settings: Settings) -> Path:
    return settings.data_dir / STORE_FILE


async def ensure_keys(settings: Settings, create: bool = False) -> None:
    """Check (and on the store's first use, record) that this process's keys are the
    data's; ``create``: the engine may make the data folder's key, when the store has
    no key yet. Raises ``KeysNotTheDeployments``, or ``CodecKeyError`` with no keys."""
    if not create and settings.store_url is None and not store_file(settings).exists():
        settings.keyring()  # nothing is stored here yet (and a client makes nothing)
        return
    async with open_key_anchor(settings) as store:
        anchor = await store.anchor()
        try:
            keys, active = settings.keyring(create=create and anchor is None)
        except CodecKeyError:
            if anchor is not None:
                raise mismatch(settings, anchor) from None
            raise
        ours = {key_id: fingerprint(key) for key_id, key in keys.items()}
        if anchor is None:
            await store.claim_anchor(active, ours[active], source_of(settings))
            anchor = await store.anchor()
            assert anchor is not None
        key_id, print_, _ = anchor
        if ours.get(key_id) != print_:
            raise mismatch(settings, anchor)
        if key_id != active:  # rotated: the active key seals from now on
            await store.move_anchor((key_id, print_), active, ours[active], source_of(settings))
