"""When input about telling subscribers may act: the assessment, a page of the list,
the notice, the decision and a regulator's order, as plain functions of the incident's
state and the input (``checks`` holds the reporting side's)."""

from __future__ import annotations

from collections.abc import Iterable

from breachclock.domain.incident.model import IncidentState, NoticeOrder
from breachclock.domain.incident.notice_fact import operator_for
from breachclock.domain.notify.assessment import Consequence, Decision, check_decision
from breachclock.domain.notify.notice import (
    IncidentNotice,
    default_language,
    missing_labels,
    missing_passages,
)
from breachclock.domain.notify.plan import Channel, plan_for
from breachclock.domain.notify.sms import check
from breachclock.domain.notify.subscribers import Language
from breachclock.domain.problems import Problem, problem

ITEM_NAMES = 200
"""Distinct affected-item names an incident's list may use (each needs a label)."""


def assess_problem(state: IncidentState) -> Problem | None:
    if state.notification.told:
        return problem("assess.already_telling")
    return None


def page_problems(
    state: IncidentState,
    has_people: bool,
    page_key: str | None,
    items: Iterable[str],
    languages: list[Language | None],
) -> list[Problem]:
    """A page of the affected list (staged in the store under ``page_key``)."""
    if has_people:
        return [problem("subscribers.inline_people")]
    if page_key is None:
        return [problem("subscribers.page_key_missing", "page_key")]
    if len(set(state.notification.items) | set(items)) > ITEM_NAMES:
        return [problem("subscribers.too_many_items", limit=ITEM_NAMES)]
    notice = state.notification.notice
    if notice is None:
        return []
    return missing_passages(notice, languages) + missing_labels(notice, items, languages)


def notice_problems(state: IncidentState, notice: IncidentNotice) -> list[Problem]:
    if notice.reference != state.reference:
        return [
            problem(
                "notice.wrong_reference",
                "reference",
                given=notice.reference,
                reference=state.reference,
            )
        ]
    if notice.regime is not state.regime:
        return [problem("notice.wrong_regime", "regime", given=notice.regime, regime=state.regime)]
    if state.notification.running is not None:
        return [problem("notice.campaign_running")]
    return annex_ii_problems(state, notice) + reach_problems(state, notice)


def annex_ii_problems(state: IncidentState, notice: IncidentNotice) -> list[Problem]:
    """Where the assessment finds a likely effect on the person (identity theft, physical
    or psychological harm, humiliation, damage to reputation), the notice must say what
    they can do about it (611/2013 Annex II: measures recommended to the person); a
    notice saying nothing can be done contradicts the assessment."""
    assessment = state.notification.assessment
    if assessment is None or notice.recommendations is not None:
        return []
    likely = [c for c in assessment.consequences if c is not Consequence.NONE_IDENTIFIED]
    if not likely:
        return []
    return [problem("notice.recommendations_needed", "recommendations", consequences=likely)]


def reach_problems(state: IncidentState, notice: IncidentNotice) -> list[Problem]:
    """Everyone on the list can be written to: a passage and a label for each of their
    affected items, in their language."""
    notification = state.notification
    languages = [Language(code) if code else None for code in notification.languages]
    return missing_passages(notice, languages) + missing_labels(
        notice, notification.items, languages
    )


def ready_problems(state: IncidentState) -> list[Problem]:
    """What telling people needs first: the notice (with recommendations where the
    assessment, perhaps made after it, finds a likely effect), the people, every
    language covered."""
    notification = state.notification
    if notification.notice is None:
        return [problem("notify.notice_first")]
    if notification.people == 0:
        return [problem("notify.people_first")]
    notice = notification.notice
    return annex_ii_problems(state, notice) + reach_problems(state, notice)


def decide_problems(state: IncidentState, decision: Decision) -> list[Problem]:
    notification = state.notification
    if notification.assessment is None:
        return [problem("decide.assess_first")]
    if notification.told:
        return [problem("notify.already_telling")]
    found = check_decision(notification.assessment, decision)
    if not found and decision.notify:
        found = ready_problems(state)
    if not found and decision.after_containment and not state.takedowns:
        found = [problem("decide.nothing_to_contain", "after_containment")]
    if not found and decision.notify:
        found = sms_problems(state, decision)
    return found


def sms_problems(state: IncidentState, decision: Decision) -> list[Problem]:
    """A plan with an SMS step needs its text, and the text rendered in every language
    on the list must fit and carry no link the operator did not turn on."""
    notice = state.notification.notice
    plan = plan_for(notice.regime if notice else state.regime, decision.plan)
    if notice is None or all(step.channel is not Channel.SMS for step in plan.steps):
        return []
    # Decided by the worker's settings as the incident started (its policy), not the
    # client's: a plan whose SMS no gateway would take would only letter everyone.
    gateway = [] if state.policy.notify_plan.sms else [problem("decide.sms_no_gateway", "plan")]
    if decision.sms is None:
        return [*gateway, problem("decide.sms_missing", "sms", plan=plan.name)]
    fallback = default_language(notice.regime)
    languages = [Language(code) if code else fallback for code in state.notification.languages]
    found = check(decision.sms, notice, operator_for(state.policy), languages or [fallback])
    return [*gateway, *found]


def order_problems(state: IncidentState, order: NoticeOrder) -> list[Problem]:
    notification = state.notification
    if notification.order == order and notification.told:
        return []  # the same order again: answered, nothing changes
    if notification.told:
        return [problem("notify.already_telling")]
    return ready_problems(state)
