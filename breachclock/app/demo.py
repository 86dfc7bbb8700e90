"""``starter.py demo``: the Comviq secret-number case, start to finish, in seconds.

Runs on Temporal's time-skipping test server with a real worker and the local
outbox, so every mail it shows is a real .eml file in the data folder.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from breachclock.app.engine import build_worker, prepare_data_dir, relay_for
from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.model import (
    Close,
    Discover,
    Facts,
    FactsPatch,
    IncidentState,
    Justify,
    OpenIncident,
)
from breachclock.domain.incident.notification_views import notification_text
from breachclock.domain.instants import show, zone
from breachclock.domain.notify.assessment import Assessment, Consequence, DataKind, Decision
from breachclock.domain.notify.notice import IncidentNotice
from breachclock.domain.notify.subscribers import Language, Subscriber
from breachclock.runtime.config import Settings
from breachclock.runtime.outbox import Outbox, free_port
from breachclock.runtime.store import open_notify_store
from breachclock.runtime.temporal import data_converter, start_time_skipping, workflow_id
from breachclock.service import containment, incidents
from breachclock.service.engine import Engine
from breachclock.service.notification import load_list
from workflows.incident import IncidentWorkflow
from workflows.messages import IncidentStart

REFERENCE_PREFIX = "COMVIQ-DEMO"
AFFECTED = 3300


def first_facts(migration: datetime) -> Facts:
    return Facts.model_validate(
        {
            "occurred": {
                "at": migration.isoformat(),
                "how": "estimate: the date of the customer-platform migration, from the change log",
            },
            "breach_types": ["disclosure"],
            "services": ["mobile subscriptions (Comviq)"],
            "data_kinds": ["secret (unlisted) phone numbers", "names", "addresses"],
            "circumstances": (
                "A migration program set 'publish' on customers who had asked for secret numbers; "
                "the data went to directory-enquiry companies and onward to the web."
            ),
            "unknown_because": {
                "affected_count": "the directory extracts since the migration are still being compared",
                "root_cause": "the migration program's rule is being reviewed with the supplier",
            },
        }
    )


def later_facts() -> FactsPatch:
    return FactsPatch(
        changes={
            "affected_count": 3300,
            "systems": ["customer database", "directory export"],
            "location_and_media": "customer database in the operator's data centre; daily export files",
            "subscriber_effect": "Secret numbers and addresses could be found in directory services and on the web.",
            "potential_consequences": "Unwanted contact, harassment, and risk for people with protected identities.",
            "measures_taken": [
                {"what": "directory companies told to remove the numbers", "on": None}
            ],
            "measures_planned": [
                {"what": "migration rules reviewed and tested against secret-number flags"}
            ],
            "other_providers": "directory-enquiry companies received the data; none processed it on our behalf",
            "cross_border": "no users in other member states known; no other authority notified",
        }
    )


HARM = Assessment(
    data_kinds=[DataKind.SECRET_NUMBER_OR_ADDRESS],
    consequences=[Consequence.PHYSICAL_HARM, Consequence.PSYCHOLOGICAL_HARM],
    stolen=False,
    known_with_third_party=True,
)
"""People who asked for a secret number may have reasons to fear being found."""


def comviq_notice(reference: str, access_from: datetime) -> IncidentNotice:
    """The notice the affected customers get, in Swedish and English."""
    return IncidentNotice.model_validate(
        {
            "reference": reference,
            "access_from": access_from,
            "time_estimated": True,
            "what_happened": {
                "sv": "Ett fel i en migrering gjorde hemliga nummer synliga.",
                "en": "A migration error made secret numbers visible.",
            },
            "consequences": {
                "sv": "Den som sökte på ditt namn kan ha sett ditt nummer.",
                "en": "Anyone searching for your name may have seen your number.",
            },
            "measures_taken": [
                {"what": {"sv": "Vi har tagit bort uppgifterna.", "en": "We removed the data."}}
            ],
            # The assessment finds physical and psychological harm likely: the notice says
            # what the person can do about it (Annex II), or it is refused.
            "recommendations": {
                "sv": "Får du oönskade samtal eller kontakter på grund av detta, hör av dig "
                "till oss: vi byter ditt nummer utan kostnad. Känner du dig hotad, kontakta "
                "polisen.",
                "en": "If you get unwanted calls or contacts because of this, contact us: we "
                "change your number at no cost. If you feel threatened, contact the police.",
            },
            # The CRM's item names: the demo's customers' and the campaign tests'.
            "item_labels": {
                "hemligt nummer": {"sv": "hemligt nummer", "en": "secret number"},
                "adress": {"sv": "adress", "en": "address"},
                "secret number": {"sv": "hemligt nummer", "en": "secret number"},
            },
        }
    )


def affected(count: int) -> list[Subscriber]:
    """Made-up customers with sequential numbers: one in ten without an e-mail address
    (told by letter if no call gets through), one in five reading English."""
    return [
        Subscriber(
            id=f"C{n:05d}",
            name=f"Kund {n}",
            phone=f"+4670{n:07d}",
            email=None if n % 10 == 0 else f"kund{n}@example.org",
            language=Language.EN if n % 5 == 0 else Language.SV,
            affected_items=["hemligt nummer", "adress"] if n % 3 else ["hemligt nummer"],
        )
        for n in range(1, count + 1)
    ]


def root_cause() -> FactsPatch:
    return FactsPatch(
        changes={
            "root_cause": "mistake",
            "root_cause_detail": "the migration mapped a missing flag to 'publish' instead of 'secret'",
        }
    )


def demo_folder(settings: Settings, now: datetime) -> Path:
    """A folder of the demo's own under the data folder, new for each run: its register,
    outbox, campaign store and keys never mix with the engine's real ones."""
    return settings.data_dir / "demo" / f"{now:%Y%m%d-%H%M%S}"


async def run_demo(settings: Settings, own_folder: bool = True) -> None:
    """The demo, in a folder of its own unless ``own_folder`` is False (``--data-dir``)."""
    if own_folder:
        folder = demo_folder(settings, datetime.now(UTC))
        settings = settings.model_copy(update={"data_dir": folder})
    await prepare_data_dir(settings)
    env = await start_time_skipping(data_converter(settings))
    settings = settings.model_copy(
        update={"task_queue": "breachclock-demo", "smtp_port": free_port()}
    )
    try:
        with Outbox(settings.outbox_dir, settings.smtp_port) as outbox:
            async with build_worker(env.client, settings, relay_for(settings)):
                await _scenario(env, settings)
            mails = sorted(outbox.folder.glob(f"*{REFERENCE_PREFIX}*.eml"))
            print(f"\n{len(mails)} mails for this demo are in {outbox.folder.resolve()}")
            print(f"The demo's own data folder (register, campaign store): {settings.data_dir}")
    finally:
        await env.shutdown()


async def _scenario(env: WorkflowEnvironment, settings: Settings) -> None:
    tz = zone(settings.operator_zone)
    start = await env.get_current_time()
    reference = f"{REFERENCE_PREFIX}-{start:%Y%m%d%H%M%S}"
    seen = 0

    async def show_progress(
        handle: WorkflowHandle[IncidentWorkflow, IncidentState], label: str
    ) -> None:
        nonlocal seen
        state = await handle.query(IncidentWorkflow.status)
        print(f"\n== {label} (engine clock {show(await env.get_current_time(), tz)})")
        for entry in state.timeline[seen:]:
            print(f"   {show(entry.recorded_at, tz)}  {entry.what}")
        seen = len(state.timeline)

    migration = (start - timedelta(days=90)).replace(minute=0, second=0, microsecond=0)
    opening = OpenIncident(
        reference=reference,
        title="Secret numbers published after a migration",
        opened_by="Incident manager",
        facts=first_facts(migration),
    )
    handle = await env.client.start_workflow(
        IncidentWorkflow.run,
        IncidentStart(opening=opening),
        id=workflow_id(reference),
        task_queue=settings.task_queue,
    )
    print(
        f"Comviq case as {reference}: 3,300 secret numbers published by a migration on "
        f"{show(migration, tz)}, found three months later when a customer asked why."
    )
    await handle.execute_update(
        IncidentWorkflow.discover,
        Discover(
            at=start,
            by="On-call engineer",
            how="a customer asked why their secret number is listed",
        ),
    )
    await show_progress(handle, "discovered: the 24-hour clock runs")
    engine = Engine(settings, env.client)
    for recipient in ("eniro", "hitta"):
        await containment.request_takedown(
            engine, reference, recipient, TAKEDOWN_SCOPE, AFFECTED, "Incident manager"
        )
    await env.sleep(timedelta(minutes=5))
    await show_progress(handle, "containment: takedown requests to the directory companies")
    await env.sleep(timedelta(hours=18))
    token = ack_token(settings.outbox_dir, " 6 h (")  # the 6-hour page, in any language
    answer = await incidents.acknowledge(engine, reference, "Incident manager", token=token)
    print(f"\n== the 6-hour page's link, opened by the incident manager: {answer.message}")
    await containment.report_takedown(engine, reference, "eniro", "acknowledged", "Eniro")
    done = await containment.report_takedown(
        engine, reference, "eniro", "confirmed", "Incident manager", how_verified=VERIFIED
    )
    print(f"\n== {done.message}")
    await env.sleep(timedelta(hours=6))
    await show_progress(
        handle,
        "a day later: the later pages reach nobody wider, the initial report filed automatically",
    )
    pages = (await handle.query(IncidentWorkflow.status)).pages
    print("   pages reached: " + ", ".join(f"{p.level} {p.recipients}" for p in pages))
    await handle.execute_update(IncidentWorkflow.record_facts, later_facts())
    recommendation = await handle.execute_update(IncidentWorkflow.assess, HARM)
    english = Voice("en")
    print("\n== assessment: " + " ".join(r.words(english) for r in recommendation.reasons[:2]))
    async with open_notify_store(settings) as store:
        await load_list(handle, store, reference, "comviq.csv", affected(AFFECTED))
    await handle.execute_update(IncidentWorkflow.set_notice, comviq_notice(reference, migration))
    waiting = await handle.execute_update(
        IncidentWorkflow.decide_notice,
        Decision(notify=True, decided_by="Data protection officer", after_containment=True),
    )
    print(f"\n== decided: {waiting.message}")
    await env.sleep(timedelta(hours=20))
    await show_progress(handle, "Hitta.se silent: reminded, the owner paged; nobody told yet")
    print("\n".join(notification_text(await handle.query(IncidentWorkflow.status), {})))
    done = await containment.report_takedown(
        engine, reference, "hitta", "confirmed", "Incident manager", how_verified=VERIFIED
    )
    print(f"\n== {done.message}")
    await env.sleep(timedelta(hours=28))
    await show_progress(handle, "two days on: most facts in, the root cause still open")
    await handle.execute_update(
        IncidentWorkflow.justify,
        Justify(
            by="Incident manager",
            text="The supplier is still analysing the migration program's flag mapping; "
            "the root cause follows within the week.",
        ),
    )
    await env.sleep(timedelta(hours=24))
    await show_progress(handle, "3-day clock: extension report with the justification")
    await env.sleep(timedelta(days=2))
    await handle.execute_update(IncidentWorkflow.record_facts, root_cause())
    await env.sleep(timedelta(minutes=5))
    await show_progress(handle, "reminders until the root cause came in; final report filed")
    while (await handle.query(IncidentWorkflow.status)).notification.running is not None:
        await env.sleep(timedelta(hours=6))
    await show_progress(handle, "every customer told: by phone, by e-mail, or listed for a letter")
    told = await handle.query(IncidentWorkflow.status)
    print("\n".join(notification_text(told, {})))
    await handle.execute_update(IncidentWorkflow.close, Close(by="Incident manager"))
    await show_progress(handle, "closed; the workflow writes it to the register")
    final = await handle.result()
    print(f"\nFilings: {', '.join(f'no. {f.number} {f.kind.value}' for f in final.filings)}")
    print(filing_in_outbox(settings.outbox_dir, final.filings[-1].message_id))


TAKEDOWN_SCOPE = (
    "every entry flagged 'hemligt nummer' in our directory deliveries since the migration"
)
VERIFIED = "searched the service for 20 of the numbers by hand: none listed"


def _outbox(folder: Path) -> list[EmailMessage]:
    return [
        message_from_bytes(m.read_bytes(), policy=default)
        for m in sorted(folder.glob(f"*{REFERENCE_PREFIX}*.eml"))
    ]


def ack_token(folder: Path, subject: str) -> str:
    """The acknowledgement link's token in the page whose subject says ``subject``."""
    page = next(m for m in _outbox(folder) if subject in str(m["Subject"]))
    body = page.get_body(("plain",))
    found = re.search(r"/ack/(\S+)", body.get_content() if body else "")
    assert found is not None, "every page carries its acknowledgement link"
    return found.group(1)


def filing_in_outbox(folder: Path, message_id: str) -> str:
    """Where the last filing's mail is, and what it carries: the text in Swedish, the JSON
    and the PDF a person would sign."""
    for path in sorted(folder.glob(f"*{REFERENCE_PREFIX}*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=default)
        if mail["Message-ID"] == message_id:
            names = [part.get_filename() for part in mail.iter_attachments()]
            return f"The last filing, {mail['Subject']}: {path}\n  attached: {', '.join(map(str, names))}"
    return "The last filing is not in the outbox"
