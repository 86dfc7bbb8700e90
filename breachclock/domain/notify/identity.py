"""How a person proved who they are on a notification call (seed 001: the notice is
given only to the person, so every delivered call says how they were identified).

The methods an operator accepts are configurable (``BREACHCLOCK_IDENTITY_METHODS``);
a call recorded ``reached_verified`` without one of them is refused wherever it comes
from: an agent, the console, or a dialer.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from breachclock.domain.notify.delivery import CallOutcome
from breachclock.domain.problems import Problem, problem


class IdentityMethod(StrEnum):
    BANKID = "bankid"
    """Signed in with BankID / MitID during the call."""
    ONE_TIME_CODE = "one_time_code"
    """Read back a code sent to the number or e-mail address on file."""
    SECURITY_QUESTIONS = "security_questions"
    """Answered the account's security questions."""
    KNOWN_CALLBACK = "known_callback"
    """Was called back on the number on file."""


ALL_METHODS: tuple[IdentityMethod, ...] = tuple(IdentityMethod)

SAY = {
    IdentityMethod.BANKID: "BankID (or MitID) during the call",
    IdentityMethod.ONE_TIME_CODE: "a one-time code sent to the number or address on file",
    IdentityMethod.SECURITY_QUESTIONS: "the account's security questions",
    IdentityMethod.KNOWN_CALLBACK: "calling them back on the number on file",
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
