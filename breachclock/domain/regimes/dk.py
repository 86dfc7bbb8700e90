"""Denmark: Erhvervsstyrelsen, the competent authority under Regulation 611/2013 for
providers of electronic communications services. It takes notifications through the
Virk Indberet form, where a person signed in for the operator files; the PDF the
portal gives after sending is the only receipt.

Open question, not settled by the sources found: Digitaliseringsstyrelsen's site
carries the same guidance on handling these breaches under its "digitale tilsyn"
(https://digst.dk/sikkerhed/digitale-tilsyn/persondatasikkerhed-paa-teleomraadet/vejledninger/vejledning-om-haandtering-af-brud-paa-persondatasikkerheden),
which may mean supervision has moved there; Erhvervsstyrelsen's own pages (below) and
seed 002 name Erhvervsstyrelsen. The portal is the same either way: on Virk Indberet
the person filing chooses the receiving authority."""

from breachclock.domain.regimes import record as r

PORTAL = "https://indberet.virk.dk/myndigheder/stat/ERST/Indberetning_af_brud_paa_sikkerhed"

RECORD = r.Regime(
    code=r.RegimeCode.mint("dk"),
    regulator="Erhvervsstyrelsen",
    channel=r.Channel.PORTAL,
    destination=PORTAL,
    language="da",
    stages=(
        r.Stage("initial_report", r.StageKind.AUTOMATIC, r.Anchor.AWARENESS, hours=24),
        r.Stage("follow_up_report", r.StageKind.FOLLOW_UP, r.Anchor.PREVIOUS_FILING, hours=72),
    ),
    sources=(
        r.Source(
            "Erhvervsstyrelsen is the competent authority under 611/2013; notify on Virk Indberet",
            "https://erhvervsstyrelsen.dk/brud-p%C3%A5-persondatasikkerheden",
        ),
        r.Source(
            "notification within 24 hours of detection, filed on Virk",
            "https://erhvervsstyrelsen.dk/tilsyn-med-persondatasikkerheden-paa-teleomraadet",
        ),
        r.Source(
            "the follow-up at the latest three days after the first notification",
            "https://erhvervsstyrelsen.dk/nye-regler-teleudbydere-om-databrud",
        ),
        r.Source("the portal form; its downloaded PDF is the only receipt", PORTAL),
    ),
    phone_region="DK",
)
