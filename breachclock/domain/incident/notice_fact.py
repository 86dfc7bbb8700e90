"""What the regulator's report says about telling subscribers (PTS field 8; Annex I 13–15).

The means used, the number told per outcome, rows skipped as invalid, and a copy of
the notice as sent in each language, with the person's own details left as
placeholders (the report carries no subscriber's personal data).
"""

from __future__ import annotations

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.model import Notification, Policy, SubscriberNotice
from breachclock.domain.notify.delivery import Counts, Plan, Status
from breachclock.domain.notify.letters import Letters
from breachclock.domain.notify.notice import (
    IncidentNotice,
    Operator,
    default_language,
    render_notice,
)
from breachclock.domain.notify.plan import FIRST_ENGINE_PLAN
from breachclock.domain.notify.subscribers import Language, Role, Subscriber

PEOPLE_ORDER = (Status.CALLED, Status.EMAILED, Status.UNREACHABLE, Status.PENDING)


def operator_for(policy: Policy) -> Operator:
    """Who the notice says it is from, and how to reach them."""
    return Operator(
        name=policy.operator_name,
        phone=policy.customer_phone,
        email=policy.customer_email,
        web=policy.customer_web,
    )


def means(plan: Plan) -> str:
    if plan.attempts == 0:
        return "e-mail (plain text and HTML); letter where no e-mail address could be used"
    return (
        f"telephone, up to {plan.attempts} attempts between {plan.window_start:%H:%M} and "
        f"{plan.window_end:%H:%M} on the person's own clock, the notice given only after they "
        "confirmed their identity; then e-mail (plain text and HTML); letter where neither "
        "reached them"
    )


def sample(language: Language) -> Subscriber:
    """A person who stands for everyone in a copy or a preview of the notice: the
    notice's placeholders, worded in its own language."""
    words = Voice(language.value).scoped("filing.")
    return Subscriber.model_construct(
        id=words("placeholder.subscriber"),
        name=words("placeholder.name"),
        phone=None,
        email=None,
        language=language,
        time_zone="Europe/Stockholm",
        role=Role.SUBSCRIBER,
        subscriber_id=None,
        affected_items=[words("placeholder.items")],
    )


def copies(notice: IncidentNotice, operator: Operator, languages: list[str]) -> str:
    """The notice as sent, once per language used, with placeholders for the person
    (worded in the notice's own language)."""
    texts = []
    for code in sorted(set(languages)):
        language = Language(code) if code else default_language(notice.regime)
        rendered = render_notice(notice, sample(language), operator)
        texts.append(f"[{rendered.language.value}] {rendered.subject}\n\n{rendered.text}")
    return "\n\n".join(texts)


def outcome_counts(counts: Counts) -> dict[str, int]:
    """People by where they stand, then attempts by outcome: the report's figures, under
    stable keys (``people.called``, ``calls.no_answer``, ``identified.bankid`` (delivered
    calls by how the person was identified), ``emails.sent`` …) that each
    filing names in its own language."""
    people = {f"people.{s.value}": counts.people.get(s, 0) for s in PEOPLE_ORDER}
    calls = {f"calls.{o.value}": n for o, n in sorted(counts.calls.items())}
    emails = {f"emails.{o}": n for o, n in sorted(counts.emails.items())}
    identified = {f"identified.{m}": n for m, n in sorted(counts.identified.items())}
    # Only a plan with an SMS step tells anyone by SMS: other reports read as before.
    texted = counts.people.get(Status.TEXTED, 0)
    people |= {f"people.{Status.TEXTED.value}": texted} if texted or counts.sms else {}
    sms = {f"sms.{o}": n for o, n in sorted(counts.sms.items())}
    return {**people, **calls, **identified, **sms, **emails}


def walked(notification: Notification) -> str | None:
    """The plan the campaign walks, when the decision chose one other than calls then
    e-mail (a run that could not walk one refused the choice)."""
    decision = notification.decision
    chosen = decision.plan if decision is not None and decision.notify else None
    return chosen if chosen not in (None, FIRST_ENGINE_PLAN) else None


def notice_fact(notification: Notification, plan: Plan, operator: Operator) -> SubscriberNotice:
    """The report's subscriber-notice fact for a campaign started or finished."""
    total = Counts()
    for wave in notification.waves:
        if wave.counts is not None:
            total = total.plus(wave.counts)
    letters = notification.letters
    told = sum(total.people.get(s, 0) for s in (Status.CALLED, Status.EMAILED, Status.TEXTED))
    told += letters.told if letters else 0
    assert notification.notice is not None
    return SubscriberNotice(
        notified=True,
        means=means(plan),
        call_attempts=plan.attempts,
        calling_hours=f"{plan.window_start:%H:%M}-{plan.window_end:%H:%M}",
        plan=walked(notification),
        notified_count=told,
        copy_text=copies(notification.notice, operator, notification.languages),
        ordered_by=notification.order.by if notification.order else None,
        in_progress=notification.running is not None,
        outcomes=outcome_counts(total) | letter_counts(letters),
        skipped_rows=notification.skipped_count,
        letters_from=letters.first_posted if letters else None,
        letters_until=letters.last_posted if letters else None,
    )


def letter_counts(letters: Letters | None) -> dict[str, int]:
    """The letters' figures under stable keys (``letters.posted`` …); none before any
    print batch was made, so a report of an incident without letters reads as before."""
    if letters is None:
        return {}
    return {
        "letters.posted": letters.posted,
        "letters.returned": letters.returned,
        "letters.no_address": letters.no_address,
    }
