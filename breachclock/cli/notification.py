"""Telling subscribers: assess, subscribers, notice, decide, order; watch, person and
unreachable to follow the campaign; letters (print batches, posted, returned). Each is
one call into the service."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from breachclock.cli.common import (
    by_option,
    emit,
    engine,
    input_file,
    json_option,
    model,
    read_json,
    reference_arg,
    run,
    say,
    voice,
)
from breachclock.domain.catalogue import Voice
from breachclock.domain.incident import notification_views as notify_views
from breachclock.domain.incident.model import NoticeOrder
from breachclock.domain.instants import iso_local, show, zone
from breachclock.domain.notify.assessment import Assessment
from breachclock.domain.notify.letters import Posting, Returned
from breachclock.domain.notify.plan import PRESETS
from breachclock.domain.notify.subscribers import DELIMITERS
from breachclock.runtime.terminal import printable
from breachclock.service import letters as letter_service
from breachclock.service import notification
from breachclock.service.engine import Refused
from breachclock.service.incidents import standing

DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t"}


@click.command()
@reference_arg
@input_file("JSON (starter.py schema assessment; e.g. examples/assessment.json).")
@json_option
@run
async def assess(reference: str, file: Path, as_json: bool) -> None:
    """Record the assessment of harm to subscribers; prints the recommendation and why."""
    result = await notification.assess(engine(), reference, model(Assessment, **read_json(file)))
    words = voice()
    verdict = "NOTIFY the affected subscribers" if result.notify else "no notice required"
    heading = [f"  {result.basis.words(words)}"] if result.basis else []
    text = "\n".join(
        [
            f"recommendation: {verdict}",
            *heading,
            *(f"  - {r.words(words)}" for r in result.reasons),
        ]
    )
    emit(as_json, result.model_dump(mode="json"), text)


@click.command()
@reference_arg
@input_file(
    "CSV or JSONL export: id, name, phone, email, language, time_zone, role, "
    "subscriber_id, affected_items, postal_address (starter.py schema subscribers; "
    "e.g. examples/affected.csv)."
)
@click.option("--skip-invalid", is_flag=True, help="Load the valid rows, list the bad ones.")
@click.option(
    "--delimiter",
    type=click.Choice(["comma", "semicolon", "tab", ",", ";"]),
    help="The CSV's column delimiter [found from the header line].",
)
@run
async def subscribers(
    reference: str, file: Path, skip_invalid: bool, delimiter: str | None
) -> None:
    """Load the affected subscribers and users (again: nobody is added twice)."""
    forced = DELIMITER_NAMES.get(delimiter or "", delimiter)
    try:
        read, summary = await notification.load(engine(), reference, file, skip_invalid, forced)
    except OSError as err:
        raise Refused.of("file.unreadable", "file", detail=f"{file}: {err.strerror}") from err
    if read.delimiter:
        click.echo(
            printable(f"read {file.name}: columns separated by {DELIMITERS[read.delimiter]}")
        )
    click.echo(
        f"{summary.added} added, {summary.repeated} already on the list; "
        f"{summary.people} on the list now"
    )
    if summary.changed:
        click.echo(
            f"{len(summary.changed)} already on the list with other details, kept as they were: "
            + ", ".join(summary.changed[:20])
            + (" …" if len(summary.changed) > 20 else "")
        )
    for row in summary.skipped:
        click.echo(printable(f"skipped line {row.line}: {row.words(voice())}"))


@click.command()
@reference_arg
@input_file(
    "JSON: access_from, what_happened, consequences, measures_taken, … per language "
    "(starter.py schema notice; e.g. examples/notice.json)."
)
@run
async def notice(reference: str, file: Path) -> None:
    """Record the notice text the subscribers will get."""
    click.echo(printable(say(await notification.set_notice(engine(), reference, read_json(file)))))


@click.command()
@reference_arg
@click.option("--notify/--no-notify", required=True, help="Tell the subscribers, or not.")
@click.option(
    "--exemption",
    type=click.Choice(["unintelligible", "no_adverse_effect"]),
    help="The ground for not notifying.",
)
@click.option("--justification", help="Why not (goes into the report).")
@click.option(
    "--after-containment",
    is_flag=True,
    help="Begin telling subscribers only once every takedown is confirmed.",
)
@click.option(
    "--plan",
    type=click.Choice(sorted(PRESETS)),
    help="The channels each person is tried on, in order (default: the regime's).",
)
@click.option(
    "--sms",
    "sms_file",
    type=click.Path(path_type=Path),
    help="JSON: the SMS text (sender, summary per language; e.g. examples/sms.json), for a "
    "plan with SMS.",
)
@by_option
@run
async def decide(
    reference: str,
    notify: bool,
    exemption: str | None,
    justification: str | None,
    after_containment: bool,
    plan: str | None,
    sms_file: Path | None,
    by: str,
) -> None:
    """Decide on telling the subscribers; notifying starts the campaign."""
    message = await notification.decide(
        engine(),
        reference,
        notify=notify,
        exemption=exemption,
        justification=justification,
        decided_by=by,
        after_containment=after_containment or None,
        plan=plan,
        sms=read_json(sms_file) if sms_file else None,
    )
    click.echo(printable(say(message)))


@click.command()
@reference_arg
@click.option("--regulator", required=True, help="Who ordered the notice, e.g. PTS.")
@click.option("--decision-ref", help="The regulator's decision number.")
@click.option("--text", help="What the order says.")
@by_option
@run
async def order(
    reference: str, regulator: str, decision_ref: str | None, text: str | None, by: str
) -> None:
    """Record a regulator's order to notify the subscribers; starts the campaign."""
    request = model(
        NoticeOrder, by=regulator, decision_reference=decision_ref, text=text, recorded_by=by
    )
    click.echo(printable(say(await notification.order(engine(), reference, request))))


@click.command()
@reference_arg
@click.option("--interval", default=2.0, show_default=True, help="Seconds between refreshes.")
@json_option
@run
async def watch(reference: str, interval: float, as_json: bool) -> None:
    """Follow a notification campaign until it finishes (--json: a JSON line per refresh)."""
    while True:
        found = await standing(engine(), reference)
        state = found.state
        waves = state.notification.waves
        if not waves:
            raise Refused.of("notify.no_campaign")
        total = notify_views.totals(state, found.live)
        done = all(w.finished_at for w in waves)
        tz = zone(state.policy.operator_zone)
        now = datetime.now(UTC)
        waiting = found.next_due if found.next_due and found.next_due > now else None
        if as_json:
            line = {
                "finished": total.finished,
                "people": max(total.total, state.notification.people),
                "by_status": {s.value: n for s, n in sorted(total.people.items())},
                "next_attempt_at": iso_local(waiting, tz),
                "done": done,
            }
            click.echo(json.dumps(line, ensure_ascii=False))
        else:
            bar = notify_views.bar(total.finished, max(total.total, state.notification.people))
            detail = ", ".join(f"{n} {s.value}" for s, n in sorted(total.people.items()))
            until = f"; nobody is due before {show(waiting, tz)}" if waiting else ""
            click.echo(f"\r{bar}  {detail}{until}\033[K", nl=not sys.stdout.isatty() or done)
        if done:
            return
        await asyncio.sleep(interval)


def awaiting_text(found: notification.PersonView, tz: ZoneInfo) -> str:
    """ "; next: call 2 of 5 at …" in the CLI's language, in the incident's zone."""
    waiting = found.awaiting
    if waiting is None:
        return ""
    speak = Voice(voice().language, tz)
    step = waiting.step.words(speak)
    line = (
        speak("awaiting.next_at", step=step, at=waiting.at)
        if waiting.at
        else speak("awaiting.next_now", step=step)
    )
    if waiting.why is not None:
        line = speak("awaiting.because", line=line, why=waiting.why.words(speak))
    return f"; {line}"


@click.command()
@reference_arg
@click.argument("subscriber_id")
@json_option
@run
async def person(reference: str, subscriber_id: str, as_json: bool) -> None:
    """One person's notification: every attempt and its outcome."""
    found = await notification.person(engine(), reference, subscriber_id)
    tz = zone(found.zone)
    data: dict[str, Any] = {
        "subscriber_id": subscriber_id,
        "status": found.person.status.value,
        "next_at": iso_local(found.person.next_at, tz),
        "attempts": [
            {
                "channel": a.channel,
                "number": a.number,
                "outcome": a.outcome,
                "identified_by": a.method,
                "at": iso_local(a.at, tz),
            }
            for a in found.attempts
        ],
    }
    waiting = found.awaiting
    if waiting is not None:
        speak = voice()
        data["awaiting"] = {
            "step": waiting.step.model_dump(),
            "step_text": waiting.step.words(speak),
            "at": iso_local(waiting.at, tz),
            "why": waiting.why.model_dump() if waiting.why else None,
            "why_text": waiting.why.words(speak) if waiting.why else None,
        }
    text = "\n".join(
        [f"{subscriber_id}: {found.person.status.value}{awaiting_text(found, tz)}"]
        + [
            f"  {show(a.at, tz)}  {a.channel} {a.number}: {a.outcome}"
            + (f" (identified by {a.method})" if a.method else "")
            for a in found.attempts
        ]
    )
    emit(as_json, data, text)


@click.command()
@reference_arg
@json_option
@run
async def unreachable(reference: str, as_json: bool) -> None:
    """The people no call or e-mail reached: they are to be told by letter."""
    found = await notification.unreachable(engine(), reference, voice())
    rows = [
        {
            "subscriber_id": r.person.id,
            "name": r.person.name,
            "postal_address": r.person.postal_address,
            "reason": r.reason,
        }
        for r in found
    ]
    lines = [
        f"{r.person.id}  {r.person.name or ''}  "
        f"{r.person.postal_address_line or '(no address)'}  ({r.reason})"
        for r in found
    ]
    emit(as_json, rows, "\n".join(printable(line, one_line=True) for line in lines) or "nobody")


@click.group()
def letters() -> None:
    """Letters to the people no call, SMS or e-mail reached: print batches, posted."""


@letters.command("status")
@reference_arg
@json_option
@run
async def letters_status(reference: str, as_json: bool) -> None:
    """The print batches and where they stand; who has no postal address."""
    found = await letter_service.view(engine(), reference)
    t = voice()
    lines = [
        f"{b.number}  {b.id}  {b.people}  "
        + (
            t("ui.letters_posted_state", at=b.posted_at, by=b.posted_by)
            if b.posted_at
            else t("ui.letters_not_posted")
        )
        for b in found.batches
    ]
    if found.no_address:
        lines.append(t("ui.letters_no_address", count=len(found.no_address)))
    emit(as_json, found.model_dump(mode="json"), "\n".join(lines) or t("ui.none"))


@letters.command("batch")
@reference_arg
@by_option
@json_option
@run
async def letters_batch(reference: str, by: str, as_json: bool) -> None:
    """Make a print batch of everyone listed for a letter, with an address, in no batch."""
    made = await letter_service.make_batch(engine(), reference, by)
    t = voice()
    text = (
        t("ui.letters_batch_made", number=made.batch.number, people=made.batch.people)
        + f" ({made.batch.id})"
        if made.batch
        else t("ui.letters_nobody")
    )
    if made.no_address:
        text += "\n" + t("ui.letters_no_address", count=made.no_address)
    emit(as_json, made.model_dump(mode="json"), text)


@letters.command("print")
@reference_arg
@click.argument("batch")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Where to write the PDF (readable by you alone).",
)
@run
async def letters_print(reference: str, batch: str, output: Path) -> None:
    """Write BATCH's print file: its list, then one letter a person."""
    pdf = await letter_service.print_file(engine(), reference, batch, voice())
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pdf)
    click.echo(str(output))


@letters.command("posted")
@reference_arg
@click.argument("batch")
@click.option("--at", "at", required=True, help="When the batch went to the post (offset or zone).")
@by_option
@run
async def letters_posted(reference: str, batch: str, at: str, by: str) -> None:
    """Record BATCH as posted: one posted record per letter in it."""
    posting = model(Posting, posted_at=at)
    done = await letter_service.record_posted(engine(), reference, batch, posting.posted_at, by)
    key = "ui.letters_posted_recorded" if done.new else "ui.letters_posted_already"
    click.echo(printable(voice()(key, number=done.batch.number, people=done.batch.people)))


@letters.command("returned")
@reference_arg
@click.argument("subscriber")
@by_option
@run
async def letters_returned(reference: str, subscriber: str, by: str) -> None:
    """Record SUBSCRIBER's posted letter as returned undelivered (counted as not reached)."""
    back = model(Returned, subscriber=subscriber)
    new = await letter_service.record_returned(engine(), reference, back.subscriber, by)
    key = "ui.letters_returned_recorded" if new else "ui.letters_returned_already"
    click.echo(printable(voice()(key, subscriber=back.subscriber)))


COMMANDS = [assess, subscribers, notice, decide, order, letters]
READS = [watch, person, unreachable]
