"""Filings a person makes on the authority's portal (Denmark's Virk Indberet): the
engine cannot file there (it needs a person signed in for the operator), so at the
filing's time it prepares the documents and sends them, with the portal's link, to the
people paged first; the filing is sent when a person records the portal's receipt.
Until then the stage's deadline and escalations run on, as for a filing not made."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import api
    from activities.api import PortalTask, Receipt
    from breachclock.domain.incident import lifecycle, portal
    from breachclock.domain.incident.lifecycle import FileReport
    from breachclock.domain.incident.model import EntryKind, RecordReceipt, Track
    from breachclock.domain.incident.report import build_draft
    from breachclock.domain.problems import said
    from breachclock.domain.regimes import Channel, regime
    from workflows.base import IncidentBase, counted, given, refuse_if
    from workflows.history import ACTIVITY, RESULT
    from workflows.messages import Answer, answer

PREPARE_ATTEMPTS = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=2))


class PortalFiling(IncidentBase):
    def _new_track(self, track: Track) -> Track:
        """``track`` filed on its authority's portal where the regime takes filings there
        (and this run may take that path)."""
        track.via_portal = self._portal and regime(track.regime).channel is Channel.PORTAL
        return track

    async def _prepare_for_portal(self, step: FileReport, track: Track, number: int) -> None:
        """Draft filing ``number`` and hand it to the people who file it; the track then
        waits for the receipt (``track.prepared``)."""
        now = workflow.now()
        draft = build_draft(
            self.state,
            step,
            number,
            now,
            lifecycle.filing_reason(self.state, track, step, now, self._zone),
        )
        subject, body = portal.instructions(draft, self._zone)
        to = self.state.policy.audiences[0] if self.state.policy.audiences else []
        task = PortalTask(draft=draft, to=to, subject=subject, body=body)
        self._count(ACTIVITY, task)
        receipt: Receipt = await workflow.execute_activity(
            api.PREPARE_FOR_PORTAL,
            task,
            result_type=Receipt,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=PREPARE_ATTEMPTS,
        )
        self._count(RESULT, receipt)
        approval = track.approve
        track.prepared = portal.prepared(draft, workflow.now(), receipt.message_id, approval)
        track.approve = None
        track.approve_at = None
        track.last_error = None
        self._note(
            workflow.now(),
            said(
                "timeline.portal_prepared",
                number=number,
                kind=step.kind,
                regime=track.regime,
            ),
            "breachclock",
            kind=EntryKind.ENGINE,
        )

    @workflow.update
    @counted
    async def record_receipt(self, request: RecordReceipt) -> Answer:
        await self._started(request)
        track = self._track_for(request.track)
        # Again here: another receipt may have been recorded since the validator ran.
        refuse_if(portal.receipt_problem(self.state, track, request, workflow.now()))
        done = portal.recorded(self.state, track, request.filing)
        if done is not None:
            return answer(
                "answer.portal_receipt_already", number=done.number, receipt=request.receipt
            )
        filing = portal.filed_on_portal(self.state, track, request, workflow.now(), self._zone)
        track.prepared = None
        index = self.state.tracks.index(track)
        self._measure_filing(index, filing)
        lifecycle.record_filing(self.state, index, filing)
        self._note(
            request.at,
            said(
                "timeline.portal_receipt_late" if filing.late else "timeline.portal_receipt",
                number=filing.number,
                regime=track.regime,
                receipt=request.receipt,
                at=request.at,
            ),
            request.by,
            "the portal's receipt",
        )
        return answer("answer.portal_receipt", number=filing.number, receipt=request.receipt)

    @record_receipt.validator
    def _validate_receipt(self, request: RecordReceipt) -> None:
        given(request)
        self._open_only()
        track = self._track_for(request.track)
        refuse_if(portal.receipt_problem(self.state, track, request, workflow.now()))
        self._fits(request)
