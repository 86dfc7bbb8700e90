"""Tre's PBX incident (seed 004) as the tests tell it: callers to the affected business
customers, known by nothing but their number, told by SMS.

The facts and contact details are the seed's: Tre's page "Säkerhetsinformation om Tres
växeltjänst för företag" (intrusion 2-7 July, call logs seen, phone 46 (0) 735 300 407,
kontakta.foretag@tre.se).
"""

from __future__ import annotations

from breachclock.domain.notify.notice import IncidentNotice, Operator
from breachclock.domain.notify.sms import SmsNotice

TRE = Operator(name="Tre", phone="+46 735 300 407", email="kontakta.foretag@tre.se")

NOTICE = IncidentNotice.model_validate(
    {
        "reference": "TRE-2025-PBX",
        "access_from": "2025-07-02T00:00+02:00",
        "access_until": "2025-07-07T23:59+02:00",
        "what_happened": {
            "sv": "Obehöriga tog över användarkonton i Tres växeltjänst för företag och kom över"
            " loggar med inkommande och utgående samtal.",
            "en": "Outsiders took over user accounts in Tre's business switchboard service and"
            " obtained logs of incoming and outgoing calls.",
            "da": "Uvedkommende overtog brugerkonti i Tres omstillingstjeneste for virksomheder"
            " og fik adgang til log over indgående og udgående opkald.",
        },
        "consequences": {
            "sv": "Ditt telefonnummer och vilket nummer du ringde kan ha setts av obehöriga.",
            "en": "Your phone number and the number you called may have been seen by outsiders.",
            "da": "Dit telefonnummer og hvilket nummer du ringede til kan være set af uvedkommende.",
        },
        "measures_taken": [
            {
                "what": {
                    "sv": "Vi stängde åtkomsten och återställde lösenorden för alla växelkunder.",
                    "en": "We closed the access and reset the passwords of every PBX customer.",
                    "da": "Vi lukkede adgangen og nulstillede adgangskoderne for alle kunder.",
                }
            }
        ],
    }
)

SMS = SmsNotice(
    sender="Tre",
    summary={
        "sv": "Ditt nummer fanns i en samtalslista hos ett företag vars växel hos oss utsattes"
        " för dataintrång 2-7 juli. Du behöver inte göra något.",
        "en": "Your number was in a call log of a business whose switchboard with us was broken"
        " into on 2-7 July. You need not do anything.",
        "da": "Dit nummer stod i en opkaldsliste hos en virksomhed, hvis omstilling hos os blev"
        " udsat for indbrud 2.-7. juli. Du behøver ikke gøre noget.",
    },
)
