"""Golden filings from engine runs: the seed incidents (``cases``) driven through a real
worker on Temporal's time-skipping server, every filing caught at an SMTP server on
127.0.0.1 as the authority (or, for a portal, the people who file on it) receives it,
and written as text, JSON and the PDF's text.

``python -m tests.golden.regenerate`` rewrites ``tests/golden/<case>-<regime>/``; the
test (``test_goldens``) runs the same and compares, so a change to a filing shows as a
diff of these files in review.

The server's clock starts at the real one and runs on by milliseconds between steps, so
each step is placed on a whole minute of the scenario's year and instants the engine
stamps from its own clock are written to the minute (``settle``); everything else is
byte for byte what was sent.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from email.message import Message
from pathlib import Path
from typing import Any

import pypdf
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from breachclock.app.engine import build_worker, relay_for
from breachclock.domain.incident.lifecycle import pending_filing
from breachclock.domain.incident.model import (
    Approve,
    Discover,
    Facts,
    FactsPatch,
    IncidentState,
    Justify,
    OpenIncident,
    OpenSecurityReport,
    RecordReceipt,
)
from breachclock.domain.regimes import Channel, regime
from breachclock.runtime import offload
from breachclock.runtime.temporal import start_time_skipping, workflow_id
from tests.conftest import SmtpSink, settings_for, subject_of
from tests.golden.cases import CASES, YEAR, Case, Step, Variant, local
from workflows.incident import IncidentWorkflow
from workflows.messages import IncidentStart

HERE = Path(__file__).parent
DOCUMENTS = ("breachclock.domain.incident.documents",)


class ClockPassed(Exception):
    """The real clock has reached the scenarios' year: raise ``cases.YEAR``."""


def reference(case: Case, variant: Variant) -> str:
    """The case's reference under this regime: the first regime's is the case's own."""
    first = case.variants[0]
    return (
        case.reference if variant is first else f"{case.reference}-{variant.regime.value.upper()}"
    )


def folder(case: Case, variant: Variant) -> str:
    return f"{case.name}-{variant.regime.value}"


def dated(value: Any, zone: str) -> Any:
    """The case's ``MM-DD HH:MM`` times (in facts) as instants of the scenario's year."""
    if isinstance(value, dict):
        return {k: dated(v, zone) for k, v in value.items()}
    if isinstance(value, list):
        return [dated(v, zone) for v in value]
    if isinstance(value, str) and re.fullmatch(r"(Y-1:)?\d\d-\d\d \d\d:\d\d", value):
        return local(value, zone).isoformat()
    return value


class Run:
    """One variant of a case: its incident and the filings it sent."""

    def __init__(self, case: Case, variant: Variant, handle: WorkflowHandle[Any, Any]) -> None:
        self.case = case
        self.variant = variant
        self.handle = handle
        self.reference = reference(case, variant)

    async def state(self) -> IncidentState:
        state: IncidentState = await self.handle.query(IncidentWorkflow.status)
        return state

    async def act(self, step: Step, now: datetime) -> None:
        args = dated(step.args(self.variant.language), self.variant.zone)
        h = self.handle
        if step.what == "discover":
            await h.execute_update(IncidentWorkflow.discover, Discover(at=now, **args))
        elif step.what == "record_facts":
            await h.execute_update(IncidentWorkflow.record_facts, FactsPatch(changes=args))
        elif step.what == "justify":
            await h.execute_update(IncidentWorkflow.justify, Justify(**args))
        elif step.what == "approve":
            await self.approve(args, now)
        elif step.what == "portal_receipt":
            await self.receipt(args["by"], now)
        elif step.what == "security_report":
            request = OpenSecurityReport(aware_at=now, **args)
            await h.execute_update(IncidentWorkflow.open_security_report, request)
        else:
            raise ValueError(f"no such step {step.what!r}")

    async def approve(self, args: dict[str, Any], now: datetime) -> None:
        """Approve what is pending, as the console names it; on a portal, the person then
        files it there and records the receipt (or files what the engine prepared
        before its deadline without waiting for an approval)."""
        state = await self.state()
        if state.tracks[0].prepared is not None:  # prepared at its deadline's last pages
            await self.receipt(args["by"], now)
            return
        pending = pending_filing(state, 0, now)
        assert pending is not None, f"{self.reference}: nothing pending at {now}"
        approval = Approve(filing=pending.stage, facts_version=state.facts_version, **args)
        await self.handle.execute_update(IncidentWorkflow.approve, approval)
        await self.receipt(args["by"], now)

    async def receipt(self, by: str, now: datetime) -> None:
        """On a portal: the person files what was prepared, and records its receipt."""
        if regime(self.variant.regime).channel is not Channel.PORTAL:
            return
        prepared = (await self.state()).tracks[0].prepared
        if prepared is None:
            return
        number = f"EXAMPLE-{self.reference}-{prepared.number}"  # the portal's format is not public
        await self.handle.execute_update(
            IncidentWorkflow.record_receipt,
            RecordReceipt(by=by, filing=prepared.number, receipt=number, at=now),
        )


async def skip_to(env: WorkflowEnvironment, at: datetime) -> datetime:
    now = await env.get_current_time()
    if now >= at:
        raise ClockPassed(f"{at:%Y-%m-%d} has passed: raise YEAR ({YEAR}) in tests/golden/cases.py")
    await env.sleep(at - now)
    return at


@asynccontextmanager
async def workers(
    env: WorkflowEnvironment, case: Case, smtp: SmtpSink, tmp: Path
) -> AsyncIterator[list[Run]]:
    """A worker per variant (its operator's settings), each incident opened."""
    async with AsyncExitStack() as stack:
        runs = []
        for variant in case.variants:
            settings = settings_for(
                tmp / folder(case, variant),
                smtp,
                **{"BREACHCLOCK_DK_ZONE": variant.zone, **variant.settings},
            )
            await stack.enter_async_context(build_worker(env.client, settings, relay_for(settings)))
            ref = reference(case, variant)
            opening = OpenIncident(
                reference=ref,
                title=case.title(variant.language),
                regime=variant.regime,
                opened_by=variant.settings["BREACHCLOCK_POLICY_OWNER"],
                facts=Facts.model_validate(dated(case.facts(variant.language), variant.zone)),
            )
            handle = await env.client.start_workflow(
                IncidentWorkflow.run,
                IncidentStart(opening=opening),
                id=workflow_id(ref),
                task_queue=settings.task_queue,
            )
            runs.append(Run(case, variant, handle))
        yield runs


async def run_case(env: WorkflowEnvironment, case: Case, smtp: SmtpSink, tmp: Path) -> None:
    """The case's steps at their times, for every variant in lockstep."""
    zone = case.variants[0].zone
    first = local(case.steps[0].at, zone)
    await skip_to(env, first)
    async with workers(env, case, smtp, tmp) as runs:
        for step in case.steps:
            at = local(step.at, zone)
            if at > await env.get_current_time():
                await skip_to(env, at)
            for run in runs:
                await run.act(step, at)
        await skip_to(env, local(case.until, zone))
        for run in runs:  # its filings are at the sink; its later clocks are no case's
            await run.handle.terminate(reason="the golden scenario ends here")


def settle(text: str) -> str:
    """Instants written to the minute (seconds zero, no fraction): the seconds are the
    server's clock running on between steps, not the scenario's (the module's docstring)."""
    return re.sub(r"(T\d\d:\d\d):\d\d(\.\d+)?(?=Z|[+-]\d\d:\d\d)", r"\1:00", text)


def pdf_text(pdf: bytes) -> str:
    pages = pypdf.PdfReader(io.BytesIO(pdf), strict=True).pages
    return "".join(f"--- page {n} ---\n{p.extract_text()}\n" for n, p in enumerate(pages, 1))


def documents(message: Message, reference_: str) -> dict[str, str] | None:
    """A filing's documents by file name (``<n>-<stage>.txt``, ``.json``, ``.pdf.txt``), or None
    for a mail that carries none of this incident's filings (a page, a takedown)."""
    parts = {str(p.get_filename()): p for p in message.walk() if p.get_filename()}
    pdfs = [name for name in parts if re.fullmatch(rf"{re.escape(reference_)}-\d+\.pdf", name)]
    if not pdfs:
        return None
    stem = pdfs[0][: -len(".pdf")]
    number = stem.rsplit("-", 1)[1]
    text_part = parts.get(f"{stem}.txt")
    if text_part is None:  # mailed to the authority: the text is the mail's body
        body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        text = f"Subject: {subject_of(message)}\n\n{decoded(body)}"
    else:  # prepared for the portal: the text is attached
        text = decoded(text_part)
    pdf = parts[f"{stem}.pdf"].get_payload(decode=True)
    assert isinstance(pdf, bytes)
    data = decoded(parts[f"{stem}.json"])
    name = f"{number}-{json.loads(data)['stage']}"  # an incident's tracks share the numbers
    return {
        f"{name}.txt": text,
        f"{name}.json": settle(data),
        f"{name}.pdf.txt": pdf_text(pdf),
    }


def decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8").replace("\r\n", "\n")


async def generate(tmp: Path) -> dict[str, str]:
    """Every golden file's text by its path under ``tests/golden``."""
    smtp = SmtpSink()
    smtp.controller.start()
    env = await start_time_skipping()
    try:
        async with offload.process_held(*DOCUMENTS):  # one worker process for every case
            for case in CASES:
                await run_case(env, case, smtp, tmp)
    finally:
        await env.shutdown()
        smtp.controller.stop()
    files: dict[str, str] = {}
    for case in CASES:
        for variant in case.variants:
            for message in smtp.messages:
                found = documents(message, reference(case, variant))
                for name, text in (found or {}).items():
                    files[f"{folder(case, variant)}/{name}"] = text
    return files


def written() -> dict[str, str]:
    """The golden files in the repository, by the same paths."""
    return {
        str(p.relative_to(HERE)): p.read_text(encoding="utf-8")
        for p in sorted(HERE.glob("*-*/*"))
        if p.is_file()
    }


def main() -> int:
    """Rewrite the golden files (a key for this run's payloads only, as the tests make)."""
    key = base64.b64encode(os.urandom(32)).decode()
    os.environ.setdefault("BREACHCLOCK_CODEC_KEYS", json.dumps({"golden": key}))
    with tempfile.TemporaryDirectory() as tmp:
        files = asyncio.run(generate(Path(tmp)))
    for old in set(written()) - set(files):
        (HERE / old).unlink()
    for name, text in sorted(files.items()):
        path = HERE / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(HERE.parents[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
