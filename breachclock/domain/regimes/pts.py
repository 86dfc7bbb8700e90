"""Sweden, LEK (2022:482) and Regulation 611/2013: integrity incidents in providing a
communications service, reported to Post- och telestyrelsen by e-mail with its form."""

from breachclock.domain.regimes import record as r

PAGE = "https://pts.se/internet-och-telefoni/rappportera-incident-till-pts/rapportera-integritetsincident"

RECORD = r.Regime(
    code=r.RegimeCode.mint("pts"),
    regulator="Post- och telestyrelsen (PTS)",
    channel=r.Channel.EMAIL,
    destination="incidentrapport@pts.se",
    language="sv",
    stages=(
        r.Stage("initial_report", r.StageKind.AUTOMATIC, r.Anchor.AWARENESS, hours=24),
        r.Stage("supplementary_report", r.StageKind.FOLLOW_UP, r.Anchor.PREVIOUS_FILING, hours=72),
    ),
    sources=(
        r.Source("authority, e-mail address, 24 hours from discovery, 3 days after it", PAGE),
        r.Source(
            "the form's fields (PTS's guidance, seed 003)",
            "https://www.pts.se/sv/bransch/telefoni/sakerhet-och-skydd-av-uppgifter/rapportera-integritetsincident/",
        ),
    ),
)
