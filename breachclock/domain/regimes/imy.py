"""Sweden, GDPR art. 33: personal-data breaches outside LEK, to Integritetsskyddsmyndigheten."""

from breachclock.domain.regimes import record as r

RECORD = r.Regime(
    code=r.RegimeCode.mint("imy"),
    regulator="Integritetsskyddsmyndigheten (IMY)",
    channel=r.Channel.EMAIL,
    destination="imy@imy.se",
    language="sv",
    stages=(
        r.Stage("notification", r.StageKind.AUTOMATIC, r.Anchor.AWARENESS, hours=72),
        r.Stage("further_information", r.StageKind.FOLLOW_UP, r.Anchor.PREVIOUS_FILING),
    ),
    sources=(
        r.Source(
            "72 hours from awareness, supplementary information afterwards, the e-service",
            "https://imy.se/en/organisations/forms-and-e-services/notification-of-a-personal-data-breach",
        ),
        r.Source("the e-service's fields", "https://e-tjanster.imy.se/sv/anmalan"),
    ),
    layout=r.Layout.GDPR,
)
