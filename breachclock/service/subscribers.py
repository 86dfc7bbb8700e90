"""Loading the affected list: each page staged in the store, then taken on by the incident.

A page's people never travel in the workflow's history: the client seals them into
the store under a key made from the page's content, and the ``add_subscribers``
update names that key. The same page loaded again (the same file, a re-run) has the
same key, which the incident has seen: nobody is added twice, however often or from
wherever the list is loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter
from temporalio.client import WorkflowHandle

from breachclock.domain.notify.subscribers import (
    DEFAULT_REGION,
    ListRead,
    Rejected,
    Subscriber,
    pages,
    parse,
)
from breachclock.runtime.files import MAX_LIST_BYTES, text_lines
from breachclock.runtime.store.people import NotifyStore
from workflows.incident import IncidentWorkflow
from workflows.messages import MAX_LOAD_PAGE, LoadResult, SubscriberLoad

PAGE = TypeAdapter(list[Subscriber])


class LoadSummary(BaseModel):
    added: int = 0
    repeated: int = 0
    people: int = 0
    """On the list now."""
    changed: list[str] = []
    skipped: list[Rejected] = []


def read_list(
    path: Path,
    skip_invalid: bool = False,
    region: str = DEFAULT_REGION,
    delimiter: str | None = None,
) -> ListRead:
    """The affected list in a CSV or JSONL export at ``path``: read safely (a regular
    file within ``MAX_LIST_BYTES``, UTF-8), checked row by row (``subscribers.parse``)."""
    return parse(path.name, text_lines(path, MAX_LIST_BYTES), skip_invalid, region, delimiter)


def page_key(reference: str, people: Sequence[Subscriber]) -> str:
    """A page's key: its content's, so the same page always has the same one."""
    digest = hashlib.sha256(reference.encode() + b"\0" + PAGE.dump_json(list(people)))
    return digest.hexdigest()[:32]


async def load_list(
    handle: WorkflowHandle[Any, Any],
    store: NotifyStore,
    reference: str,
    source: str,
    people: Sequence[Subscriber],
    skipped: Sequence[Rejected] = (),
) -> LoadSummary:
    """Stage and load ``people`` page by page; the skipped rows go with the first page."""
    summary = LoadSummary(skipped=list(skipped))
    for number, page in enumerate(pages(people, MAX_LOAD_PAGE) or [[]]):
        key = page_key(reference, page)
        await store.stage(reference, key, page, datetime.now(UTC))
        first = number == 0
        result: LoadResult = await handle.execute_update(
            IncidentWorkflow.add_subscribers,
            SubscriberLoad(
                source=source,
                page_key=key,
                count=len(page),
                languages=sorted({p.language for p in page}, key=lambda lang: lang or ""),
                items=sorted({item for p in page for item in p.affected_items}),
                skipped=list(skipped[:MAX_LOAD_PAGE]) if first else [],
                skipped_total=len(skipped) if first else 0,
            ),
        )
        summary.added += result.added
        summary.repeated += result.repeated
        summary.people = result.people
        summary.changed += result.changed
    return summary
