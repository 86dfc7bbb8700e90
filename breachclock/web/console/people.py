"""The people section: the assessment (each factor an input, the result with its
reasons), the affected list's upload (refused rows by line and reason; a list that
does not read is not loaded at all), the notice with a preview of what each person
gets in each language by each channel, the decision or a regulator's order, the
campaign's progress, one person's story, and the unreachable list for letters: print
batches, their print file, recorded as posted, a letter returned.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from breachclock.domain.catalogue import LANGUAGES, Language, Voice
from breachclock.domain.incident import notification_views
from breachclock.domain.incident.model import IncidentState, NoticeOrder
from breachclock.domain.incident.notice_fact import operator_for, sample
from breachclock.domain.notify.assessment import (
    Assessment,
    Consequence,
    DataKind,
    ProtectionMethod,
)
from breachclock.domain.notify.letters import Posting, Returned
from breachclock.domain.notify.notice import render_notice, spoken_notice
from breachclock.domain.notify.plan import PRESETS, describe, on_policy, plan_for
from breachclock.domain.notify.subscribers import Language as Spoken
from breachclock.service import letters, notification
from breachclock.service.engine import Refused
from breachclock.web.console.pages import (
    Manager,
    Reader,
    answered,
    engine_of,
    outcome,
    render,
    spoken,
    text_or_none,
    voice_of,
    zoned,
)
from breachclock.web.limits import private_pdf

router = APIRouter(include_in_schema=False)

MEASURE_ROWS = 3
"""Rows for the notice's measures, taken and planned, each in every language."""
LABEL_ROWS = 4
"""Rows for the words of the list's item names (``secret number``) in each language."""
EXEMPTIONS = ("no_adverse_effect", "unintelligible")


def choices(t: Voice) -> dict[str, list[tuple[str, str]]]:
    return {
        "data_kinds": [(k.value, t(f"data_kind.{k.value}")) for k in DataKind],
        "consequences": [(c.value, t(f"consequence.{c.value}")) for c in Consequence],
        "protection": [(m.value, t(f"protection_method.{m.value}")) for m in ProtectionMethod],
        "exemption": [(e, t(f"ui.exemption_{e}")) for e in EXEMPTIONS],
    }


async def context(request: Request, state: IncidentState, t: Voice) -> dict[str, Any]:
    n = state.notification
    return {
        "choices": choices(t),
        "assessment": n.assessment,
        "recommendation": n.recommendation,
        "notice": n.notice,
        "previews": previews(state),
        "notice_rows": MEASURE_ROWS,
        "label_rows": label_rows(state),
        "skipped": [(source, r) for source, rows in n.skipped.items() for r in rows],
        "unreachable": await notification.unreachable(engine_of(request), state.reference, t),
        "letters": await letters.view(engine_of(request), state.reference),
        "plans": plans(state, t),
        "chosen_plan": chosen_plan(state),
    }


def chosen_plan(state: IncidentState) -> str:
    decision = state.notification.decision
    return plan_for(state.regime, decision.plan if decision else None).name


def plans(state: IncidentState, t: Voice) -> list[tuple[str, list[str]]]:
    """Each plan the decision may choose, step by step in words, as the operator runs it
    (its calling hours and call spacing)."""
    policy = state.policy.notify_plan
    return [
        (name, [step.words(t) for step in describe(on_policy(plan, policy))])
        for name, plan in PRESETS.items()
    ]


def label_rows(state: IncidentState) -> list[tuple[str, dict[str, str]]]:
    """The notice's words for item names so far, then each name the list uses that has
    none yet (the person sees the list's own names, to word them), and empty rows to add
    more."""
    known = state.notification.notice.item_labels if state.notification.notice else {}
    rows: list[tuple[str, dict[str, str]]] = [
        (k, {str(lang): text for lang, text in v.items()}) for k, v in known.items()
    ]
    worded = {k.strip().casefold() for k in known}
    unworded = {i.strip().casefold(): i for i in state.notification.items}
    rows += [(item, {}) for key, item in unworded.items() if key not in worded]
    return rows + [("", {})] * max(LABEL_ROWS - len(rows), 1)


def label_rows_sent(form: FormData) -> int:
    """How many rows of item names the form had (as many as ``label_rows`` gave)."""
    return sum(1 for k in form if str(k).startswith("item_labels.") and str(k).endswith(".item"))


def previews(state: IncidentState) -> list[dict[str, str]]:
    """What a person gets in each language: the call's script once identified, and the
    e-mail (a letter carries the e-mail's text)."""
    notice = state.notification.notice
    if notice is None:
        return []
    operator = operator_for(state.policy)
    shown = []
    for language in LANGUAGES:
        person = sample(Spoken(language))
        try:
            mail = render_notice(notice, person, operator)
            _, script = spoken_notice(notice, person, operator)
        except ValueError:
            continue  # the notice has no passages in this language
        shown.append(
            {"language": language, "subject": mail.subject, "email": mail.text, "call": script}
        )
    return shown


# -------------------------------------------------------------- assessment

ASSESSMENT_FIELDS = (
    "data_kinds",
    "consequences",
    "stolen",
    "known_with_third_party",
    "protection",
    "affects_users_besides_subscribers",
    "notes",
)


def assessment_of(form: FormData) -> dict[str, Any]:
    def yes(name: str) -> bool:
        return form.get(name) == "true"

    return {
        "data_kinds": [str(v) for v in form.getlist("data_kinds")],
        "consequences": [str(v) for v in form.getlist("consequences")],
        "stolen": yes("stolen"),
        "known_with_third_party": yes("known_with_third_party"),
        "protection": {
            "method": form.get("protection.method") or "none",
            "algorithm": text_or_none(str(form.get("protection.algorithm") or "")),
            "key_compromised": yes("protection.key_compromised"),
            "key_derivable": yes("protection.key_derivable"),
        },
        "affects_users_besides_subscribers": yes("affects_users_besides_subscribers"),
        "notes": text_or_none(str(form.get("notes") or "")),
    }


@router.post("/incidents/{reference}/assessment")
async def assess_form(request: Request, reference: str, who: Manager) -> HTMLResponse:
    engine = engine_of(request)
    form = await request.form()
    try:
        found = await notification.assess(
            engine, reference, engine.parse(Assessment, **assessment_of(form))
        )
    except Refused as err:
        return answered(request, who, problems=err.problems, fields=ASSESSMENT_FIELDS)
    return answered(request, who, fields=ASSESSMENT_FIELDS, recommendation=found)


# -------------------------------------------------------------- the list

CHUNK = 1 << 16


def saved(upload: UploadFile, limit: int) -> Path | None:
    """The uploaded list in an owner-only file; None past ``limit`` bytes."""
    folder = Path(tempfile.mkdtemp(prefix="breachclock-upload-"))
    path = folder / Path(upload.filename or "subscribers.csv").name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    size = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := upload.file.read(CHUNK):
            size += len(chunk)
            if size > limit:
                shutil.rmtree(folder)
                return None
            out.write(chunk)
    return path


@router.post("/incidents/{reference}/subscribers")
async def upload_form(
    request: Request,
    reference: str,
    who: Manager,
    people: UploadFile,
    skip_invalid: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    limit: int = request.app.state.upload_limit
    path = saved(people, limit)
    if path is None:
        return answered(
            request,
            who,
            problems=[Refused.of("subscribers.too_large", "people", limit=limit).problems[0]],
            fields=("people",),
        )
    try:
        read, summary = await notification.load(engine_of(request), reference, path, skip_invalid)
    except Refused as err:
        return answered(request, who, problems=err.problems, fields=("people",))
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    t = voice_of(request)
    message = t(
        "ui.list_loaded",
        added=summary.added,
        repeated=summary.repeated,
        people=summary.people,
        skipped=len(read.rejected),
    )
    return answered(request, who, message=message, fields=("people",), rejected=read.rejected)


# -------------------------------------------------------------- the notice

NOTICE_FIELDS = (
    "item_labels",
    "access_from",
    "access_until",
    "what_happened",
    "consequences",
    "recommendations",
    "measures_taken",
    "measures_planned",
)


def localised(form: FormData, name: str) -> dict[Language, str] | None:
    texts = {lang: str(form.get(f"{name}.{lang}") or "").strip() for lang in LANGUAGES}
    kept = {lang: text for lang, text in texts.items() if text}
    return kept or None


def passages_of(request: Request, form: FormData) -> dict[str, Any]:
    measures: dict[str, list[dict[str, Any]]] = {}
    for kind in ("measures_taken", "measures_planned"):
        rows = []
        for row in range(MEASURE_ROWS):
            what = localised(form, f"{kind}.{row}.what")
            if what:
                on = str(form.get(f"{kind}.{row}.on") or "") or None
                rows.append({"what": what, "on": on})
        measures[kind] = rows
    labels = {}
    for row in range(label_rows_sent(form)):
        item = str(form.get(f"item_labels.{row}.item") or "").strip()
        words = localised(form, f"item_labels.{row}")
        if item and words:
            labels[item] = words
    return {
        "item_labels": labels,
        "access_from": zoned(request, str(form.get("access_from") or "")),
        "access_until": zoned(request, str(form.get("access_until") or "")),
        "time_estimated": form.get("time_estimated") == "true",
        "what_happened": localised(form, "what_happened"),
        "consequences": localised(form, "consequences"),
        "recommendations": localised(form, "recommendations"),
        **measures,
    }


@router.post("/incidents/{reference}/notice")
async def notice_form(request: Request, reference: str, who: Manager) -> HTMLResponse:
    form = await request.form()
    passages = {k: v for k, v in passages_of(request, form).items() if v is not None}

    async def act(t: Voice) -> str:
        return spoken(await notification.set_notice(engine_of(request), reference, passages), t)

    return await outcome(request, who, act, fields=NOTICE_FIELDS, form="notice")


@router.get("/incidents/{reference}/notice/preview")
async def preview_fragment(request: Request, reference: str, who: Reader) -> HTMLResponse:
    state = await engine_of(request).state(reference)
    return render(request, "notice_preview.html", who, previews=previews(state))


# -------------------------------------------------------------- decide, order


@router.post("/incidents/{reference}/decide")
async def decide_form(
    request: Request,
    reference: str,
    who: Manager,
    notify: Annotated[str, Form(max_length=5)],
    exemption: Annotated[str | None, Form(max_length=40)] = None,
    justification: Annotated[str | None, Form(max_length=20_000)] = None,
    after_containment: Annotated[bool, Form()] = False,
    plan: Annotated[str | None, Form(max_length=60)] = None,
    sms_sender: Annotated[str | None, Form(max_length=11)] = None,
    sms_sv: Annotated[str | None, Form(max_length=400)] = None,
    sms_da: Annotated[str | None, Form(max_length=400)] = None,
    sms_en: Annotated[str | None, Form(max_length=400)] = None,
) -> HTMLResponse:
    summary = {
        lang: text
        for lang, text in (("sv", sms_sv), ("da", sms_da), ("en", sms_en))
        if text_or_none(text)
    }
    sms = {"sender": text_or_none(sms_sender), "summary": summary} if summary else None

    async def act(t: Voice) -> str:
        told = notify == "true"
        answer = await notification.decide(
            engine_of(request),
            reference,
            notify=told,
            exemption=None if told else text_or_none(exemption),
            justification=text_or_none(justification),
            decided_by=who.name,
            after_containment=after_containment,
            plan=text_or_none(plan),
            sms=sms,
        )
        return spoken(answer, t)

    fields = ("notify", "exemption", "justification", "plan", "sms", *SMS_FIELDS)
    return await outcome(request, who, act, fields=fields)


SMS_FIELDS = tuple(f"sms.summary.{lang}" for lang in LANGUAGES)
"""Where a refusal of the SMS text is shown: beside its text in that language."""


@router.post("/incidents/{reference}/order")
async def order_form(
    request: Request,
    reference: str,
    who: Manager,
    by: Annotated[str, Form(max_length=200)],
    decision_reference: Annotated[str | None, Form(max_length=200)] = None,
    text: Annotated[str | None, Form(max_length=20_000)] = None,
) -> HTMLResponse:
    """A regulator ordered the subscribers told: recorded, and the campaign runs."""

    async def act(t: Voice) -> str:
        engine = engine_of(request)
        order = engine.parse(
            NoticeOrder,
            by=by,
            decision_reference=text_or_none(decision_reference),
            text=text_or_none(text),
            recorded_by=who.name,
        )
        return spoken(await notification.order(engine, reference, order), t)

    return await outcome(request, who, act, fields=("by", "decision_reference", "text"))


# -------------------------------------------------------------- progress


@router.get("/incidents/{reference}/person")
async def person_fragment(
    request: Request, reference: str, who: Reader, subscriber: str = ""
) -> HTMLResponse:
    """One person's story: where they stand, every attempt, and what comes next."""
    try:
        found = await notification.person(engine_of(request), reference, subscriber.strip()[:100])
    except Refused as err:
        return answered(request, who, problems=err.problems, fields=("subscriber",))
    return render(request, "person.html", who, found=found)


def campaign(state: IncidentState, live: dict[int, Any]) -> dict[str, dict[str, int]]:
    """The campaign's figures for its live part: people by status, calls by outcome."""
    data = notification_views.notification(state, live)
    return {
        "people": {k: v for k, v in data["by_status"].items() if v},
        "calls": {k: v for k, v in data["calls"].items() if v},
    }


# -------------------------------------------------------------- letters


@router.post("/incidents/{reference}/letters/batch")
async def batch_form(request: Request, reference: str, who: Manager) -> HTMLResponse:
    """A print batch of everyone listed with a postal address and in no batch yet."""

    async def act(t: Voice) -> str:
        made = await letters.make_batch(engine_of(request), reference, who.name)
        said = (
            t("ui.letters_batch_made", number=made.batch.number, people=made.batch.people)
            if made.batch
            else t("ui.letters_nobody")
        )
        return said + (
            " " + t("ui.letters_no_address", count=made.no_address) if made.no_address else ""
        )

    return await outcome(request, who, act)


@router.get("/incidents/{reference}/letters/{batch}/letters.pdf")
async def print_file(request: Request, reference: str, batch: str, who: Manager) -> Response:
    """The batch's print file, made now and not kept."""
    pdf = await letters.print_file(engine_of(request), reference, batch[:40], voice_of(request))
    return private_pdf(pdf, f"{reference}-letters.pdf")


@router.post("/incidents/{reference}/letters/{batch}/posted")
async def posted_form(
    request: Request,
    reference: str,
    batch: str,
    who: Manager,
    posted_at: Annotated[str, Form(max_length=60)] = "",
) -> HTMLResponse:
    """The batch went to the post at the time given (the operator's wall clock)."""
    form = f"b{(await letters.number_of(engine_of(request), reference, batch[:40]))}"

    async def act(t: Voice) -> str:
        engine = engine_of(request)
        posting = engine.parse(Posting, posted_at=zoned(request, posted_at))
        done = await letters.record_posted(
            engine, reference, batch[:40], posting.posted_at, who.name
        )
        key = "ui.letters_posted_recorded" if done.new else "ui.letters_posted_already"
        return t(key, number=done.batch.number, people=done.batch.people)

    return await outcome(request, who, act, fields=("posted_at",), form=form)


@router.post("/incidents/{reference}/letters/returned")
async def returned_form(
    request: Request,
    reference: str,
    who: Manager,
    subscriber: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse:
    """A posted letter came back undelivered."""

    async def act(t: Voice) -> str:
        engine = engine_of(request)
        back = engine.parse(Returned, subscriber=subscriber.strip() or None)
        new = await letters.record_returned(engine, reference, back.subscriber, who.name)
        key = "ui.letters_returned_recorded" if new else "ui.letters_returned_already"
        return t(key, subscriber=back.subscriber)

    return await outcome(request, who, act, fields=("subscriber",), form="returned")
