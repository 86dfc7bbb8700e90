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
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from breachclock.domain.inputs import InputModel, Name, Text


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


DATA_KIND_REASONS: dict[DataKind, str] = {
    DataKind.FINANCIAL: "Financial data is affected.",
    DataKind.SENSITIVE_CATEGORY: (
        "Sensitive personal data is affected (ethnic origin, political opinions, "
        "religious or philosophical beliefs, or union membership)."
    ),
    DataKind.LOCATION: "Location data is affected.",
    DataKind.INTERNET_LOGS: "Internet logs are affected.",
    DataKind.BROWSING_HISTORY: "Browsing history is affected.",
    DataKind.EMAIL_DATA: "E-mail data is affected.",
    DataKind.ITEMISED_CALL_LIST: "Itemised call lists are affected.",
    DataKind.SECRET_NUMBER_OR_ADDRESS: (
        "Secret numbers or addresses are affected: people who asked for them to be kept "
        "secret may have reasons to fear being found."
    ),
}
"""The kinds of data the guidance names as pointing to adverse effect (all but identity/other)."""

CONSEQUENCE_REASONS: dict[Consequence, str] = {
    Consequence.IDENTITY_THEFT_OR_FRAUD: "Identity theft or fraud is a likely consequence.",
    Consequence.PHYSICAL_HARM: "Physical harm is a likely consequence.",
    Consequence.PSYCHOLOGICAL_HARM: "Psychological harm is a likely consequence.",
    Consequence.HUMILIATION: "Humiliation is a likely consequence.",
    Consequence.REPUTATION_DAMAGE: "Damage to reputation is a likely consequence.",
}

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
    key_compromised: bool = False
    key_derivable: bool = False
    """True when the key can be worked out by any available technological means."""

    def shortcomings(self) -> list[str]:
        """Why this protection does NOT make the data unintelligible (art. 4); empty when it does."""
        problems: list[str] = []
        algorithm = _compact(self.algorithm or "")
        if self.method is ProtectionMethod.NONE:
            return ["The data was not protected by encryption or a keyed hash."]
        if self.method is ProtectionMethod.OTHER:
            problems.append(
                "The protection is neither standardised encryption nor a standardised keyed "
                "hash (art. 4), so the data does not count as unintelligible; plain or unkeyed "
                "hashing, encoding or obfuscation is not enough."
            )
        elif not self.algorithm:
            problems.append(
                "No algorithm is named, so it cannot be shown that a standardised one was used "
                "(art. 4)."
            )
        elif self.method is ProtectionMethod.STANDARD_ENCRYPTION:
            if not algorithm.startswith(STANDARD_CIPHERS):
                problems.append(
                    f"The encryption algorithm {self.algorithm!r} is not one breachclock "
                    "recognises as standardised (AES, ChaCha20, Camellia); art. 4 requires a "
                    "standardised algorithm."
                )
        elif not algorithm.startswith(STANDARD_KEYED_HASHES):
            problems.append(
                f"The hash {self.algorithm!r} is not a standardised keyed hash (HMAC with "
                "SHA-2 or SHA-3, or KMAC); an unkeyed hash can be reversed for data as "
                "guessable as phone numbers and addresses, so it does not make the data "
                "unintelligible (art. 4)."
            )
        if self.key_compromised:
            problems.append(
                "The key was compromised in the incident, so the data is intelligible to "
                "whoever holds it."
            )
        if self.key_derivable:
            problems.append(
                "The key can be derived by available technological means, so the protection "
                "does not make the data unintelligible."
            )
        return problems


class Assessment(InputModel):
    """The structured judgement of adverse effect on subscribers and users."""

    data_kinds: Annotated[list[DataKind], Field(min_length=1)]
    consequences: Annotated[list[Consequence], Field(min_length=1)]
    """Likely consequences; ``[none_identified]`` when none were found (say so explicitly)."""
    stolen: bool
    known_with_third_party: bool
    """The data is known to be held by an unauthorised third party."""
    protection: Protection = Protection()
    affects_users_besides_subscribers: bool = False
    """Users other than the subscriber are affected (a company subscribes, employees use it)."""
    notes: Text | None = None

    @field_validator("consequences")
    @classmethod
    def _none_alone(cls, value: list[Consequence]) -> list[Consequence]:
        if Consequence.NONE_IDENTIFIED in value and len(set(value)) > 1:
            raise ValueError("none_identified cannot be combined with a consequence")
        return value

    def harm_indicators(self) -> list[str]:
        """Every circumstance pointing to adverse effect, as sentences."""
        reasons = [
            DATA_KIND_REASONS[k]
            for k in DataKind
            if k in self.data_kinds and k in DATA_KIND_REASONS
        ]
        reasons += [
            CONSEQUENCE_REASONS[c]
            for c in Consequence
            if c in self.consequences and c in CONSEQUENCE_REASONS
        ]
        if self.stolen:
            reasons.append("The data was stolen.")
        if self.known_with_third_party:
            reasons.append("The data is known to be held by an unauthorised third party.")
        return reasons


Exemption = Literal["unintelligible", "no_adverse_effect"]


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True)

    notify: bool
    reasons: list[str]
    exemption: Exemption | None = None
    basis: str | None = None
    """The rule the reasons are weighed under, read as their heading."""


UNINTELLIGIBLE_PROOF = (
    "The provider must be able to show the authority that the protection meets art. 4 "
    "(algorithm, key management, that the key was neither compromised nor derivable), "
    "and the report must give this as the reason for not notifying."
)


def recommend(assessment: Assessment) -> Recommendation:
    """Notify or not, with the reasons a person reads and the report can quote."""
    indicators = assessment.harm_indicators()
    shortcomings = assessment.protection.shortcomings()
    users = (
        [
            "Users other than the subscribers are affected: notify them too, not only the subscribers."
        ]
        if assessment.affects_users_besides_subscribers
        else []
    )
    if not shortcomings:
        algorithm = assessment.protection.algorithm
        protected = (
            f"The data was protected by {algorithm} ({assessment.protection.method.value.replace('_', ' ')}), "
            "a standardised algorithm whose key was not compromised and cannot be derived: it counts "
            "as unintelligible to anyone not authorised to access it (Regulation 611/2013 art. 4)."
        )
        weighed = (
            ["Without that protection these would call for notice: " + " ".join(indicators)]
            if indicators
            else []
        )
        return Recommendation(
            notify=False,
            reasons=[protected, *weighed, UNINTELLIGIBLE_PROOF],
            exemption="unintelligible",
        )
    if indicators:
        reasons = list(indicators)
        if assessment.protection.method is not ProtectionMethod.NONE:
            reasons.append("The protection does not exempt the notice: " + " ".join(shortcomings))
        return Recommendation(
            notify=True,
            basis="Notify the affected subscribers without undue delay (611/2013 art. 3), because:",
            reasons=reasons + users,
            exemption=None,
        )
    return Recommendation(
        notify=False,
        reasons=[
            "Nothing in the assessment suggests adverse effect: only "
            + ", ".join(k.value.replace("_", " ") for k in assessment.data_kinds)
            + " data, not stolen, not known to be held by a third party, and no likely "
            "consequence identified.",
            "The report must justify not notifying; PTS may disagree and require a notice, "
            "and notifying anyway is always allowed.",
        ],
        exemption="no_adverse_effect",
    )


class Decision(InputModel):
    """What the person responsible decided, as recorded in the report (PTS field 9)."""

    notify: bool
    exemption: Exemption | None = None
    """The ground for not notifying; required when not notifying."""
    justification: Annotated[str, Field(max_length=20_000)] | None = None
    decided_by: Name
    after_containment: bool = False
    """Tell nobody before every takedown is confirmed (nobody hears "it has been removed"
    before it is)."""

    @model_validator(mode="after")
    def _justified(self) -> Decision:
        if not self.notify:
            text = (self.justification or "").strip()
            if len(text) < 20:
                raise ValueError(
                    "not notifying needs a justification of at least 20 characters "
                    "(it goes into the report, and the regulator may disagree)"
                )
        return self


def check_decision(assessment: Assessment, decision: Decision) -> list[str]:
    """What in the decision the assessment does not support; empty when it holds up."""
    if decision.notify:
        if decision.exemption is not None:
            return [
                f"The decision is to notify but also claims the {decision.exemption!r} "
                "exemption; drop the exemption."
            ]
        return []
    problems: list[str] = []
    if decision.exemption is None:
        problems.append(
            "Not notifying needs a ground: 'unintelligible' (art. 4 protection) or "
            "'no_adverse_effect'."
        )
    elif decision.exemption == "unintelligible":
        shortcomings = assessment.protection.shortcomings()
        if shortcomings:
            problems.append(
                "The unintelligible-data exemption (art. 4) does not hold: "
                + " ".join(shortcomings)
            )
    else:
        indicators = assessment.harm_indicators()
        if indicators:
            problems.append(
                "The no-adverse-effect exemption contradicts the assessment: "
                + " ".join(indicators)
            )
    return problems
