"""The report section: the facts as a form, field by field (kinds and causes chosen,
measures as rows with their dates), the draft shown before it is approved and filed,
the justification for missing facts, the security (NIS2) report, and every filing.

The facts form sends only what the person changed: a field left as it was is not
recorded again, and a field emptied is recorded as unknown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from breachclock.domain.catalogue import Voice
from breachclock.domain.incident.model import (
    NIS2_FACTS,
    REQUIRED_FACTS,
    TEXT_FACTS,
    BreachType,
    FactsPatch,
    IncidentState,
    Justify,
    Lasting,
    OpenSecurityReport,
    RecordReceipt,
    RootCause,
    SecurityAspect,
)
from breachclock.domain.incident.report import render_text
from breachclock.domain.incident.views import expected_facts, security_report_possible
from breachclock.domain.instants import InstantError, parse_instant
from breachclock.domain.problems import Problem
from breachclock.domain.regimes import RegimeCode
from breachclock.runtime.receipts import RECEIPT_LIMIT
from breachclock.service import incidents
from breachclock.service.engine import Refused
from breachclock.web.console.pages import (
    Manager,
    answered,
    engine_of,
    outcome,
    render,
    spoken,
    text_or_none,
    voice_of,
    zoned,
)

router = APIRouter(include_in_schema=False)

TEXTS = TEXT_FACTS
NAMES = ("services", "data_kinds", "systems")
"""Lists of short names, written one to a line."""
LINES = ("contributing_causes",)
MEASURES = ("measures_taken", "measures_planned")
CHOICES = {"breach_types": BreachType, "security_aspects": SecurityAspect}
FLAGS = ("suspected_malicious", "cross_border_impact")
"""NIS2's yes-or-no facts: yes, no, or not yet established (on the form when a NIS2
report is open)."""
BLANK_MEASURES = 2
"""Empty rows under a measures list, to add to it without a script."""
FIELDS = (
    "occurred",
    "affected_count",
    "affected_scale",
    "root_cause",
    "in_communications_service",
    *TEXTS,
    *NAMES,
    *LINES,
    *MEASURES,
    *CHOICES,
)
NIS2_FIELDS = (*FLAGS, "indicators_of_compromise")
"""On the facts card only while a NIS2 report is open."""


def on_page(nis2: bool) -> tuple[str, ...]:
    """The facts card's fields as the page shows them: an answer clears or fills the slot
    beside each, and a slot the page does not have is an error in the browser."""
    return (*FIELDS, *NIS2_FIELDS) if nis2 else FIELDS


def has_nis2(state: IncidentState) -> bool:
    return any(track.regime is RegimeCode.NIS2 for track in state.tracks)


def choices(t: Voice) -> dict[str, list[tuple[str, str]]]:
    """The words for each recorded value the form offers."""
    return {
        "breach_types": [(b.value, t(f"filing.breach.{b.value}")) for b in BreachType],
        "security_aspects": [(a.value, t(f"filing.aspect.{a.value}")) for a in SecurityAspect],
        "root_cause": [(c.value, t(f"filing.cause.{c.value}")) for c in RootCause],
        "lasting": [(x.value, t(f"filing.lasting.{x.value}")) for x in Lasting],
        "flag": [("true", t("ui.flag_yes")), ("false", t("ui.flag_no"))],
    }


def measure_rows(measures: list[Any] | None) -> list[dict[str, Any]]:
    rows = [
        {
            "what": m.what,
            "on": m.on.isoformat() if m.on else "",
            "lasting": m.lasting.value if m.lasting else "",
        }
        for m in measures or []
    ]
    return rows + [{"what": "", "on": "", "lasting": ""}] * BLANK_MEASURES


async def context(request: Request, state: IncidentState, t: Voice) -> dict[str, Any]:
    facts = state.facts
    return {
        "facts": facts,
        "choices": choices(t),
        "measures": {name: measure_rows(getattr(facts, name)) for name in MEASURES},
        "security_possible": security_report_possible(state),
        "has_nis2": has_nis2(state),
        "expected": expected_facts(state),
    }


def wanted(request: Request, form: FormData) -> dict[str, Any]:
    """The form's fields as the facts model reads them."""
    found: dict[str, Any] = {}
    at = zoned(request, str(form.get("occurred.at") or ""))
    how = text_or_none(str(form.get("occurred.how") or ""))
    found["occurred"] = {"at": at, "how": how} if at or how else None
    count = str(form.get("affected_count") or "").strip()
    found["affected_count"] = count or None
    found["affected_scale"] = text_or_none(str(form.get("affected_scale") or ""))
    found["root_cause"] = text_or_none(str(form.get("root_cause") or ""))
    found["in_communications_service"] = form.get("in_communications_service") == "true"
    for name in TEXTS:
        found[name] = text_or_none(str(form.get(name) or ""))
    for name in (*NAMES, *LINES):
        lines = [line.strip() for line in str(form.get(name) or "").splitlines()]
        found[name] = [line for line in lines if line] or None
    for name in MEASURES:
        whats, ons = form.getlist(f"{name}.what"), form.getlist(f"{name}.on")
        lastings = form.getlist(f"{name}.lasting")
        rows = [
            {"what": str(what).strip(), "on": str(on) or None, "lasting": str(lasting) or None}
            for what, on, lasting in zip(whats, ons, lastings, strict=False)
            if str(what).strip()
        ]
        found[name] = rows or None
    for name in CHOICES:
        found[name] = [str(v) for v in form.getlist(name)] or None
    for name in FLAGS:  # only where the form has them: a NIS2 report is open
        if name in form:
            found[name] = {"true": True, "false": False}.get(str(form.get(name)))
    if "indicators_of_compromise" in form:
        found["indicators_of_compromise"] = text_or_none(
            str(form.get("indicators_of_compromise") or "")
        )
    return found


def changed(state: IncidentState, sent: dict[str, Any]) -> dict[str, Any]:
    """What differs from the facts as recorded (compared as JSON would carry them)."""
    known = state.facts.model_dump(mode="json")
    out = {}
    for name, value in sent.items():
        before = known.get(name)
        if name == "occurred" and value and before and same_time(value, before):
            continue
        if name == "affected_count" and value is not None and str(before) == value:
            continue
        if value != before and not (value is None and before in (None, [])):
            out[name] = sent[name]
    return out


def same_time(sent: dict[str, Any], known: dict[str, Any]) -> bool:
    """The time and how it was established, as recorded (the form shows it to the minute)."""
    try:
        at = parse_instant(str(sent["at"]))
    except InstantError:
        return False
    recorded = datetime.fromisoformat(known["at"]).replace(second=0, microsecond=0)
    return at == recorded and sent["how"] == known["how"]


@router.post("/incidents/{reference}/facts")
async def facts_form(request: Request, reference: str, who: Manager) -> HTMLResponse:
    engine = engine_of(request)
    form = await request.form()
    fields = on_page(any(name in form for name in NIS2_FIELDS))
    try:
        state = await engine.state(reference)
        changes = changed(state, wanted(request, form))
        if not changes:
            return answered(
                request, who, message=voice_of(request)("ui.facts_unchanged"), fields=fields
            )
        patch = engine.parse(FactsPatch, changes=changes)
        missing = await incidents.record_facts(engine, reference, patch)
    except Refused as err:
        return answered(request, who, problems=err.problems, fields=fields)
    t = voice_of(request)
    return answered(
        request,
        who,
        message=t("ui.facts_saved", fields=[t(f"field.{n}") for n in changes], n=len(missing)),
        fields=fields,
    )


@router.post("/incidents/{reference}/expected")
async def expected_form(request: Request, reference: str, who: Manager) -> HTMLResponse:
    """When each missing fact is expected to be established (``expected.<fact>``, a
    date): a filing made with the fact missing gives that date as the operator's own;
    a date emptied leaves the fact to the next deadline or the standard period again."""
    engine = engine_of(request)
    form = await request.form()
    t = voice_of(request)
    # Each date's refusal beside its own field, the rest under the table; the values
    # stay as typed (the answer replaces only the slots, not the form).
    fields = [f"expected.{n}" for n in (*REQUIRED_FACTS, *NIS2_FACTS) if f"expected.{n}" in form]
    fields.append("expected")
    try:
        state = await engine.state(reference)
        missing = state.facts.missing()
        before = {k: v.isoformat() for k, v in state.facts.expected.items()}
        dates = dict(before)
        for name in missing:
            typed = str(form.get(f"expected.{name}") or "").strip()
            dates.pop(name, None)
            if typed:
                dates[name] = typed
        changed_ = sorted(k for k in set(dates) | set(before) if dates.get(k) != before.get(k))
        if not changed_:
            return answered(request, who, message=t("ui.facts_unchanged"), fields=fields)
        patch = engine.parse(FactsPatch, changes={"expected": dates})
        still = await incidents.record_facts(engine, reference, patch)
    except Refused as err:
        return answered(request, who, problems=err.problems, fields=fields)
    said = t("ui.facts_saved", fields=[t(f"field.{n}") for n in changed_], n=len(still))
    return answered(request, who, message=said, fields=fields)


@router.get("/incidents/{reference}/draft")
async def draft_fragment(
    request: Request, reference: str, who: Manager, track: str | None = None
) -> HTMLResponse:
    """The report as it would be filed now, shown before anyone approves it."""
    code = RegimeCode(track) if track in {r.value for r in RegimeCode} else None
    try:
        draft = await incidents.draft(engine_of(request), reference, code)
    except Refused as err:
        return answered(request, who, problems=err.problems)
    t = voice_of(request)
    warnings = await incidents.other_language(draft.facts, draft.words)
    return render(
        request,
        "draft.html",
        who,
        text=render_text(draft),
        draft=draft,
        reference=reference,
        other_language=[w.words(t) for w in warnings],
    )


@router.post("/incidents/{reference}/approve")
async def approve_form(
    request: Request,
    reference: str,
    who: Manager,
    filing: Annotated[str, Form(max_length=64)],
    track: Annotated[str | None, Form(max_length=10)] = None,
    late_reason: Annotated[str | None, Form(max_length=20_000)] = None,
    other_language_ok: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """File the draft; free text in another language than the filing's is refused
    beside its field in the facts card unless the approver ticks "approve anyway"."""

    async def act(t: Voice) -> str:
        code = RegimeCode(track) if track in {r.value for r in RegimeCode} else None
        try:
            result = await incidents.approve(
                engine_of(request),
                reference,
                who.name,
                filing,
                text_or_none(late_reason),
                code,
                other_language_ok,
            )
        except Refused as err:  # a fact's field is the facts card's field
            raise Refused(*(on_facts_card(p) for p in err.problems)) from None
        return spoken(result, t)

    try:
        nis2 = has_nis2(await engine_of(request).state(reference))
    except Refused as err:
        return answered(request, who, problems=err.problems)
    return await outcome(request, who, act, fields=("late_reason", *on_page(nis2)))


def on_facts_card(found: Problem) -> Problem:
    """A problem with a fact's field (``facts.circumstances``) as the facts card names it."""
    if found.field and found.field.startswith("facts."):
        return found.model_copy(update={"field": found.field.removeprefix("facts.")})
    return found


@router.post("/incidents/{reference}/justify")
async def justify_form(
    request: Request, reference: str, who: Manager, text: Annotated[str, Form(max_length=20_000)]
) -> HTMLResponse:
    async def act(t: Voice) -> str:
        engine = engine_of(request)
        justification = engine.parse(Justify, by=who.name, text=text)
        return spoken(await incidents.justify(engine, reference, justification), t)

    return await outcome(request, who, act, fields=("text",))


@router.post("/incidents/{reference}/security")
async def security_form(
    request: Request,
    reference: str,
    who: Manager,
    aware_at: Annotated[str | None, Form(max_length=100)] = None,
) -> HTMLResponse:
    """Open the security (NIS2) report beside the privacy one."""

    async def act(t: Voice) -> str:
        engine = engine_of(request)
        opening = engine.parse(OpenSecurityReport, by=who.name, aware_at=zoned(request, aware_at))
        return spoken(await incidents.open_security_report(engine, reference, opening), t)

    return await outcome(request, who, act)


@router.post("/incidents/{reference}/receipt")
async def receipt_form(
    request: Request,
    reference: str,
    who: Manager,
    filing: Annotated[int, Form(ge=1, le=100_000)],
    receipt: Annotated[str, Form(max_length=100)],
    at: Annotated[str, Form(max_length=100)],
    track: Annotated[str | None, Form(max_length=10)] = None,
    pdf: UploadFile | None = None,
) -> HTMLResponse:
    """A filing prepared for the authority's portal was filed there: its receipt (and
    the receipt's PDF, when uploaded)."""

    async def act(t: Voice) -> str:
        engine = engine_of(request)
        request_ = engine.parse(
            RecordReceipt,
            by=who.name,
            filing=filing,
            receipt=receipt,
            at=zoned(request, at),
            track=track or None,
        )
        document = await pdf.read(RECEIPT_LIMIT + 1) if pdf is not None and pdf.filename else None
        answer = await incidents.record_receipt(engine, reference, request_, document or None)
        return spoken(answer, t)

    return await outcome(request, who, act, fields=("receipt", "at", "pdf"))
