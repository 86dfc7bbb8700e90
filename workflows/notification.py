"""Telling subscribers, as the incident workflow's updates: the assessment, the list,
the notice, the decision or a regulator's order, and the campaigns that carry it out
(one child workflow per wave, ``workflows.campaign``)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

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
    from breachclock.domain.incident.notice_fact import notice_fact, operator_for
    from breachclock.domain.notify.assessment import (
        Assessment,
        Decision,
        Recommendation,
        check_decision,
        recommend,
    )
    from breachclock.domain.notify.notice import IncidentNotice, missing_labels, missing_passages
    from breachclock.domain.notify.subscribers import Language
    from workflows.base import IncidentBase, given, reject
    from workflows.campaign import (
        END_SIGNAL,
        CampaignProgress,
        CampaignStart,
        CampaignWorkflow,
    )
    from workflows.messages import ITEM_NAMES, Answer, LoadResult, SubscriberLoad


LOAD_ATTEMPTS = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(seconds=30))
STAGED_PAGES = "staged-subscriber-pages"
"""``workflow.patched`` id: subscriber pages reach the store staged, not in history."""


class NotifyingIncident(IncidentBase):
    _campaign: ChildWorkflowHandle[CampaignWorkflow, CampaignProgress] | None
    _loading: asyncio.Lock

    # ------------------------------------------------- telling subscribers

    @workflow.update
    async def assess(self, assessment: Assessment) -> Recommendation:
        await self._started()
        notification = self.state.notification
        if notification.assessment == assessment and notification.recommendation:
            return notification.recommendation
        notification.assessment = assessment
        notification.recommendation = recommend(assessment)
        verdict = "notify" if notification.recommendation.notify else "no notice needed"
        self._note(workflow.now(), f"subscriber-notice assessment recorded: {verdict}", None)
        return notification.recommendation

    @assess.validator
    def _validate_assess(self, assessment: Assessment) -> None:
        given(assessment)
        self._open_only()
        if self.state.notification.told:
            reject("subscribers are already being told: the assessment cannot change now")
        self._fits(assessment, "the assessment")

    @workflow.update
    async def add_subscribers(self, load: SubscriberLoad) -> LoadResult:
        await self._started()
        notification = self.state.notification
        async with self._loading:  # one page at a time: sequence numbers follow each other
            if load.skipped or load.skipped_total:
                notification.skipped[load.source] = load.skipped
                notification.skipped_total[load.source] = load.skipped_total
            if load.page_key is not None and load.page_key in notification.loaded_pages:
                return LoadResult(added=0, repeated=load.count, people=notification.people)
            if workflow.patched(STAGED_PAGES) and load.page_key is not None:
                outcome = await workflow.execute_activity(
                    api.LOAD_SUBSCRIBERS,
                    LoadPage(reference=self.state.reference, page_key=load.page_key),
                    result_type=LoadOutcome,
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=LOAD_ATTEMPTS,
                )
                added, changed = outcome.added, outcome.changed
                notification.people = outcome.people
                notification.loaded_pages.append(load.page_key)
                languages = {lang.value if lang else "" for lang in load.languages}
                repeated = outcome.repeated
            else:
                # A page of an incident recorded before pages were staged: people inline.
                added = await workflow.execute_activity(
                    api.STORE_SUBSCRIBERS,
                    {"reference": self.state.reference, "people": load.people},
                    result_type=int,
                    start_to_close_timeout=timedelta(minutes=2),
                )
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
                f"{added} affected {'person' if added == 1 else 'people'} added to the "
                f"notification list (now {notification.people})",
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
        if load.people:
            reject("pages are staged in the store now: load them with 'subscribers'")
        if load.page_key is None:
            reject("a page names the staged page it loads (page_key)")
        if len(set(self.state.notification.items) | set(load.items)) > ITEM_NAMES:
            reject(f"the list would name more than {ITEM_NAMES} different affected items")
        notice = self.state.notification.notice
        if notice is not None:
            problems = missing_passages(notice, load.languages) + missing_labels(
                notice, load.items, load.languages
            )
            if problems:
                reject(
                    "the recorded notice cannot be sent to everyone on this page: "
                    + "; ".join(problems)
                )
        self._fits(load, "this page's skipped rows")

    @workflow.update
    async def set_notice(self, notice: IncidentNotice) -> Answer:
        await self._started()
        if self.state.notification.notice == notice:
            return Answer(message="that notice is already recorded")
        self.state.notification.notice = notice
        self._note(workflow.now(), "subscriber notice text recorded", None)
        return Answer(message="notice recorded")

    @set_notice.validator
    def _validate_set_notice(self, notice: IncidentNotice) -> None:
        given(notice)
        self._open_only()
        if notice.reference != self.state.reference:
            reject(f"the notice names reference {notice.reference}, not {self.state.reference}")
        if notice.regime is not self.state.regime:
            reject(
                f"the notice is for regime {notice.regime.value}, the incident's is {self.state.regime.value}"
            )
        if self.state.notification.running is not None:
            reject("a campaign is sending this notice now: it cannot change under it")
        self._check_languages(notice)
        self._fits(notice, "the notice")

    @workflow.update
    async def decide_notice(self, decision: Decision) -> str:
        await self._started()
        notification = self.state.notification
        if self._decided(decision):
            return "that decision is already recorded"
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
            self._note(workflow.now(), "decided not to notify subscribers", decision.decided_by)
            return "decided not to notify; the justification goes into the next filing"
        self._note(workflow.now(), "decided to notify subscribers", decision.decided_by)
        tasks = self.state.takedowns
        if decision.after_containment and not containment.all_confirmed(tasks):
            notification.waiting_for_containment = True
            self._note(
                workflow.now(),
                "notice waits for containment: calls begin once every takedown is confirmed",
                None,
                kind=EntryKind.ENGINE,
            )
            return (
                f"notifying {notification.people} people once every takedown is confirmed "
                f"({containment.confirmed_count(tasks)} of {len(tasks)} so far)"
            )
        notification.waiting_for_containment = False  # decided again: tell them now
        await self._start_wave()
        return f"notifying {notification.people} people"

    @decide_notice.validator
    def _validate_decide(self, decision: Decision) -> None:
        given(decision)
        self._open_only()
        notification = self.state.notification
        if self._decided(decision):
            return  # the same decision again: answered, nothing changes
        if notification.assessment is None:
            reject("record the assessment first ('assess'): the decision is weighed against it")
        if notification.told:
            reject("subscribers are already being told")
        problems = check_decision(notification.assessment, decision)
        if problems:
            reject(" ".join(problems))
        if decision.notify:
            self._ready_to_notify()
        if decision.after_containment and not self.state.takedowns:
            reject("no takedown has been requested: there is no containment to wait for")
        self._fits(decision, "the decision")

    def _decided(self, decision: Decision) -> bool:
        """This decision is in force already (a failed campaign's decision is taken again)."""
        notification = self.state.notification
        return notification.decision == decision and (
            not decision.notify or notification.told or notification.waiting_for_containment
        )

    @workflow.update
    async def order_notice(self, order: NoticeOrder) -> str:
        await self._started()
        if self.state.notification.order == order and self.state.notification.told:
            return "that order is already recorded"
        self.state.notification.order = order
        self._note(
            workflow.now(),
            f"{order.by} ordered the subscribers notified"
            + (f" ({order.decision_reference})" if order.decision_reference else ""),
            order.recorded_by,
        )
        await self._start_wave()
        return f"notifying {self.state.notification.people} people, as ordered by {order.by}"

    @order_notice.validator
    def _validate_order(self, order: NoticeOrder) -> None:
        given(order)
        self._open_only()
        if self.state.notification.order == order and self.state.notification.told:
            return
        if self.state.notification.told:
            reject("subscribers are already being told")
        self._ready_to_notify()
        self._fits(order, "the order")

    def _ready_to_notify(self) -> None:
        notification = self.state.notification
        if notification.notice is None:
            reject("record the notice text first ('notice')")
        if notification.people == 0:
            reject("load the affected people first ('subscribers')")
        self._check_languages(notification.notice)

    def _check_languages(self, notice: IncidentNotice) -> None:
        """Every person on the list can be written to: a passage and a label for each of
        their affected items in their language."""
        notification = self.state.notification
        languages = [Language(code) if code else None for code in notification.languages]
        problems = missing_passages(notice, languages) + missing_labels(
            notice, notification.items, languages
        )
        if problems:
            reject("the notice cannot be sent to everyone on the list: " + "; ".join(problems))

    async def _start_wave(self) -> None:
        notification = self.state.notification
        assert notification.notice is not None
        number = len(notification.waves) + 1
        first = notification.covered
        signals = workflow.patched(END_SIGNAL)
        wave = Wave(
            number=number,
            first=first,
            end=notification.people,
            started_at=workflow.now(),
            signals=signals,
        )
        notification.waves.append(wave)
        self._campaign = await workflow.start_child_workflow(
            CampaignWorkflow.run,
            CampaignStart(
                reference=self.state.reference,
                wave=number,
                notice=notification.notice,
                operator=operator_for(self.state.policy),
                plan=self.state.policy.notify_plan,
                first=first,
                size=wave.end - first,
            ),
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
            f"notification campaign {number} started for {wave.end - first} people",
            None,
            kind=EntryKind.ENGINE,
        )
        if signals:
            # This run hears at once of a campaign ended by hand; a later run looks now
            # and then (``_campaign_checks``). A finished campaign signals its end.
            self._campaign.add_done_callback(lambda ended: self._child_ended(wave, ended))
        else:
            self._background(self._await_wave(wave, self._campaign))

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
            f"notification campaign {wave.number} finished: "
            + ", ".join(f"{n} {status.value}" for status, n in sorted(told.items())),
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
            f"notification campaign {wave.number} ended without finishing: {wave.failure}",
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
        ended = await workflow.execute_activity(
            api.CAMPAIGN_END,
            campaign_id(self.state.reference, wave.number),
            result_type=CampaignEnd,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
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
