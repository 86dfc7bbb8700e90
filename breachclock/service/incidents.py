"""The incident's reporting: opening it, awareness, facts, events, filings, closing.

Each function is one thing a person does, through the workflow's validated updates;
the CLI and the HTTP API call the same ones, so nothing reaches an incident by a
path that skips a check.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from breachclock.domain.ids import workflow_id
from breachclock.domain.incident import checks, language_check, lifecycle
from breachclock.domain.incident.language_check import Finding
from breachclock.domain.incident.model import (
    Acknowledge,
    Approve,
    Close,
    Discover,
    Facts,
    FactsPatch,
    IncidentState,
    Justify,
    OpenIncident,
    OpenSecurityReport,
    Policy,
    RecordReceipt,
    Snooze,
    TimelineInput,
)
from breachclock.domain.incident.report import ReportDraft, build_draft
from breachclock.domain.instants import far_ahead_problem, zone
from breachclock.domain.notify.delivery import Counts
from breachclock.domain.problems import Problem
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime.language import languages_of
from breachclock.runtime.links import AckLink, BadLink, key_for, verify
from breachclock.runtime.offload import off_loop
from breachclock.runtime.receipts import RECEIPT_LIMIT, NotAReceipt, keep_receipt
from breachclock.service.engine import Engine, Invalid, Refused
from breachclock.service.readmodel import page_of
from breachclock.service.register import TITLE
from workflows.incident import IncidentWorkflow
from workflows.messages import Answer, ApproveResult, Discovered, IncidentStart

READABLE_WAIT = timedelta(seconds=10)
"""How long ``open`` waits for the engine to read the incident it was sent."""


def not_ahead(instant: datetime | None, field: str) -> None:
    """An early check: a time more than a year ahead is a typo in the year."""
    found = far_ahead_problem(instant, datetime.now(UTC), field)
    if found is not None:
        raise Refused(found)


async def open_incident(
    engine: Engine, opening: OpenIncident, policy: Policy | None = None
) -> None:
    """Start the incident's workflow, and make sure the engine can read it: a client
    whose codec key is not the engine's would otherwise leave a workflow nobody can
    open, under a reference nobody can use again. ``policy``: one of the incident's own
    (a demo's, whose mail goes nowhere real); None: the engine's."""
    client = await engine.client()
    try:
        handle = await client.start_workflow(
            IncidentWorkflow.run,
            IncidentStart(opening=opening, policy=policy),
            id=workflow_id(opening.reference),
            task_queue=engine.settings.task_queue,
            memo={TITLE: opening.title},  # sealed by the codec like the input
            # A reference names one incident: a closed one's (completed) is not started
            # again; one the engine could not read (terminated, below) may be.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError as err:
        raise Refused.of("incident.exists", "reference", reference=opening.reference) from err
    if await _unreadable(handle):
        await handle.terminate("the engine could not read what the client sent")
        raise Refused.of(
            "codec.engine_cannot_read",
            reference=opening.reference,
            key_file=str(engine.settings.key_file),
        )


async def _unreadable(handle: WorkflowHandle[IncidentWorkflow, IncidentState]) -> bool:
    """Whether the engine failed to decrypt the workflow's input (its task fails with a
    ``CodecKeyError``); False once it answers, or if no worker took it up in time (the
    incident then waits for the engine, as any would)."""
    deadline = asyncio.get_running_loop().time() + READABLE_WAIT.total_seconds()
    while asyncio.get_running_loop().time() < deadline:
        try:
            await handle.query(IncidentWorkflow.status, rpc_timeout=timedelta(seconds=2))
            return False
        except (RPCError, WorkflowQueryFailedError):
            pass
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                failure: Failure | None = event.workflow_task_failed_event_attributes.failure
                while failure is not None:  # "Failed decoding arguments", caused by it
                    if failure.application_failure_info.type == "CodecKeyError":
                        return True
                    failure = failure.cause if failure.HasField("cause") else None
        await asyncio.sleep(0.3)
    return False


async def discover(engine: Engine, reference: str, discovery: Discover) -> Discovered:
    not_ahead(discovery.at, "at")
    found: Discovered = await engine.update(reference, IncidentWorkflow.discover, discovery)
    return found


async def record_facts(engine: Engine, reference: str, patch: FactsPatch) -> list[str]:
    """The facts recorded; answers with what a complete report still lacks."""
    missing: list[str] = await engine.update(reference, IncidentWorkflow.record_facts, patch)
    return missing


async def add_event(engine: Engine, reference: str, event: TimelineInput) -> Answer:
    not_ahead(event.at, "at")
    answer: Answer = await engine.update(reference, IncidentWorkflow.add_event, event)
    return answer


async def approve(
    engine: Engine,
    reference: str,
    by: str,
    filing: str,
    late_reason: str | None = None,
    track: RegimeCode | None = None,
    other_language_ok: bool = False,
) -> ApproveResult:
    """File the named filing now; approving the same filing again files nothing. The
    approval carries the facts version it was given on, so newer facts may be filed
    again (a further partial report, a correction).

    Free text in another language than the filing's is refused, field by field, unless
    the approver says ``other_language_ok``: then the approval names those facts, and
    the incident records them (its timeline, the filing)."""
    state = await engine.state(reference)
    if track is None:  # a stage only one regulator has (early_warning) names its track
        track = lifecycle.track_of_stage(state, filing)
    approval = engine.parse(
        Approve,
        by=by,
        filing=filing,
        facts_version=state.facts_version,
        late_reason=late_reason,
        track=track,
    )
    if files_now(state, approval):  # else the engine refuses it, or answers with its filing
        language = lifecycle.filing_language(state, track or state.regime)
        warnings = await other_language(state.facts, language, late_reason)
        if warnings and not other_language_ok:
            raise Invalid(*warnings)
        fields = language_check.overridden(warnings) or None
        approval = approval.model_copy(update={"language_override": fields})
    result: ApproveResult = await engine.update(reference, IncidentWorkflow.approve, approval)
    return result


def files_now(state: IncidentState, approval: Approve) -> bool:
    """``approval`` would make its filing (the engine would neither refuse it nor answer
    with the filing it made already)."""
    if checks.approval_problem(state, approval, datetime.now(UTC)) is not None:
        return False
    track = state.track(approval.track)
    assert track is not None and approval.filing is not None
    index = state.tracks.index(track)
    return lifecycle.filing_for(state, index, approval.filing, approval.facts_version) is None


async def other_language(
    facts: Facts, language: str, late_reason: str | None = None
) -> list[Problem]:
    """A warning for each free text of ``facts`` (and of ``late_reason``, typed with the
    approval) in another language than ``language``. The detection holds the GIL: it
    runs off the event loop (``off_loop``)."""
    texts = language_check.free_texts(facts, late_reason)
    if not texts:
        return []
    found = await off_loop(languages_of, [text for _, text in texts])
    findings = (Finding(f, t, lang) for (f, t), lang in zip(texts, found, strict=True))
    return language_check.foreign(findings, language)


async def justify(engine: Engine, reference: str, justification: Justify) -> Answer:
    answer: Answer = await engine.update(reference, IncidentWorkflow.justify, justification)
    return answer


async def record_receipt(
    engine: Engine, reference: str, request: RecordReceipt, pdf: bytes | None = None
) -> Answer:
    """A filing made on the authority's portal: its receipt, and the receipt's PDF kept
    (its digest goes with the record)."""
    if pdf is not None:
        try:
            digest = keep_receipt(engine.settings.data_dir, reference, request.filing, pdf)
        except NotAReceipt:
            raise Refused.of("portal.not_a_receipt", "pdf", limit=RECEIPT_LIMIT) from None
        request = request.model_copy(update={"pdf_sha256": digest})
    answer: Answer = await engine.update(reference, IncidentWorkflow.record_receipt, request)
    return answer


async def open_security_report(
    engine: Engine, reference: str, request: OpenSecurityReport
) -> Answer:
    not_ahead(request.aware_at, "aware_at")
    answer: Answer = await engine.update(reference, IncidentWorkflow.open_security_report, request)
    return answer


async def acknowledge(
    engine: Engine,
    reference: str,
    by: str,
    deadline: str | None = None,
    track: RegimeCode | None = None,
    token: str | None = None,
) -> Answer:
    """Someone owns a page: its deadline's later pages reach no further (the deadline and
    its automatic filing stand). With ``token`` (a page e-mail's link, for the console's
    ``/ack/{token}``): the link's incident and deadline, once, before it expires."""
    link = None
    if token is not None:
        found = _checked(engine, token)
        if found.reference != reference:
            raise Refused.of("link.other_incident", given=found.reference, reference=reference)
        deadline, link = found.deadline, found.link
    request = engine.parse(Acknowledge, by=by, deadline=deadline, track=track, link=link)
    answer: Answer = await engine.update(reference, IncidentWorkflow.acknowledge, request)
    return answer


def verify_ack_link(engine: Engine, token: str) -> tuple[str, str]:
    """A page e-mail's acknowledgement link checked (signature, expiry): its incident's
    reference and the deadline it acknowledges, for the console to show before the person
    confirms. Refused when it is not valid."""
    found = _checked(engine, token)
    return found.reference, found.deadline


def _checked(engine: Engine, token: str) -> AckLink:
    try:
        return verify(key_for(engine.settings), token, datetime.now(UTC))
    except BadLink as err:
        raise Refused.of(err.code) from err


async def snooze(engine: Engine, reference: str, by: str, minutes: int) -> Answer:
    """Hold reminder and lead pages for 30, 60 or 120 minutes (never a filing or a deadline)."""
    request = engine.parse(Snooze, by=by, minutes=minutes)
    # Not repeatable: the same snooze an hour later is a new one.
    answer: Answer = await engine.update(
        reference, IncidentWorkflow.snooze, request, repeatable=False
    )
    return answer


async def close(engine: Engine, reference: str, request: Close) -> Answer:
    answer: Answer = await engine.update(reference, IncidentWorkflow.close, request)
    return answer


class Standing(BaseModel):
    """An incident as it stands, and its running campaigns' counts as recorded now."""

    state: IncidentState
    """All but the timeline, of which the latest entries (``page_state``)."""
    timeline_total: int
    """How many entries the timeline has in all."""
    live: dict[int, Counts]
    next_due: datetime | None = None
    """The earliest instant a person of a running campaign is next tried."""
    calls_held: int = 0
    calls_waiting: int = 0
    """The agents' calls not yet recorded: held by an agent, and waiting for one."""


async def standing(engine: Engine, reference: str) -> Standing:
    """The incident's page: its state from the read model (no Temporal query), with the
    live counts of a running campaign from the people's store."""
    page = await page_of(engine, reference)
    state = page.state
    running = [w for w in state.notification.waves if w.finished_at is None]
    if not running:
        return Standing(state=state, timeline_total=page.timeline_total, live={})
    async with engine.people() as store:
        live = {w.number: await store.counts(reference, w.first, w.end) for w in running}
        due = [await store.next_due(reference, w.first, w.end) for w in running]
        held, waiting = await store.calls_out(reference, datetime.now(UTC))
    return Standing(
        state=state,
        timeline_total=page.timeline_total,
        live=live,
        next_due=min((d for d in due if d), default=None),
        calls_held=held,
        calls_waiting=waiting,
    )


async def draft(engine: Engine, reference: str, track: RegimeCode | None = None) -> ReportDraft:
    """The report that would be filed now (the next pending one), as the regulator would
    get it; late reasons as the filing would carry them."""
    state = await engine.state(reference)
    wanted = state.track(track)
    if wanted is None:
        if state.discovery is None:
            raise Refused.of("report.before_discovery")
        raise Refused.of("track.not_open", "track", regime=track or state.regime)
    index = state.tracks.index(wanted)
    now = datetime.now(UTC)
    prepared = wanted.prepared
    if prepared is not None:  # to be filed on the portal by a person: what to file, as of now
        portal = lifecycle.FileReport(index, prepared.kind, prepared.stage, prepared.due_at)
        return build_draft(state, portal, prepared.number, now, prepared.late_reason)
    step = lifecycle.pending_filing(state, index, now)
    if step is None:
        if state.closure is not None:
            never = lifecycle.unfiled(state, index)
            if never:
                raise Refused.of("report.closed_never_filed", reference=reference, stages=never)
            raise Refused.of("report.closed_all_filed", reference=reference)
        raise Refused.of("report.nothing_pending")
    tz = zone(state.policy.operator_zone)
    late = lifecycle.late_reason(state, wanted, step.due_at, now, tz)
    # Shown before anyone approves it: not yet filed automatically (whoever approves it
    # answers for it), so the draft carries no such notice.
    draft = build_draft(state, step, state.next_filing_number, now, late)
    return draft.model_copy(update={"automatic": False})
