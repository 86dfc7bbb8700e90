"""Delivery reports from the SMS gateway: taken only from the gateway, each counted once.

A report is taken when it comes from one of the gateway's addresses and its link's
signature holds for its key (``runtime.gateway``); it then moves the key's delivery
status forward at most once (``DeliveryStore.report``), so a report that arrives twice,
or after a later one, changes nothing again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from breachclock.runtime.config import Settings
from breachclock.runtime.gateway import KANNEL_DLR, signed
from breachclock.runtime.store import open_delivery_store
from breachclock.runtime.store.deliveries import DeliveryStore
from breachclock.service.engine import Refused


class DeliveryReports:
    def __init__(self, store: DeliveryStore, secret: bytes | None, allowed: Sequence[str]):
        self.store = store
        self.secret = secret
        self.allowed = frozenset(allowed)

    @classmethod
    def of(cls, settings: Settings) -> DeliveryReports:
        secret = settings.sms_dlr_secret
        return cls(
            open_delivery_store(settings),
            secret.get_secret_value().encode() if secret else None,
            settings.sms_dlr_allow,
        )

    async def take(self, sender: str | None, key: str, sig: str, kind: int, at: datetime) -> bool:
        """Record one report; True when it changed the key's status. ``sender`` is the
        address the report came from."""
        if self.secret is None or sender not in self.allowed:
            raise Refused.of("gateway.not_allowed")
        if not signed(self.secret, key, sig):
            raise Refused.of("gateway.bad_signature", "sig")
        status = KANNEL_DLR.get(kind)
        if status is None:
            raise Refused.of("gateway.unknown_report", "type", type=kind)
        return await self.store.report(key, status, at)

    async def close(self) -> None:
        await self.store.close()
