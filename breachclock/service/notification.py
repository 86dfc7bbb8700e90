"""Telling subscribers: the assessment, the affected list, the notice, the decision or
a regulator's order, and following the campaign, person by person.

Loading the list: each page is staged in the store, then taken on by the incident.
A page's people never travel in the workflow's history: the client seals them into
the store under a key made from the page's content, and the ``add_subscribers``
update names that key. The same page loaded again (the same file, a re-run) has the
same key, which the incident has seen: nobody is added twice, however often or from
wherever the list is loaded.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from activities.plan_runner import contacts
from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.model import NoticeOrder
from breachclock.domain.notify.assessment import Assessment, Decision, Recommendation
from breachclock.domain.notify.delivery import Awaiting, Status, awaiting, reason_words
from breachclock.domain.notify.notice import IncidentNotice
from breachclock.domain.notify.plan import awaiting_on, walked_plan
from breachclock.domain.notify.subscribers import (
    DEFAULT_REGION,
    ListRead,
    Rejected,
    Subscriber,
    SubscriberFileError,
    pages,
    parse,
)
from breachclock.domain.regimes import regime
from breachclock.runtime import offload
from breachclock.runtime.files import MAX_LIST_BYTES, text_lines
from breachclock.runtime.store.people import Attempt, NotifyStore, Recipient
from breachclock.service.engine import Engine, Refused, refusal_problems
from workflows.incident import IncidentWorkflow
from workflows.messages import MAX_LOAD_PAGE, Answer, LoadResult, SubscriberLoad

PAGE = TypeAdapter(list[Subscriber])


class LoadSummary(BaseModel):
    added: int = 0
    repeated: int = 0
    people: int = 0
    """On the list now."""
    changed: list[str] = []
    skipped: list[Rejected] = []


IN_PROCESS_FROM = 256 * 1024
"""A list larger than this (bytes) is read in the CPU worker process (``offload``), not on
the event loop the engine's timers and pages share; a smaller one is quicker read here
than handed over."""


def size_of(path: Path) -> int:
    """The file's size; 0 for what has none to tell (a FIFO, a file gone: reading says why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


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


PAGES_IN_FLIGHT = 2
"""Pages handed to the incident at once. The incident takes them on one at a time
(their sequence numbers follow each other), so the second page only waits there; but
it is staged and its update delivered while the store takes on the first, and the
activity that takes it on starts in the same workflow task that finishes the first.
One page at a time, each page's round trip from here to the incident and back came on
top of the store's work: 16,800 people a second against 31,000 for the store alone."""


async def load_list(
    handle: WorkflowHandle[Any, Any],
    store: NotifyStore,
    reference: str,
    source: str,
    people: Sequence[Subscriber],
    skipped: Sequence[Rejected] = (),
) -> LoadSummary:
    """Stage and load ``people`` page by page, ``PAGES_IN_FLIGHT`` at once; the skipped
    rows go with the first page. A page that fails stops the load: the pages after it
    are not handed over, and one already handed over is taken on or not as a whole (a
    later load of the same list finds it by its key)."""
    summary = LoadSummary(skipped=list(skipped))

    async def hand_over(first: bool, page: Sequence[Subscriber]) -> LoadResult:
        key = page_key(reference, page)
        await store.stage(reference, key, page, datetime.now(UTC))
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
        return result

    def taken(result: LoadResult) -> None:
        summary.added += result.added
        summary.repeated += result.repeated
        summary.people = max(summary.people, result.people)
        summary.changed += result.changed

    handed: deque[asyncio.Task[LoadResult]] = deque()
    try:
        for number, page in enumerate(pages(people, MAX_LOAD_PAGE) or [[]]):
            if len(handed) == PAGES_IN_FLIGHT:
                taken(await handed.popleft())
            handed.append(asyncio.create_task(hand_over(number == 0, page)))
        while handed:
            taken(await handed.popleft())
    finally:
        for task in handed:
            task.cancel()
        await asyncio.gather(*handed, return_exceptions=True)
    return summary


async def assess(engine: Engine, reference: str, assessment: Assessment) -> Recommendation:
    result: Recommendation = await engine.update(reference, IncidentWorkflow.assess, assessment)
    return result


async def load(
    engine: Engine,
    reference: str,
    path: Path,
    skip_invalid: bool = False,
    delimiter: str | None = None,
) -> tuple[ListRead, LoadSummary]:
    """Read the affected list from ``path`` and load it into the incident."""
    state = await engine.state(reference)
    region = regime(state.regime).phone_region
    try:
        if await offload.in_thread(size_of, path) > IN_PROCESS_FROM:  # seconds of CPU
            read = await offload.in_process(read_list, path, skip_invalid, region, delimiter)
        else:
            read = read_list(path, skip_invalid, region, delimiter)
    except SubscriberFileError as err:
        raise Refused(*err.problems) from err
    handle = await engine.handle(reference)
    try:
        async with engine.people() as store:
            summary = await load_list(
                handle, store, reference, path.name, read.subscribers, read.rejected
            )
    except WorkflowUpdateFailedError as err:
        raise Refused(*refusal_problems(err)) from err
    return read, summary


async def set_notice(engine: Engine, reference: str, passages: dict[str, Any]) -> Answer:
    """The notice the subscribers get, for this incident (its reference and regime)."""
    state = await engine.state(reference)
    notice = engine.parse(
        IncidentNotice, **{**passages, "reference": reference, "regime": state.regime}
    )
    answer: Answer = await engine.update(reference, IncidentWorkflow.set_notice, notice)
    return answer


async def decide(engine: Engine, reference: str, **decision: Any) -> Answer:
    """The decision to notify or not. The assessment is asked for first: the decision is
    weighed against it, whatever else the decision lacks."""
    state = await engine.state(reference)
    if state.notification.assessment is None and state.closure is None:
        raise Refused.of("decide.assess_first")
    answer: Answer = await engine.update(
        reference, IncidentWorkflow.decide_notice, engine.parse(Decision, **decision)
    )
    return answer


async def order(engine: Engine, reference: str, request: NoticeOrder) -> Answer:
    answer: Answer = await engine.update(reference, IncidentWorkflow.order_notice, request)
    return answer


class PersonView(BaseModel):
    person: Recipient
    attempts: list[Attempt]
    awaiting: Awaiting | None = None
    """While they are still to be told: what comes next, when, and why not sooner."""
    zone: str
    """The incident's operator zone, for showing the times."""


async def person(engine: Engine, reference: str, subscriber_id: str) -> PersonView:
    """One person's progress, every attempt to reach them, and what they wait for."""
    state = await engine.state(reference)
    async with engine.people() as store:
        found = await store.person(reference, subscriber_id)
        attempts = await store.attempts(reference, subscriber_id)
    if found is None:
        raise Refused.of("person.unknown", subscriber=subscriber_id, reference=reference)
    waiting = None
    if found.status is Status.PENDING and state.notification.running is not None:
        decision = state.notification.decision
        chosen = decision.plan if decision is not None else None
        now, zone = datetime.now(UTC), found.person.time_zone
        plan = walked_plan(state.regime, chosen, state.policy.notify_plan)
        # Here, not at import: activities.walk brings the channels (aiohttp, SMTP), which
        # every CLI call, a process of its own, would otherwise load for nothing.
        from activities.walk import on_path

        waiting = (
            awaiting(found.progress(), state.policy.notify_plan, now, zone, found.email_failures)
            if plan is None
            else awaiting_on(plan, contacts(found.person), on_path(plan, attempts), now, zone)
        )
    return PersonView(
        person=found, attempts=attempts, awaiting=waiting, zone=state.policy.operator_zone
    )


async def unreachable(engine: Engine, reference: str, voice: Voice) -> list[Recipient]:
    """The people to be told by letter, with why in ``voice``'s language."""
    async with engine.people() as store:
        found = await store.unreachable(reference)
    return [r.model_copy(update={"reason": reason_words(r.reason, voice)}) for r in found]
