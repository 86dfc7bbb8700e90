"""Filing on an authority's portal: the engine prepares, a person files and records the
receipt. Until the receipt is recorded the filing is not sent, so the stage's deadline
and its escalations run on (``lifecycle`` schedules no second preparation meanwhile).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.checks import future_problem
from breachclock.domain.incident.lifecycle import filing_language, is_late
from breachclock.domain.incident.model import (
    Approve,
    Filing,
    IncidentState,
    PortalReceipt,
    RecordReceipt,
    Track,
)
from breachclock.domain.incident.report import ReportDraft
from breachclock.domain.problems import Problem, problem


def prepared(draft: ReportDraft, at: datetime, message_id: str, approval: Approve | None) -> Filing:
    """The filing ``draft`` as prepared for the portal at ``at`` (``message_id``: the page
    that carried its documents to the people who file it), on ``approval`` (None: the
    engine's own, at the deadline)."""
    return Filing(
        number=draft.number,
        regime=draft.regime,
        kind=draft.kind,
        stage=draft.stage,
        recipient=draft.recipient,
        message_id=message_id,
        sent_at=at,
        due_at=draft.due_at,
        late=False,
        late_reason=draft.late_reason,
        justification=draft.justification,
        missing=draft.missing,
        facts_version=draft.facts_version,
        approved_by=approval.by if approval else None,
        language_override=(approval.language_override or []) if approval else [],
    )


def recorded(state: IncidentState, track: Track, number: int) -> Filing | None:
    """Filing ``number`` of ``track`` if a receipt was recorded for it already."""
    return next(
        (
            f
            for f in state.filings
            if f.regime is track.regime and f.number == number and f.receipt is not None
        ),
        None,
    )


def receipt_problem(
    state: IncidentState, track: Track, request: RecordReceipt, now: datetime
) -> Problem | None:
    """Why ``request`` cannot be recorded, if it cannot: the same receipt again is fine
    (a retry), another number for a filing with a receipt is not."""
    done = recorded(state, track, request.filing)
    if done is not None and done.receipt is not None:
        if done.receipt.number == request.receipt:
            return None
        return problem(
            "portal.receipt_conflict",
            "receipt",
            number=request.filing,
            receipt=done.receipt.number,
        )
    waiting = track.prepared
    if waiting is None or waiting.number != request.filing:
        return problem("portal.unknown_filing", "filing", number=request.filing)
    future = future_problem(request.at, now)
    if future is not None:
        return future
    if request.at < waiting.sent_at.replace(second=0, microsecond=0):  # receipts show minutes
        return problem(
            "portal.receipt_before_prepared",
            "at",
            at=request.at,
            prepared=waiting.sent_at,
        )
    return None


def filed_on_portal(
    state: IncidentState, track: Track, request: RecordReceipt, now: datetime, tz: ZoneInfo
) -> Filing:
    """The prepared filing as sent: at the receipt's time, late if that is past its
    deadline (saying so in the filing's language), the receipt kept with it."""
    waiting = track.prepared
    assert waiting is not None
    late = is_late(waiting.due_at, request.at)
    reason = waiting.late_reason
    if late and reason is None:
        voice = Voice(filing_language(state, track.regime), tz)
        reason = voice(
            "filing.late.portal", prepared=waiting.sent_at, at=request.at, due=waiting.due_at
        )
    return waiting.model_copy(
        update={
            "sent_at": request.at,
            "late": late,
            "late_reason": reason if late else waiting.late_reason,
            "receipt": PortalReceipt(
                number=request.receipt,
                at=request.at,
                recorded_by=request.by,
                recorded_at=now,
                pdf_sha256=request.pdf_sha256,
            ),
        }
    )


def instructions(draft: ReportDraft, tz: ZoneInfo) -> tuple[str, str]:
    """The subject and body of the page that hands a portal filing to the people who
    file it, in the filing's language: the portal, the deadline, and where to record the
    receipt (the console's link comes with the page)."""
    voice = Voice(draft.words, tz)
    params = {
        "reference": draft.reference,
        "number": draft.number,
        "regime": draft.regime.value,
        "kind": draft.kind.value,
        "due": draft.due_at,
    }
    subject = voice("filing.portal.subject", **params)
    body = voice("filing.portal.body", portal=draft.recipient, **params)
    return subject, body
