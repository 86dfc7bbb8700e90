"""NIS2 art. 23: a significant security incident, reported beside the privacy report.

The recipient is named as the body whose address the record sends to (CERT-SE): a
generic "CSIRT / competent authority" was English printed into Swedish reports.

Its layout (``Layout.NIS2``, ``report._Form.nis2``) gives each stage of art. 23(4) its
own sections, each heading citing its point. The English headings follow the
directive's English text (CELEX 32022L2555, art. 23(4) as published on nis2-info.eu and
digiturvamalli.fi, matching EUR-Lex). The Swedish stage names are the catalogue's
("tidig varning", "incidentanmälan", "slutrapport"); the search tool reached the Swedish
EUR-Lex text and springlex.eu's Swedish article 23 only as far as paragraph 1, so the
Swedish wording of the items of paragraph 4 in the headings is a translation to be
checked against the Swedish EUR-Lex text, not a quotation of it."""

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
            "what each stage says (art. 23(4)(a), (b), (d)): the layout's sections",
            "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:32022L2555",
        ),
        r.Source(
            "the Swedish terms: tidig varning, incidentanmälan, slutrapport",
            "https://eur-lex.europa.eu/legal-content/SV/TXT/HTML/?uri=CELEX:02022L2555-20221227",
        ),
        r.Source(
            "CERT-SE's address for security incidents", "https://cert.se/om-cert-se/rfc-2350/"
        ),
    ),
    layout=r.Layout.NIS2,
    privacy=False,
)
