"""How a person proved who they are on a notification call (seed 001: the notice is
given only to the person, so every delivered call says how they were identified).

Methods are rated (``RATING``): holding the phone proves only that the call reached
the phone that was dialled. A callback to the number on file, or a code sent to the
number or address on file (which may be that same number), lets the agent say that an
incident concerns the subscription (``Disclosure.CONCERNED``); what leaked is told only
after a method that proves more than possession (``Disclosure.DETAILS``): BankID or
MitID through the operator's identity provider, knowledge questions from the customer
record, or a code sent to a *different* channel on file.

The methods an operator accepts are configurable (``BREACHCLOCK_IDENTITY_METHODS``);
a call recorded ``reached_verified`` without one of them is refused wherever it comes
from: an agent, the console, or a dialer.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.problems import Problem, Said, problem, said


class IdentityMethod(StrEnum):
    BANKID = "bankid"
    """Signed in with BankID / MitID during the call."""
    ONE_TIME_CODE = "one_time_code"
    """Read back a code sent to the number or e-mail address on file."""
    SECURITY_QUESTIONS = "security_questions"
    """Answered the account's security questions."""
    KNOWN_CALLBACK = "known_callback"
    """Was called back on the number on file."""
    CODE_OTHER_CHANNEL = "code_other_channel"
    """Read back a code sent to another channel on file than the one called (an e-mail
    address, a second number)."""


ALL_METHODS: tuple[IdentityMethod, ...] = tuple(IdentityMethod)


class Disclosure(StrEnum):
    """How much a method lets the agent say."""

    CONCERNED = "concerned"
    """That an incident concerns the subscription, nothing about what leaked."""
    DETAILS = "details"
    """The whole notice."""


RATING: dict[IdentityMethod, Disclosure] = {
    IdentityMethod.BANKID: Disclosure.DETAILS,
    IdentityMethod.SECURITY_QUESTIONS: Disclosure.DETAILS,
    IdentityMethod.CODE_OTHER_CHANNEL: Disclosure.DETAILS,
    # Possession only: the code may have gone to the very phone that answered.
    IdentityMethod.ONE_TIME_CODE: Disclosure.CONCERNED,
    IdentityMethod.KNOWN_CALLBACK: Disclosure.CONCERNED,
}


def disclosure(method: IdentityMethod | None) -> Disclosure | None:
    """What may be told after ``method`` (None: nothing, identity not confirmed)."""
    return None if method is None else RATING[method]


def strong(accepted: Collection[IdentityMethod]) -> list[IdentityMethod]:
    """The accepted methods that allow the details, in their order."""
    return [m for m in ALL_METHODS if m in accepted and RATING[m] is Disclosure.DETAILS]


def concerned_script(operator: str, accepted: Collection[IdentityMethod]) -> Said:
    """What the agent says after a possession-only method: that an incident concerns the
    subscription, and which stronger method would let them tell the details."""
    return said(
        "identity.script.concerned", operator=operator, methods=[m.value for m in strong(accepted)]
    )


SAY = {
    IdentityMethod.BANKID: "BankID (or MitID) during the call",
    IdentityMethod.ONE_TIME_CODE: "a one-time code sent to the number or address on file",
    IdentityMethod.SECURITY_QUESTIONS: "the account's security questions",
    IdentityMethod.KNOWN_CALLBACK: "calling them back on the number on file",
    IdentityMethod.CODE_OTHER_CHANNEL: "a one-time code sent to another channel on file",
}


def accepted_text(accepted: Collection[IdentityMethod]) -> str:
    """The accepted methods in words, for the agent's script."""
    return "; ".join(f"{m.value} ({SAY[m]})" for m in ALL_METHODS if m in accepted)


def refusal(
    outcome: CallOutcome, method: IdentityMethod | None, accepted: Collection[IdentityMethod]
) -> Problem | None:
    """Why a call's outcome and identity method cannot be recorded together (None: they can)."""
    methods = [m.value for m in ALL_METHODS if m in accepted]
    if outcome is CallOutcome.REACHED_VERIFIED:
        if method is None:
            return problem("identity.method_needed", "identified_by", methods=methods)
        if method not in accepted:
            return problem(
                "identity.method_not_accepted", "identified_by", method=method, methods=methods
            )
        return None
    if method is not None:
        return problem("identity.method_without_delivery", "identified_by", outcome=outcome)
    return None
