"""Telling subscribers, as the incident workflow's updates: the assessment, the list,
the notice, the decision or a regulator's order, and the campaigns that carry it out
(one child workflow per wave, ``workflows.campaign``)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities import api
    from activities.api import CampaignEnd, LoadOutcome, LoadPage
    from breachclock.domain.ids import campaign_id
    from breachclock.domain.incident import containment
    from breachclock.domain.incident.model import (
        EntryKind,
        NoticeOrder,
        SubscriberNotice,
        Wave,
    )
    from breachclock.domain.incident.notice_checks import (
        assess_problem,
        decide_problems,
        notice_problems,
        order_problems,
        page_problems,
    )
    from breachclock.domain.incident.notice_fact import notice_fact, operator_for
    from breachclock.domain.notify.assessment import (
        Assessment,
        Decision,
        Recommendation,
        recommend,
    )
    from breachclock.domain.notify.delivery import Status
    from breachclock.domain.notify.letters import Letters, letters_problems
    from breachclock.domain.notify.notice import IncidentNotice
    from breachclock.domain.notify.plan import FIRST_ENGINE_PLAN, plan_for, walked_plan
    from breachclock.domain.problems import problem, said
    from workflows.base import IncidentBase, counted, given, refuse_if
    from workflows.campaign import (
        END_SIGNAL,
        CampaignProgress,
        CampaignStart,
        CampaignWorkflow,
    )
    from workflows.history import ACTIVITY, CHILD, RESULT, SIGNAL, SIGNAL_OUT
    from workflows.messages import Answer, LoadResult, SubscriberLoad, answer


LOAD_ATTEMPTS = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=30))
LOAD_TIMEOUT = timedelta(seconds=30)
"""One staged page (at most ``MAX_LOAD_PAGE`` people) into the store takes well under a
second; a worker killed while it ran is noticed by this timeout (it was 2 minutes: an
upload then hung that long after a crash), and the retry answers as the first try did."""
STAGED_PAGES = "staged-subscriber-pages"
"""``workflow.patched`` id: subscriber pages reach the store staged, not in history."""


class NotifyingIncident(IncidentBase):
    _campaign: ChildWorkflowHandle[CampaignWorkflow, CampaignProgress] | None
    _loading: asyncio.Lock

    # ------------------------------------------------- telling subscribers

    @workflow.update
    @counted
    async def assess(self, assessment: Assessment) -> Recommendation:
        await self._started(assessment)
        notification = self.state.notification
        if notification.assessment == assessment and notification.recommendation:
            return notification.recommendation
        notification.assessment = assessment
        notification.recommendation = recommend(assessment)
        verdict = (
            "timeline.assessed_notify"
            if notification.recommendation.notify
            else "timeline.assessed_no_notice"
        )
        self._note(workflow.now(), said(verdict), None)
        return notification.recommendation

    @assess.validator
    def _validate_assess(self, assessment: Assessment) -> None:
        given(assessment)
        self._open_only()
        refuse_if(assess_problem(self.state))
        self._fits(assessment)

    @workflow.update
    @counted
    async def add_subscribers(self, load: SubscriberLoad) -> LoadResult:
        await self._started(load)
        notification = self.state.notification
        async with self._loading:  # one page at a time: sequence numbers follow each other
            if load.skipped or load.skipped_total:
                notification.skipped[load.source] = load.skipped
                notification.skipped_total[load.source] = load.skipped_total
            if load.page_key is not None and load.page_key in notification.loaded_pages:
                return LoadResult(added=0, repeated=load.count, people=notification.people)
            if self._patched(STAGED_PAGES) and load.page_key is not None:
                page = LoadPage(reference=self.state.reference, page_key=load.page_key)
                self._count(ACTIVITY, page)
                outcome = await workflow.execute_activity(
                    api.LOAD_SUBSCRIBERS,
                    page,
                    result_type=LoadOutcome,
                    start_to_close_timeout=LOAD_TIMEOUT,
                    retry_policy=LOAD_ATTEMPTS,
                )
                self._count(RESULT, outcome)
                added, changed = outcome.added, outcome.changed
                notification.people = outcome.people
                notification.loaded_pages.append(load.page_key)
                languages = {lang.value if lang else "" for lang in load.languages}
                repeated = outcome.repeated
            else:
                # A page of an incident recorded before pages were staged: people inline.
                inline = {"reference": self.state.reference, "people": load.people}
                self._count(ACTIVITY, inline)
                added = await workflow.execute_activity(
                    api.STORE_SUBSCRIBERS,
                    inline,
                    result_type=int,
                    start_to_close_timeout=timedelta(minutes=2),
                )
                self._count(RESULT, added)
                changed = []
                notification.people += added
                languages = {p.language.value if p.language else "" for p in load.people}
                repeated = len(load.people) - added
            notification.repeated += repeated
            notification.languages = sorted(set(notification.languages) | languages)
            notification.items = sorted(set(notification.items) | set(load.items))
        if added:
            self._note(
                workflow.now(),
                said("timeline.people_added", count=added, people=notification.people),
                None,
                kind=EntryKind.ENGINE,
            )
            await self._grow_campaign()
        return LoadResult(
            added=added, repeated=repeated, people=notification.people, changed=changed
        )

    @add_subscribers.validator
    def _validate_add_subscribers(self, load: SubscriberLoad) -> None:
        given(load)
        self._open_only()
        refuse_if(
            *page_problems(self.state, bool(load.people), load.page_key, load.items, load.languages)
        )
        self._fits(load)

    @workflow.update
    @counted
    async def set_notice(self, notice: IncidentNotice) -> Answer:
        await self._started(notice)
        if self.state.notification.notice == notice:
            return answer("answer.notice.already")
        self.state.notification.notice = notice
        self._note(workflow.now(), said("timeline.notice"), None)
        return answer("answer.notice.recorded")

    @set_notice.validator
    def _validate_set_notice(self, notice: IncidentNotice) -> None:
        given(notice)
        self._open_only()
        refuse_if(*notice_problems(self.state, notice))
        self._fits(notice)

    @workflow.update
    @counted
    async def decide_notice(self, decision: Decision) -> Answer:
        await self._started(decision)
        notification = self.state.notification
        if self._decided(decision):
            return answer("answer.decide.already")
        notification.decision = decision
        if not decision.notify:
            assert decision.justification is not None
            self._set_notice_fact(
                SubscriberNotice(
                    notified=False,
                    justification=decision.justification,
                    exemption=decision.exemption,
                )
            )
            self._note(workflow.now(), said("timeline.decided_not_to_notify"), decision.decided_by)
            return answer("answer.decide.not_notifying")
        self._note(workflow.now(), said("timeline.decided_to_notify"), decision.decided_by)
        tasks = self.state.takedowns
        if decision.after_containment and not containment.all_confirmed(tasks):
            if not notification.waiting_for_containment:
                self._begin_wait()
            notification.waiting_for_containment = True
            self._note(
                workflow.now(), said("timeline.waits_for_containment"), None, kind=EntryKind.ENGINE
            )
            return answer(
                "answer.decide.after_containment",
                people=notification.people,
                confirmed=containment.confirmed_count(tasks),
                total=len(tasks),
            )
        notification.waiting_for_containment = False  # decided again: tell them now
        await self._start_wave()
        return answer("answer.notifying", people=notification.people)

    def _begin_wait(self) -> None:
        """Notice starts to wait for containment now; until the policy's bound, where this
        run bounds it (its pages keep counting, so each has a key of its own)."""
        notification = self.state.notification
        now = workflow.now()
        notification.waiting_since = now
        notification.wait_bound = (
            now + self.state.policy.containment_wait if self._wait_bound else None
        )
        notification.last_wait_page_at = None

    @decide_notice.validator
    def _validate_decide(self, decision: Decision) -> None:
        given(decision)
        self._open_only()
        if self._decided(decision):
            return  # the same decision again: answered, nothing changes
        refuse_if(*decide_problems(self.state, decision))
        chosen = plan_for(self.state.regime, decision.plan).name
        if not self._plans and (decision.sms or chosen != FIRST_ENGINE_PLAN):
            refuse_if(problem("decide.plan_needs_new_run", "plan"))
        self._fits(decision)

    def _decided(self, decision: Decision) -> bool:
        """This decision is in force already (a failed campaign's decision is taken again)."""
        notification = self.state.notification
        return notification.decision == decision and (
            not decision.notify or notification.told or notification.waiting_for_containment
        )

    @workflow.update
    @counted
    async def order_notice(self, order: NoticeOrder) -> Answer:
        await self._started(order)
        if self.state.notification.order == order and self.state.notification.told:
            return answer("answer.order.already")
        self.state.notification.order = order
        self._note(
            workflow.now(),
            said("timeline.ordered_ref", by=order.by, decision=order.decision_reference)
            if order.decision_reference
            else said("timeline.ordered", by=order.by),
            order.recorded_by,
        )
        await self._start_wave()
        return answer("answer.order.notifying", people=self.state.notification.people, by=order.by)

    @order_notice.validator
    def _validate_order(self, order: NoticeOrder) -> None:
        given(order)
        self._open_only()
        refuse_if(*order_problems(self.state, order))
        self._fits(order)

    @workflow.update
    @counted
    async def record_letters(self, letters: Letters) -> Answer:
        """The letters' counts from the engine's record of print batches (no personal
        data): the report then says how many were told by letter, and when posted. The
        counts only grow, so two sent at once leave the larger, in either order."""
        await self._started(letters)
        notification = self.state.notification
        known = notification.letters
        merged = letters if known is None else known.merged(letters)
        if merged == known:
            return answer("answer.letters.already")
        notification.letters = merged
        self._set_notice_fact(
            notice_fact(
                notification, self.state.policy.notify_plan, operator_for(self.state.policy)
            )
        )
        return answer(
            "answer.letters.recorded",
            posted=merged.posted,
            returned=merged.returned,
            no_address=merged.no_address,
        )

    @record_letters.validator
    def _validate_record_letters(self, letters: Letters) -> None:
        given(letters)
        self._open_only()
        refuse_if(*letters_problems(letters, self.state.notification.told))
        self._fits(letters)

    async def _start_wave(self) -> None:
        notification = self.state.notification
        assert notification.notice is not None
        number = len(notification.waves) + 1
        first = notification.covered
        signals = self._patched(END_SIGNAL)
        wave = Wave(
            number=number,
            first=first,
            end=notification.people,
            started_at=workflow.now(),
            signals=signals,
        )
        notification.waves.append(wave)
        campaign = CampaignStart(
            reference=self.state.reference,
            wave=number,
            notice=notification.notice,
            operator=operator_for(self.state.policy),
            plan=self.state.policy.notify_plan,
            first=first,
            size=wave.end - first,
            **self._channels(),
        )
        self._count(CHILD, campaign)
        self._campaign = await workflow.start_child_workflow(
            CampaignWorkflow.run,
            campaign,
            id=campaign_id(self.state.reference, number),
            # The people are told even if this incident's run were ended by hand.
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        self._set_notice_fact(
            notice_fact(
                notification, self.state.policy.notify_plan, operator_for(self.state.policy)
            ),
            new_version=False,
        )
        self._note(
            workflow.now(),
            said("timeline.campaign_started", number=number, people=wave.end - first),
            None,
            kind=EntryKind.ENGINE,
        )
        if signals:
            # This run hears at once of a campaign ended by hand; a later run looks now
            # and then (``_campaign_checks``). A finished campaign signals its end.
            self._campaign.add_done_callback(lambda ended: self._child_ended(wave, ended))
        else:
            self._background(self._await_wave(wave, self._campaign))

    def _channels(self) -> dict[str, Any]:
        """The decision's plan for the campaign, when it is not the first engine's calls
        and e-mails (which the campaign runs its own way, as it always has)."""
        decision = self.state.notification.decision
        if not self._plans or decision is None or not decision.notify:
            return {}
        plan = walked_plan(self.state.regime, decision.plan, self.state.policy.notify_plan)
        return {} if plan is None else {"channels": plan, "sms": decision.sms}

    def _child_ended(self, wave: Wave, ended: asyncio.Future[CampaignProgress]) -> None:
        failure = ended.exception()
        if failure is not None and wave.finished_at is None:
            cause = failure.cause if isinstance(failure, ChildWorkflowError) else None
            self._wave_failed(wave, str(cause or failure))

    async def _await_wave(
        self, wave: Wave, handle: ChildWorkflowHandle[CampaignWorkflow, CampaignProgress]
    ) -> None:
        """How incidents recorded before campaigns signalled their end learnt of it."""
        try:
            progress = await handle
        except ChildWorkflowError as err:
            self._wave_failed(wave, str(err.cause or err))
            return
        await self._wave_finished(wave, progress)

    @workflow.signal
    async def campaign_finished(self, progress: CampaignProgress) -> None:
        """A campaign of this incident ended (sent by the campaign itself)."""
        self._count(SIGNAL, progress)
        wave = next((w for w in self.state.notification.waves if w.number == progress.wave), None)
        if wave is not None and wave.finished_at is None:
            await self._wave_finished(wave, progress)

    async def _wave_finished(self, wave: Wave, progress: CampaignProgress) -> None:
        wave.finished_at = workflow.now()
        wave.counts = progress.counts
        wave.end = wave.first + progress.size
        self._campaign = None
        notification = self.state.notification
        self._set_notice_fact(
            notice_fact(
                notification, self.state.policy.notify_plan, operator_for(self.state.policy)
            )
        )
        told = progress.counts.people
        self._note(
            workflow.now(),
            said(
                "timeline.campaign_finished",
                number=wave.number,
                **{status.value: told.get(status, 0) for status in Status},
            ),
            None,
            kind=EntryKind.ENGINE,
        )
        if notification.people > notification.covered:
            await self._start_wave()

    def _wave_failed(self, wave: Wave, failure: str) -> None:
        """Ended by hand, or failed: the wave is over; deciding again starts another."""
        wave.finished_at = workflow.now()
        wave.failure = failure
        self._campaign = None
        self._note(
            workflow.now(),
            said("timeline.campaign_failed", number=wave.number, failure=wave.failure),
            None,
            kind=EntryKind.ENGINE,
        )

    def _campaign_checks(self, now: datetime) -> datetime | None:
        """Look at a running campaign from outside now and then: one ended by hand tells
        nobody. Returns when the next look is due."""
        wave = self.state.notification.running
        if wave is None or not wave.signals:
            return None
        due = (wave.checked_at or wave.started_at) + self.state.policy.campaign_check
        key = f"check:{wave.number}"
        if due <= now and key not in self._in_flight:
            self._track_work(key, self._check_campaign(wave))
            return None
        return due

    async def _check_campaign(self, wave: Wave) -> None:
        campaign = campaign_id(self.state.reference, wave.number)
        self._count(ACTIVITY, campaign)
        ended = await workflow.execute_activity(
            api.CAMPAIGN_END,
            campaign,
            result_type=CampaignEnd,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        self._count(RESULT, ended)
        wave.checked_at = workflow.now()
        if ended.failure is not None and wave.finished_at is None:
            self._wave_failed(wave, ended.failure)

    async def _grow_campaign(self) -> None:
        """People added once notice was decided are told too: by the running wave, or a new one."""
        notification = self.state.notification
        wave = notification.running
        if wave is None:
            if notification.told:
                await self._start_wave()
            return
        wave.end = notification.people
        self._count(SIGNAL_OUT, wave.end)
        try:
            if self._campaign is not None:
                await self._campaign.signal(CampaignWorkflow.grow, wave.end)
            else:
                await workflow.get_external_workflow_handle_for(
                    CampaignWorkflow.run, campaign_id(self.state.reference, wave.number)
                ).signal(CampaignWorkflow.grow, wave.end)
        except ApplicationError:
            # It finished meanwhile: its result sets the wave's true end, and the
            # people past it get a wave of their own (``_wave_finished``).
            workflow.logger.info("campaign finished before it could grow")

    def _set_notice_fact(self, fact: SubscriberNotice, new_version: bool = True) -> None:
        """The report's subscriber-notice fact; a new facts version when it is news for the regulator."""
        self.state.facts = self.state.facts.model_copy(update={"subscriber_notice": fact})
        if new_version:
            self.state.facts_version += 1
        self._changed = True
