"""NIS2 art. 23: a significant security incident, reported beside the privacy report.

The recipient is named as the body whose address the record sends to (CERT-SE): a
generic "CSIRT / competent authority" was English printed into Swedish reports."""

from breachclock.domain.regimes import record as r

RECORD = r.Regime(
    code=r.RegimeCode.mint("nis2"),
    regulator="CERT-SE",
    channel=r.Channel.EMAIL,
    destination="cert@cert.se",
    language="en",
    stages=(
        r.Stage("early_warning", r.StageKind.AUTOMATIC, r.Anchor.AWARENESS, hours=24),
        r.Stage("incident_notification", r.StageKind.AUTOMATIC, r.Anchor.AWARENESS, hours=72),
        r.Stage(
            "final_report",
            r.StageKind.FOLLOW_UP,
            r.Anchor.PREVIOUS_FILING,
            calendar_month=True,
            needs_own_filing=True,
        ),
    ),
    sources=(
        r.Source(
            "early warning 24 h, notification 72 h, final report within one month (art. 23)",
            "https://eur-lex.europa.eu/eli/dir/2022/2555/oj",
        ),
        r.Source(
            "CERT-SE's address for security incidents", "https://cert.se/om-cert-se/rfc-2350/"
        ),
    ),
    layout=r.Layout.NIS2,
    privacy=False,
)
