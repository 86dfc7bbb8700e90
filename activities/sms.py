"""The SMS channel's send: one message per business key through Kannel's ``sendsms``.

Kannel does not de-duplicate, so a message's key is written to the send ledger
(``RecordStore.record_sent``, the ledger e-mail uses) *before* the request, in one
statement that only the first attempt wins. A retry after a timeout, when the gateway
may well have taken the message, finds the key and sends nothing: at most once per
person and step. What became of the message is then the delivery reports' to say
(``DeliveryStore``); a message whose gateway never answered stays ``accepted`` until
a report comes or it expires, and the plan moves on to the next channel. A request
the gateway refused outright (a 4xx/5xx answer) is ``failed`` at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog
from pydantic import BaseModel, SecretStr

from activities.mailer import message_id
from breachclock.domain.notify.notice import IncidentNotice, Operator, language_for
from breachclock.domain.notify.plan import Delivery
from breachclock.domain.notify.sms import MAX_PARTS, Coding, SmsNotice, render, size
from breachclock.domain.notify.subscribers import Language, Subscriber
from breachclock.runtime.config import Settings
from breachclock.runtime.gateway import DLR_MASK, dlr_url
from breachclock.runtime.store.deliveries import DeliveryStore
from breachclock.runtime.store.records import RecordStore

if TYPE_CHECKING:
    # aiohttp is imported where a request is made: an engine without a gateway, and
    # every CLI call, never needs it (~0.1 s of CPU per process).
    import aiohttp

log = structlog.get_logger(__name__)

CONNECTIONS = 128
"""Requests in flight to the gateway at once, from all of a worker's rounds. With 64,
all were busy and as many requests again waited for one (sampled every 50 ms): each
answer waits for the worker's loop, busy with the rounds, before its connection takes
the next. 128 took 1,427 to 1,497 texts a second against 1,311 to 1,364 with 64
(30,000 people, alternating, load 3-4, 7 December 2026). Kannel's
``max-pending-requests`` bounds smsbox's own requests to applications, not these."""
KANNEL_CODING = {Coding.GSM: "0", Coding.UCS2: "2"}
"""Kannel's ``coding``: 0 the GSM 7-bit alphabet, 2 UCS-2 (text given in UTF-8)."""


class KannelGateway(BaseModel):
    url: str
    username: str
    password: SecretStr
    dlr_url: str
    dlr_secret: SecretStr
    timeout: float = 10.0
    """Seconds to wait for the gateway's answer; past it the message may have gone."""

    @classmethod
    def of(cls, settings: Settings) -> KannelGateway | None:
        """The configured gateway, or None when the SMS channel is not set up."""
        if not (
            settings.sms_url
            and settings.sms_password
            and settings.sms_dlr_url
            and settings.sms_dlr_secret
        ):
            return None
        return cls(
            url=settings.sms_url,
            username=settings.sms_username,
            password=settings.sms_password,
            dlr_url=settings.sms_dlr_url,
            dlr_secret=settings.sms_dlr_secret,
        )


class SmsReceipt(BaseModel):
    key: str
    status: Delivery
    duplicate: bool = False
    """The key was sent before: nothing was sent now."""
    parts: int


class SmsTooLong(ValueError):
    """A text over ``MAX_PARTS`` parts reached the send: approval should have refused it."""


class SmsSender:
    """Sends through one gateway with one HTTP session (``async with`` it)."""

    def __init__(self, gateway: KannelGateway, ledger: RecordStore, deliveries: DeliveryStore):
        self.gateway = gateway
        self.ledger = ledger
        self.deliveries = deliveries
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SmsSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    def _http(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.gateway.timeout),
                connector=aiohttp.TCPConnector(limit=CONNECTIONS),
            )
        return self._session

    async def send_once(self, key: str, to: str, sender: str, text: str) -> SmsReceipt:
        measured = size(text)
        if measured.parts > MAX_PARTS:
            raise SmsTooLong(f"{key}: {measured.parts} parts")
        now = datetime.now(UTC)
        detail = {"channel": "sms", "parts": measured.parts, "coding": measured.coding.value}
        if not await self.ledger.record_sent(key, message_id(key), now, detail):
            log.info("sms.already_sent", key=key)
            known = await self.deliveries.status(key)
            if known is None:
                # The sender died between the ledger and the gateway: whether the message
                # went is unknown, so it is never sent again; a report, or the expiry
                # that starts now, decides.
                await self.deliveries.handed(key, now)
            status = known[0] if known else Delivery.ACCEPTED
            return SmsReceipt(key=key, status=status, duplicate=True, parts=measured.parts)
        await self.deliveries.handed(key, now)
        status = await self._request(key, to, sender, text, measured.coding)
        if status is Delivery.FAILED:
            await self.deliveries.report(key, Delivery.FAILED, datetime.now(UTC))
        return SmsReceipt(key=key, status=status, parts=measured.parts)

    async def _request(self, key: str, to: str, sender: str, text: str, coding: Coding) -> Delivery:
        import aiohttp

        gateway = self.gateway
        # sendsms takes its fields in the query (Kannel's user guide, "Kannel POST"
        # needs X-Kannel headers instead); the gateway is on loopback or behind TLS.
        form = {
            "username": gateway.username,
            "password": gateway.password.get_secret_value(),
            "from": sender,
            "to": to,
            "text": text,
            "charset": "UTF-8",
            "coding": KANNEL_CODING[coding],
            "dlr-mask": str(DLR_MASK),
            "dlr-url": dlr_url(
                gateway.dlr_url, gateway.dlr_secret.get_secret_value().encode(), key
            ),
        }
        try:
            async with self._http().get(gateway.url, params=form) as answer:
                await answer.read()
                if answer.status in (200, 202):
                    log.info("sms.accepted", key=key)
                    return Delivery.ACCEPTED
                log.warning("sms.refused", key=key, status=answer.status)
                return Delivery.FAILED
        except aiohttp.ClientConnectorError:
            # No connection was made: the gateway cannot have the message.
            log.warning("sms.gateway_unreachable", key=key)
            return Delivery.FAILED
        except (TimeoutError, aiohttp.ClientError):
            # The request went out; whether the gateway took it is unknown. Never again:
            # a report, or the expiry, decides.
            log.warning("sms.gateway_silent", key=key)
            return Delivery.ACCEPTED


class SmsChannel:
    """The SMS step of a plan (``plan_runner.Channel``): the operator's SMS in the
    person's language, to the number on file, once per key."""

    at_once = CONNECTIONS

    def __init__(
        self, sender: SmsSender, sms: SmsNotice, incident: IncidentNotice, operator: Operator
    ) -> None:
        self.sender = sender
        self.sms = sms
        self.incident = incident
        self.operator = operator
        self._texts: dict[Language, str] = {}

    def text(self, language: Language) -> str:
        if language not in self._texts:
            self._texts[language] = render(self.sms, self.incident, self.operator, language)
        return self._texts[language]

    async def send(self, key: str, person: Subscriber) -> Delivery:
        if person.phone is None:
            return Delivery.FAILED
        text = self.text(language_for(person, self.incident.regime))
        return (await self.sender.send_once(key, person.phone, self.sms.sender, text)).status

    async def statuses(self, keys: Sequence[str]) -> dict[str, Delivery]:
        return await self.sender.deliveries.statuses(keys)
