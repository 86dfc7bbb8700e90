"""Deleting people's personal data once an incident's retention has passed.

The campaign's store holds every affected person's name, number and address, and
every attempt to reach them, for as long as the campaign needs them; the register
keeps the incident itself (its counts, decisions and filings) for good. Once an
incident has been closed for ``BREACHCLOCK_RETENTION_DAYS``, this deletes what the
store holds of its people, the copies of its filings as sent, staged pages nobody
loaded, and the local outbox's copies of mails: idempotent, so a retried or repeated run changes nothing more.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import structlog
from temporalio import activity

from activities.api import PURGE_EXPIRED, Purge, Purged
from breachclock.runtime.store.people import NotifyStore
from breachclock.runtime.store.records import RecordStore

log = structlog.get_logger(__name__)

STAGED_FOR = timedelta(days=1)
"""A staged page not loaded within this was left by a client that gave up."""


class RetentionActivities:
    def __init__(
        self, records: RecordStore, people: NotifyStore, retention: timedelta, outbox: Path | None
    ) -> None:
        self.records = records
        self.people = people
        self.retention = retention
        self.outbox = outbox

    @activity.defn(name=PURGE_EXPIRED)
    async def purge_expired(self, request: Purge) -> Purged:
        expired = await self.records.closed_before(request.now - self.retention)
        for reference in expired:
            await self.people.purge(reference)
            await self.records.forget_copies(reference)
            await self.records.mark_purged(reference, request.now)
            log.info("retention.purged", reference=reference)
        staged = await self.people.drop_staged(request.now - STAGED_FOR)
        return Purged(incidents=expired, staged_pages=staged, outbox_mails=self._old_mails())

    def _old_mails(self) -> int:
        """The local outbox (the embedded stand-in for a relay) keeps every mail it took;
        those older than the retention go."""
        if self.outbox is None or not self.outbox.is_dir():
            return 0
        cutoff = time.time() - self.retention.total_seconds()
        old = [p for p in self.outbox.glob("*.eml") if p.stat().st_mtime < cutoff]
        for path in old:
            path.unlink(missing_ok=True)
        return len(old)
