"""The engine's stores, on one persistence layer (``db``): the send ledger and register
(``records``), the campaign's people (``people``), and what became of each SMS
(``deliveries``).

Both live in the data folder as SQLite files (one machine), or in the one PostgreSQL
database ``BREACHCLOCK_STORE_URL`` names, which every worker and client shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from breachclock.runtime.store import accounts, deliveries, people, readmodel, records
from breachclock.runtime.store.accounts import AccountStore
from breachclock.runtime.store.db import connect
from breachclock.runtime.store.deliveries import DeliveryStore
from breachclock.runtime.store.people import NotifyStore
from breachclock.runtime.store.readmodel import ReadModel
from breachclock.runtime.store.records import KeyAnchor, RecordStore

if TYPE_CHECKING:
    from breachclock.runtime.config import Settings


STORE_FILE = "breachclock.db"
"""The ledger, register and accounts in the data folder, where no PostgreSQL is set."""


def _url(settings: Settings) -> str | None:
    return settings.store_url.get_secret_value() if settings.store_url else None


def open_store(settings: Settings) -> RecordStore:
    """The ledger and register: ``breachclock.db`` in the data folder, or PostgreSQL."""
    db = connect(_url(settings), settings.data_dir / STORE_FILE, records.SCHEMA)
    return RecordStore(db, settings.sealer())


def open_key_anchor(settings: Settings) -> KeyAnchor:
    """The record of which codec key the ledger's data is sealed with, in its database."""
    return KeyAnchor(connect(_url(settings), settings.data_dir / STORE_FILE, records.SCHEMA))


def open_notify_store(settings: Settings) -> NotifyStore:
    """The campaign's people: ``notify.db`` beside the ledger (its own file, so a
    campaign's writes never hold up a filing's), or the same PostgreSQL."""
    db = connect(_url(settings), settings.data_dir / "notify.db", people.SCHEMA)
    return NotifyStore(db, settings.sealer())


def open_account_store(settings: Settings) -> AccountStore:
    """The console's accounts, sessions, tokens and audit log: beside the ledger in
    ``breachclock.db`` (a schema of their own), or the same PostgreSQL."""
    return AccountStore(connect(_url(settings), settings.data_dir / STORE_FILE, accounts.SCHEMA))


def open_read_model(settings: Settings) -> ReadModel:
    """The pages' read model: ``readmodel.db`` beside the ledger (its own file, so the
    projection after every change never holds up a filing's record), or the same
    PostgreSQL."""
    db = connect(_url(settings), settings.data_dir / "readmodel.db", readmodel.SCHEMA)
    return ReadModel(db, settings.sealer())


def open_delivery_store(settings: Settings) -> DeliveryStore:
    """What became of each SMS: beside the campaign's people in ``notify.db`` (a schema
    of its own; delivery reports arrive at the campaign's pace), or the same PostgreSQL."""
    return DeliveryStore(
        connect(_url(settings), settings.data_dir / "notify.db", deliveries.SCHEMA)
    )


__all__ = [
    "STORE_FILE",
    "AccountStore",
    "DeliveryStore",
    "KeyAnchor",
    "NotifyStore",
    "ReadModel",
    "RecordStore",
    "open_account_store",
    "open_delivery_store",
    "open_key_anchor",
    "open_notify_store",
    "open_read_model",
    "open_store",
]
