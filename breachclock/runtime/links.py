"""One-time, expiring links that acknowledge a page, signed with HMAC-SHA256.

The key is ``BREACHCLOCK_LINK_KEY`` where several processes share it (every worker and
the console on Kubernetes, from one Secret); otherwise 32 random bytes kept in the data
folder beside the codec keys, owner-only (600), made by the engine's first start; the
CLI and the console read it. A token is
``<payload>.<signature>``, both base64url: the payload names the incident, the
deadline and the link's own id (from the page's business key), and when it expires.
It holds no personal data (a reference is never a person's name or number). The
signature makes it unforgeable; the expiry bounds a leaked mail; the incident records
the id of the link that acknowledged it, so a link acknowledges once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from breachclock.runtime.config import Settings

LINK_LIFETIME = timedelta(hours=12)


def incident_url(console: str, reference: str) -> str:
    """The incident's page in the console, where a page's reader does what it asks."""
    return f"{console.rstrip('/')}/incidents/{reference}"


KEY_FILE = "ack-link-key"


class BadLink(ValueError):
    """A token that is not ours, was altered, or has expired: ``code`` says which."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class AckLink:
    reference: str
    deadline: str
    link: str
    """The link's id: what the incident records, so it acknowledges once."""
    expires: datetime


def link_key(data_dir: Path, create: bool = False) -> bytes:
    """The data folder's link key; ``create`` (the engine) makes it when missing."""
    path = data_dir / KEY_FILE
    if not path.exists():
        if not create:
            raise BadLink("link.no_key")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another engine process made it first
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(os.urandom(32))
    return path.read_bytes()


def key_for(settings: Settings, create: bool = False) -> bytes:
    """The configured key, or the data folder's (``create``: the engine makes it)."""
    if settings.link_key is not None:
        return base64.b64decode(settings.link_key.get_secret_value())
    return link_key(settings.data_dir, create)


def link_id(page_key: str) -> str:
    """A page's link id, from its business key: the same for every try of one page."""
    return hashlib.sha256(page_key.encode()).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, reference: str, deadline: str, page_key: str, now: datetime) -> str:
    expires = int((now + LINK_LIFETIME).timestamp())
    payload = json.dumps(
        {"r": reference, "d": deadline, "l": link_id(page_key), "e": expires},
        separators=(",", ":"),
    ).encode()
    signature = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def verify(key: bytes, token: str, now: datetime) -> AckLink:
    """The link's content, once its signature and expiry are checked; ``BadLink`` else."""
    try:
        encoded, signature = token.split(".")
        payload = _unb64(encoded)
        given = _unb64(signature)
    except ValueError:
        raise BadLink("link.not_a_link") from None
    if not hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest(), given):
        raise BadLink("link.invalid")
    content = json.loads(payload)
    expires = datetime.fromtimestamp(int(content["e"]), UTC)
    if now >= expires:
        raise BadLink("link.expired")
    return AckLink(
        reference=str(content["r"]),
        deadline=str(content["d"]),
        link=str(content["l"]),
        expires=expires,
    )
