"""AES-GCM encryption of every payload before it reaches the Temporal server.

Facts, names in the timeline and page recipients are personal data; the server
(and its database, backups and UI) sees only ciphertext. Each payload names the
key that sealed it, so keys rotate: the active key encrypts, every configured key
still decrypts. Payloads that were never encrypted pass through unchanged.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    EncodingPayloadConverter,
    PayloadCodec,
)

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
TAG_BYTES = 16


class CodecKeyError(ValueError):
    """A payload sealed with a key this process does not have, or a bad key set."""


class CodecDataError(ValueError):
    """A payload marked as sealed that cannot be: too short to hold a nonce and a tag."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        if active not in keys:
            raise CodecKeyError(f"the active key {active!r} is not among the configured keys")
        bad = [k for k, v in keys.items() if len(v) != 32]
        if bad:
            raise CodecKeyError(f"keys must be 32 bytes (AES-256): {', '.join(bad)}")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._active]
        sealed = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, payload.SerializeToString(), self._active.encode())
            sealed.append(
                Payload(metadata={"encoding": ENCODING, KEY_ID: self._active.encode()}, data=data)
            )
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        opened = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                opened.append(payload)
                continue
            try:
                key_id = payload.metadata.get(KEY_ID, b"").decode()
            except UnicodeDecodeError:
                raise CodecKeyError("payload's key id is not UTF-8 text") from None
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                shown = key_id[:64] + ("…" if len(key_id) > 64 else "")
                raise CodecKeyError(f"payload sealed with key {shown!r}, which is not configured")
            if len(payload.data) < NONCE_BYTES + TAG_BYTES:
                raise CodecDataError(
                    f"payload of {len(payload.data)} bytes is too short to be sealed "
                    f"(a nonce and a tag take {NONCE_BYTES + TAG_BYTES})"
                )
            nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
            opened.append(Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode())))
        return opened


SEALED = "sealed:"


class Sealer:
    """Personal data at rest (the stores' names, numbers, addresses, call scripts and
    closed incidents), sealed with the payload codec's keys: AES-256-GCM, the key id
    kept beside the ciphertext so keys rotate as they do for payloads.

    ``context`` names the value's place (table and row) and is authenticated with it,
    so a sealed value copied to another row does not open. A value without the
    prefix is taken as stored before sealing existed and returned as it is.
    """

    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        if active not in keys:
            raise CodecKeyError(f"the active key {active!r} is not among the configured keys")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active

    def seal(self, plain: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._active].encrypt(nonce, plain.encode(), context.encode())
        return f"{SEALED}{self._active}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, text: str, context: str) -> str:
        if not text.startswith(SEALED):
            return text
        key_id, _, data = text[len(SEALED) :].rpartition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecKeyError(f"stored value sealed with key {key_id!r}, which is not configured")
        raw = base64.b64decode(data)
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        return cipher.decrypt(nonce, sealed, context.encode()).decode()


def parse_keys(text: str) -> dict[str, bytes]:
    """``{"key-id": "<base64 of 32 bytes>", …}``, as configured or as in the key file."""
    try:
        raw = json.loads(text)
        return {str(k): base64.b64decode(v, validate=True) for k, v in raw.items()}
    except (ValueError, AttributeError, TypeError) as err:
        raise CodecKeyError(
            'codec keys must be a JSON object {"key-id": "<base64 of 32 random bytes>"}'
        ) from err


def local_keys(path: Path, create: bool = False) -> tuple[dict[str, bytes], str]:
    """The embedded default: one key kept (mode 600) in the data folder.

    Only the engine makes it (``create``), on its first start. Any other process (the
    CLI, the codec server) must find the engine's key: a key of its own would seal
    payloads the worker cannot open, and burn the incident they were sent to."""
    if not path.exists():
        if not create:
            raise CodecKeyError(
                f"no codec key at {path}: start the engine first (make run), or point "
                "BREACHCLOCK_DATA_DIR at its data folder, or set BREACHCLOCK_CODEC_KEYS"
            )
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_id = f"local-{os.urandom(4).hex()}"
        content = json.dumps(
            {key_id: base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another engine process made it first: use theirs
        else:
            with os.fdopen(fd, "w") as out:
                out.write(content)
    keys = parse_keys(path.read_text())
    return keys, sorted(keys)[-1]


UNREADABLE = b"binary/unreadable"
"""A payload this process could not open, kept as a marker with the reason."""


class PerPayloadCodec(PayloadCodec):
    """``codec``, one payload at a time: a payload it cannot open becomes an
    ``UNREADABLE`` marker instead of failing everything decoded with it.

    The worker decodes a whole activation at once; one payload sealed with a key it
    does not have (a client with a key of its own) would fail every workflow task
    of the incident for ever. With the marker, only the value that needs it fails
    to convert (``UnreadableConverter``): an update is refused with the reason and
    adds nothing to history, and the incident runs on."""

    def __init__(self, codec: PayloadCodec) -> None:
        self._codec = codec

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self._codec.encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        opened = []
        for payload in payloads:
            try:
                opened += await self._codec.decode([payload])
            except (CodecKeyError, CodecDataError, InvalidTag) as err:
                reason = str(err) or "it does not open with the configured key (tampered?)"
                opened.append(Payload(metadata={"encoding": UNREADABLE, "reason": reason.encode()}))
        return opened


class UnreadableConverter(EncodingPayloadConverter):
    """Turns an ``UNREADABLE`` marker into the ``CodecKeyError`` it stands for, when
    (and only when) its value is needed."""

    @property
    def encoding(self) -> str:
        return UNREADABLE.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never chosen to encode a value

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        reason = payload.metadata.get("reason", b"").decode(errors="replace")
        raise CodecKeyError(f"cannot read what was sent: {reason}")


class SealedPayloadConverter(PydanticPayloadConverter):
    """The pydantic converter, and the marker of a payload that could not be opened."""

    def __init__(self) -> None:
        super().__init__()
        self._set_converters(UnreadableConverter(), *self.converters.values())


def encrypted_converter(codec: PayloadCodec) -> DataConverter:
    """The pydantic converter, payloads sealed by ``codec`` (opened one by one), failure
    messages too."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_converter_class=SealedPayloadConverter,
        payload_codec=PerPayloadCodec(codec),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
