"""Whether to notify subscribers and users, and why: Regulation 611/2013 art. 3–4 and PTS's guidance.

The assessment is structured so the reasons can be read back: the kinds of data, the
likely consequences, the circumstances, and the technical protection. ``recommend``
turns it into a recommendation with plain reasons; the person responsible records a
``Decision``; ``check_decision`` lists what in that decision the assessment does not
support (the regulator may disagree with a skipped notice, and can require one).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from breachclock.domain.inputs import InputModel, Name, Text, Truth
from breachclock.domain.notify.plan import PRESETS
from breachclock.domain.notify.sms import SmsNotice
from breachclock.domain.problems import Problem, Said, invalid, problem, said


class DataKind(StrEnum):
    FINANCIAL = "financial"
    SENSITIVE_CATEGORY = "sensitive_category"
    """Ethnic origin, political opinions, religious or philosophical beliefs, union membership."""
    LOCATION = "location"
    INTERNET_LOGS = "internet_logs"
    BROWSING_HISTORY = "browsing_history"
    EMAIL_DATA = "email_data"
    ITEMISED_CALL_LIST = "itemised_call_list"
    SECRET_NUMBER_OR_ADDRESS = "secret_number_or_address"
    SUBSCRIBER_IDENTITY = "subscriber_identity"
    OTHER = "other"


class Consequence(StrEnum):
    IDENTITY_THEFT_OR_FRAUD = "identity_theft_or_fraud"
    PHYSICAL_HARM = "physical_harm"
    PSYCHOLOGICAL_HARM = "psychological_harm"
    HUMILIATION = "humiliation"
    REPUTATION_DAMAGE = "reputation_damage"
    NONE_IDENTIFIED = "none_identified"


class ProtectionMethod(StrEnum):
    NONE = "none"
    STANDARD_ENCRYPTION = "standard_encryption"
    KEYED_HASH = "keyed_hash"
    OTHER = "other"


HARMFUL_KINDS = (
    DataKind.FINANCIAL,
    DataKind.SENSITIVE_CATEGORY,
    DataKind.LOCATION,
    DataKind.INTERNET_LOGS,
    DataKind.BROWSING_HISTORY,
    DataKind.EMAIL_DATA,
    DataKind.ITEMISED_CALL_LIST,
    DataKind.SECRET_NUMBER_OR_ADDRESS,
)
"""The kinds of data the guidance names as pointing to adverse effect (all but identity/other);
the reason for each is the catalogue's ``reason.data.<kind>``."""

# Standardised algorithms (art. 4(1)(a) encryption, art. 4(1)(b) keyed hash), compared
# after upper-casing and dropping spaces, '-', '_' and '/'.
STANDARD_CIPHERS = ("AES", "CHACHA20", "XCHACHA20", "CAMELLIA")
STANDARD_KEYED_HASHES = ("HMACSHA2", "HMACSHA3", "HMACSHA256", "HMACSHA384", "HMACSHA512", "KMAC")


def _compact(algorithm: str) -> str:
    return re.sub(r"[\s\-_/]", "", algorithm).upper()


class Protection(InputModel):
    """The technical protection the affected data had when it was exposed."""

    method: ProtectionMethod = ProtectionMethod.NONE
    algorithm: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    """E.g. "AES-256-GCM", "HMAC-SHA-256"."""
    key_compromised: Truth = False
    key_derivable: Truth = False
    """True when the key can be worked out by any available technological means."""

    def shortcomings(self) -> list[Said]:
        """Why this protection does NOT make the data unintelligible (art. 4); empty when it does."""
        found: list[Said] = []
        algorithm = _compact(self.algorithm or "")
        if self.method is ProtectionMethod.NONE:
            return [said("reason.protection.none")]
        if self.method is ProtectionMethod.OTHER:
            found.append(said("reason.protection.not_standard"))
        elif not self.algorithm:
            found.append(said("reason.protection.no_algorithm"))
        elif self.method is ProtectionMethod.STANDARD_ENCRYPTION:
            if not algorithm.startswith(STANDARD_CIPHERS):
                found.append(said("reason.protection.unknown_cipher", algorithm=self.algorithm))
        elif not algorithm.startswith(STANDARD_KEYED_HASHES):
            found.append(said("reason.protection.unkeyed_hash", algorithm=self.algorithm))
        if self.key_compromised:
            found.append(said("reason.protection.key_compromised"))
        if self.key_derivable:
            found.append(said("reason.protection.key_derivable"))
        return found


class Assessment(InputModel):
    """The structured judgement of adverse effect on subscribers and users."""

    data_kinds: Annotated[list[DataKind], Field(min_length=1)]
    consequences: Annotated[list[Consequence], Field(min_length=1)]
    """Likely consequences; ``[none_identified]`` when none were found (say so explicitly)."""
    stolen: Truth
    known_with_third_party: Truth
    """The data is known to be held by an unauthorised third party."""
    protection: Protection = Protection()
    affects_users_besides_subscribers: Truth = False
    """Users other than the subscriber are affected (a company subscribes, employees use it)."""
    notes: Text | None = None

    @field_validator("consequences")
    @classmethod
    def _none_alone(cls, value: list[Consequence]) -> list[Consequence]:
        if Consequence.NONE_IDENTIFIED in value and len(set(value)) > 1:
            raise invalid("assessment.none_alone")
        return value

    def harm_indicators(self) -> list[Said]:
        """Every circumstance pointing to adverse effect."""
        reasons = [said(f"reason.data.{k.value}") for k in HARMFUL_KINDS if k in self.data_kinds]
        reasons += [
            said(f"reason.consequence.{c.value}")
            for c in Consequence
            if c in self.consequences and c is not Consequence.NONE_IDENTIFIED
        ]
        if self.stolen:
            reasons.append(said("reason.stolen"))
        if self.known_with_third_party:
            reasons.append(said("reason.third_party"))
        return reasons


Exemption = Literal["unintelligible", "no_adverse_effect"]
JUSTIFICATION_MIN = 20
"""Characters a decision not to notify must give as its justification."""


def _legacy_reason(value: Any) -> Any:
    """A reason recorded as English text before reasons were coded: kept, as said."""
    return said("reason.recorded", text=value) if isinstance(value, str) else value


Reason = Annotated[Said, BeforeValidator(_legacy_reason)]


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True)

    notify: bool
    reasons: list[Reason]
    exemption: Exemption | None = None
    basis: Reason | None = None
    """The rule the reasons are weighed under, read as their heading."""


def recommend(assessment: Assessment) -> Recommendation:
    """Notify or not, with the reasons a person reads and the report can quote."""
    indicators = assessment.harm_indicators()
    shortcomings = assessment.protection.shortcomings()
    users = [said("reason.users_too")] if assessment.affects_users_besides_subscribers else []
    if not shortcomings:
        protected = said(
            "reason.unintelligible",
            algorithm=assessment.protection.algorithm,
            method=assessment.protection.method,
        )
        weighed = [said("reason.would_call_for_notice"), *indicators] if indicators else []
        return Recommendation(
            notify=False,
            reasons=[protected, *weighed, said("reason.unintelligible_proof")],
            exemption="unintelligible",
        )
    if indicators:
        reasons = list(indicators)
        if assessment.protection.method is not ProtectionMethod.NONE:
            reasons += [said("reason.protection_does_not_exempt"), *shortcomings]
        return Recommendation(
            notify=True,
            basis=said("reason.basis.notify"),
            reasons=reasons + users,
            exemption=None,
        )
    return Recommendation(
        notify=False,
        reasons=[
            said("reason.no_adverse_effect", kinds=assessment.data_kinds),
            said("reason.justify_not_notifying"),
        ],
        exemption="no_adverse_effect",
    )


class Decision(InputModel):
    """What the person responsible decided, as recorded in the report (PTS field 9)."""

    notify: Truth
    exemption: Exemption | None = None
    """The ground for not notifying; required when not notifying."""
    justification: Annotated[str, Field(max_length=20_000)] | None = None
    decided_by: Name
    after_containment: Truth = False
    """Tell nobody before every takedown is confirmed (nobody hears "it has been removed"
    before it is)."""
    plan: str | None = None
    """The notification plan's preset (``plan.PRESETS``); None: the regime's default."""
    sms: SmsNotice | None = None
    """The SMS text, for a plan with an SMS step (checked at approval)."""

    @model_validator(mode="after")
    def _justified(self) -> Decision:
        if self.plan is not None and self.plan not in PRESETS:
            raise invalid("decide.plan_unknown", "plan", plans=sorted(PRESETS))
        if not self.notify:
            text = (self.justification or "").strip()
            if len(text) < JUSTIFICATION_MIN:
                raise invalid(
                    "decide.justification_short", "justification", minimum=JUSTIFICATION_MIN
                )
        return self


def check_decision(assessment: Assessment, decision: Decision) -> list[Problem]:
    """What in the decision the assessment does not support; empty when it holds up."""
    if decision.notify:
        if decision.exemption is not None:
            return [
                problem("decide.notify_with_exemption", "exemption", exemption=decision.exemption)
            ]
        return []
    if decision.exemption is None:
        return [problem("decide.ground_needed", "exemption")]
    if decision.exemption == "unintelligible":
        shortcomings = assessment.protection.shortcomings()
        if shortcomings:
            return [problem("decide.unintelligible_fails", "exemption", because=shortcomings)]
        return []
    indicators = assessment.harm_indicators()
    if indicators:
        return [problem("decide.adverse_effect_likely", "exemption", because=indicators)]
    return []
