"""What the engine and an SMS gateway (Kannel) agree on: the delivery report's link and
what Kannel's report codes mean.

Kannel posts a delivery report (DLR) by calling the ``dlr-url`` given with each message,
its ``%d`` replaced by the report's type: 1 delivered to the phone, 2 not delivered,
4 queued at the SMSC, 8 accepted by the SMSC, 16 rejected by the SMSC (Kannel's user
guide, "Delivery reports"). The link carries the message's business key and an
HMAC-SHA256 signature of it under a secret only the engine and the gateway's
configuration hold, so a report for a key is taken only from whoever was given that
link; the endpoint also takes reports only from the gateway's addresses.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from breachclock.domain.notify.plan import Delivery

KANNEL_DLR = {
    1: Delivery.DELIVERED,
    2: Delivery.FAILED,
    4: Delivery.ACCEPTED,
    8: Delivery.ACCEPTED,
    16: Delivery.FAILED,
}
DLR_MASK = 1 | 2 | 16
"""The reports asked for: delivered, not delivered, and refused by the SMSC. Not 8 (taken
by the SMSC): the engine records a message as accepted when smsbox takes it, so that
report changed nothing and doubled the reports the console answers (one per part)."""


def signature(secret: bytes, key: str) -> str:
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def signed(secret: bytes, key: str, sig: str) -> bool:
    return hmac.compare_digest(signature(secret, key), sig)


def dlr_url(base: str, secret: bytes, key: str) -> str:
    """The link Kannel calls for ``key``'s reports (``%d`` is the report's type)."""
    query = urlencode({"key": key, "sig": signature(secret, key)})
    return f"{base}?{query}&type=%d"
