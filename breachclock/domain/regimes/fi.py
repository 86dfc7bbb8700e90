"""Finland: Regulation 611/2013 applies directly, so its own clocks hold: notify within
24 hours of detection, and where facts are missing the rest at the latest three days
after the initial notification (art. 2). The competent authority its notifications went
to was FICORA (Viestintävirasto), whose page told telecoms operators to notify personal
data breaches on the form of annex 2 of its Regulation 66, or free-form by e-mail;
FICORA was merged into Traficom on 1 January 2019.

Not sourced, so not guessed:

- a current Traficom page saying it still takes these notifications, and the address or
  e-service it takes them at. The record therefore names no address: a person files,
  as the authority's instructions say (channel ``PORTAL``: the engine prepares the
  filing, pages the people who file it, and counts it sent when they record the
  receipt), and the destination is the instructions page found, FICORA's;
- that Traficom accepts the filing in Swedish. The Language Act (423/2003) gives
  everyone the right to use Finnish or Swedish with an authority; the filing is written
  in Swedish because the engine has no Finnish catalogue.

The filing's terms are PTS's Swedish ones (the catalogue's ``filing.*`` keys with no
``@fi`` variant): Traficom's own terms were looked for and not found. Searched (the
project's search tool, December 2026): in stored pages, "Traficom ilmoitus
tietoturvaloukkauksesta teleyritys henkilötietojen tietoturvaloukkaus lomake",
"kyberturvallisuuskeskus teleyritys ilmoita tietoturvaloukkaus häiriö lomake",
"Määräys 66 liite 2 ilmoitus henkilötietoihin kohdistuvasta tietoturvaloukkauksesta
lomake kentät", "Viestintävirasto määräys 66 henkilötietoihin kohdistuvat
tietoturvaloukkaukset ilmoitus" and, in Swedish, "Cybersäkerhetscentret teleföretag
anmälan kränkning av dataskyddet blankett Traficom 611/2013". Found: Traficom's
Cybersäkerhetscentret (kyberturvallisuuskeskus.fi/sv, "Anmäl kränkning av
informationssäkerhet") says telecoms operators have forms of their own for reporting
information security violations and disturbances, without showing them; FICORA's
explanatory memoranda to its Regulations 9 and 66 (MPS 9, MPS 66) exist as copies on
docplayer.fi, whose excerpts name no form fields; the data protection ombudsman's GDPR
form (tietosuoja.fi) is another authority's. Not found: the fields of Traficom's (or
FICORA's Regulation 66 annex 2) form for 611/2013 notifications, in Finnish or Swedish.
So no term was changed: a term taken from another authority's form, or translated from
Finnish here, would be invented.
"""

from breachclock.domain.regimes import record as r

INSTRUCTIONS = (
    "https://www.viestintavirasto.fi/en/cybersecurity/telecomsoperatorsrightsandobligations/"
    "notificationofinformationsecurityviolations.html"
)

RECORD = r.Regime(
    code=r.RegimeCode.mint("fi"),
    regulator="Traficom",
    channel=r.Channel.PORTAL,
    destination=INSTRUCTIONS,
    language="sv",
    stages=(
        r.Stage("initial_report", r.StageKind.AUTOMATIC, r.Anchor.AWARENESS, hours=24),
        r.Stage("follow_up_report", r.StageKind.FOLLOW_UP, r.Anchor.PREVIOUS_FILING, hours=72),
    ),
    sources=(
        r.Source(
            "24 hours from detection; the rest at the latest three days after (art. 2)",
            "https://eur-lex.europa.eu/eli/reg/2013/611/oj",
        ),
        r.Source(
            "FICORA took 611/2013 notifications: the Regulation 66 form, or e-mail",
            INSTRUCTIONS,
        ),
        r.Source(
            "Traficom's Cybersäkerhetscentret: telecoms operators report on forms of their own",
            "https://www.kyberturvallisuuskeskus.fi/sv/vara-tjanster/anmal-krankning-av-informationssakerhet",
        ),
        r.Source(
            "FICORA merged into Traficom on 1 January 2019",
            "https://merlin.obs.coe.int/article/8474",
        ),
        r.Source(
            "everyone may use Finnish or Swedish with an authority (Language Act 423/2003)",
            "https://finlex.fi/fi/laki/ajantasa/2003/20030423",
        ),
    ),
    phone_region="FI",
)
