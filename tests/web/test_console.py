"""The console's pages as a person reads them, without a browser: one language per page
(every word from that language's catalogue), refusals beside their field in the
reader's language, a 403 that is a page, and what an open page is told by its event
stream."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.datastructures import FormData
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.catalogue import LANGUAGES, Voice, foreign, marking, messages
from breachclock.domain.incident.model import (
    FactsPatch,
    IncidentState,
    Lasting,
    OpenSecurityReport,
)
from breachclock.domain.notify.assessment import Decision
from breachclock.domain.notify.delivery import Status, letter_reason
from breachclock.runtime.config import Settings
from breachclock.runtime.store import open_notify_store
from breachclock.runtime.store.people import Entry, Walked, letter
from breachclock.service.accounts import create_token
from breachclock.service.containment import directory
from breachclock.service.register import register
from breachclock.web.auth import Role
from breachclock.web.console.incident import TABS
from breachclock.web.console.pages import TEMPLATES
from breachclock.web.console.people import label_rows, passages_of
from tests.conftest import SmtpSink, unique
from tests.domain.incident.test_lifecycle import new_state
from tests.notify_support import notice, people, ready
from tests.web.support import Web, element, web
from tests.workflows.test_containment import ENIRO
from workflows.incident import IncidentWorkflow

NAMES = ("breachclock", "JSON", "PDF", "CSV", "#")
"""Not words of any language: the product's name, and the formats offered."""


class Reader(HTMLParser):
    """What a person reads on a page: the text, and the words in titles, labels and
    placeholders; not scripts, not what a person typed into a text box, not a document shown in its own language
    (``data-document``: a filing, a notice, a call's script), though the name the page
    gives such a document (its ``aria-label``) is the page's."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.append(tag)
            return
        for name in ("title", "aria-label", "placeholder"):
            if found.get(name):
                self.texts.append(str(found[name]))
        if tag in ("script", "style", "textarea") or "data-document" in found:
            self.skipping.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and tag == self.skipping[-1]:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.texts += data.split(" · ")  # the pages' separator, between two messages


def read(html: str) -> list[str]:
    reader = Reader()
    reader.feed(html)
    return reader.texts


async def page(client: httpx.AsyncClient, path: str, known: list[str]) -> list[str]:
    """Words on the page at ``path`` that are not its language's catalogue's."""
    with marking():
        response = await client.get(path)
    assert response.status_code in (200, 403), (path, response.status_code)
    return [word for text in read(response.text) for word in foreign(text, known)]


async def listed(w: Web, prefix: str) -> tuple[str, WorkflowHandle[Any, Any]]:
    """A fresh incident, discovered, assessed, with two people listed and the notice
    written: a decision away from telling them."""
    ref = unique(prefix)
    handle = await w.h.discovered(ref)
    await ready(w.h.settings, handle, ref, people(2))
    return ref, handle


async def signed_in(w: Web, name: str, role: Role, language: str) -> httpx.AsyncClient:
    client = w.client()
    client.cookies.set("bc_lang", language)
    await w.sign_in(client, name, role)
    return client


async def test_every_page_speaks_the_readers_language_only(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        ref = unique("LANG")
        title = "Secret numbers published"  # the harness's: data, in no one's language
        handle = await w.h.discovered(ref)
        crowd = people(2)
        await ready(w.h.settings, handle, ref, crowd)
        async with open_notify_store(w.h.settings) as store:  # one listed for a letter, and why
            listed = await store.person(ref, crowd[1].id)
            assert listed is not None
            why = letter_reason(listed.progress())
            assert await store.record(letter(ref, listed, datetime.now(UTC), "c", why))
        found: dict[tuple[str, str], list[str]] = {}
        await create_token(w.auth.store, "siem", Role.AUDITOR, None, datetime.now(UTC))
        for language in LANGUAGES:
            manager = await signed_in(w, f"maria-{language}", Role.MANAGER, language)
            agent = await signed_in(w, f"ali-{language}", Role.AGENT, language)
            known = [
                ref,
                title,
                *NAMES,
                *(f"{n}-{lang}" for n in ("maria", "ali") for lang in LANGUAGES),
            ]
            known += [
                w.h.settings.operator_zone,
                "10.1.2.3",
                "On-call",
                "DPO",
                "Incident Manager",
                "a customer asked",
                crowd[1].id,  # the one listed for a letter: data, in no one's language
                crowd[1].name or "",
            ]
            known += [r.name for d in directory(w.app.state.engine).values() for r in d.values()]
            others = (await register(w.app.state.engine)).complete()  # the server's other tests'
            known += [row.reference for row in others] + [row.title or "" for row in others]
            tokens = await w.auth.store.tokens()
            known += ["admin", "siem", *(k.id for k in tokens)]
            paths = ["/", "/calls", "/accounts", *(f"/incidents/{ref}?tab={tab}" for tab in TABS)]
            for path in paths:
                found[(language, path)] = await page(manager, path, known)
            found[(language, "403")] = await page(agent, f"/incidents/{ref}", known)
            anonymous = w.client(cookies={"bc_lang": language})
            found[(language, "/login")] = await page(anonymous, "/login", known)
        assert {where: sorted(set(words)) for where, words in found.items() if words} == {}


async def test_a_refusal_stands_beside_its_field_in_the_readers_language(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        ref = unique("FIELD")
        await w.h.discovered(ref)
        client = await signed_in(w, "maria", Role.MANAGER, "da")
        csrf = (await w.auth.store.session(client.cookies["bc_session"], datetime.now(UTC))).csrf  # type: ignore[union-attr]
        response = await client.post(
            f"/incidents/{ref}/facts",
            data={"affected_count": "-5"},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert response.status_code == 200
        beside = element(response.text, "err-affected-count")
        assert beside and "0" in beside, response.text
        assert "affected_count" not in beside and "--" not in response.text
        english = await client.post(
            f"/incidents/{ref}/facts",
            data={"affected_count": "-5"},
            headers={"X-CSRF-Token": csrf, "Cookie": "bc_lang=en"},
        )
        assert element(english.text, "err-affected-count") != beside, "worded per reader"


async def test_a_date_already_past_is_refused_beside_its_field_in_each_language(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    """An "expected by" day over in the operator's zone is refused beside that date's
    field, in the reader's words (every language the catalogue has), and nothing is
    recorded; the other date's slot is cleared, and today is taken."""
    async with web(dev_server, tmp_path, smtp) as w:
        ref = unique("PAST")
        handle = await w.h.discovered(ref)
        today = datetime.now(ZoneInfo(w.h.settings.operator_zone)).date()
        yesterday = today - timedelta(days=1)
        for language in LANGUAGES:
            client = await signed_in(w, f"maria-{language}", Role.MANAGER, language)
            session = await w.auth.store.session(client.cookies["bc_session"], datetime.now(UTC))
            assert session is not None
            response = await client.post(
                f"/incidents/{ref}/expected",
                data={"expected.systems": yesterday.isoformat(), "expected.root_cause": ""},
                headers={"X-CSRF-Token": session.csrf, "HX-Request": "true"},
            )
            words = Voice(language, w.h.settings.operator_zone)(
                "problem.facts.expected_past", on=yesterday, today=today
            )
            assert html.unescape(element(response.text, "err-expected-systems") or "") == words
            assert element(response.text, "err-expected-root-cause") == "", "cleared"
            assert 'class="refused"' not in response.text, "beside the field, not under the form"
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        assert state.facts.expected == {}, "nothing recorded"
        taken = await client.post(
            f"/incidents/{ref}/expected",
            data={"expected.systems": today.isoformat()},
            headers={"X-CSRF-Token": session.csrf, "HX-Request": "true"},
        )
        assert element(taken.text, "err-expected-systems") == "", taken.text
        state = await handle.query(IncidentWorkflow.status)
        assert state.facts.expected == {"systems": today}


async def test_a_measure_is_recorded_with_its_date_and_whether_it_is_temporary(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        client = await signed_in(w, "maria", Role.MANAGER, "sv")
        ref = unique("MEASURE")
        handle = await w.h.discovered(ref)
        form = await client.get(f"/incidents/{ref}?tab=report")
        assert 'name="measures_taken.lasting"' in form.text and "tillfällig åtgärd" in form.text
        csrf = (await w.auth.store.session(client.cookies["bc_session"], datetime.now(UTC))).csrf  # type: ignore[union-attr]
        response = await client.post(
            f"/incidents/{ref}/facts",
            data={
                "measures_taken.what": ["Exporten stoppad", ""],
                "measures_taken.on": ["2026-12-01", ""],
                "measures_taken.lasting": ["temporary", ""],
                "in_communications_service": "true",
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status_code in (200, 303), response.text
        state = await handle.query(IncidentWorkflow.status)
        (measure,) = state.facts.measures_taken
        assert (measure.what, str(measure.on), measure.lasting) == (
            "Exporten stoppad",
            "2026-12-01",
            Lasting.TEMPORARY,
        )


async def test_a_page_refused_is_a_page_in_the_persons_language(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        agent = await signed_in(w, "ali", Role.AGENT, "sv")
        response = await agent.get("/incidents/INC-1")
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert '<html lang="sv"' in response.text and "Inte tillåtet" in response.text
        manager = await signed_in(w, "maria", Role.MANAGER, "sv")
        forged = await manager.post("/incidents/INC-1/facts", data={"affected_count": "1"})
        assert forged.status_code == 403 and "Ladda om sidan" in forged.text, "no CSRF token"
        anonymous = await w.client().get("/incidents/INC-1")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"


def test_the_page_mail_links_to_the_console_by_default() -> None:
    settings = Settings()
    assert settings.console_url == f"http://127.0.0.1:{settings.http_port}"


async def test_one_persons_story_is_looked_up_in_the_readers_language(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        ref = unique("PERSON")
        handle = await w.h.discovered(ref)
        crowd = people(2)
        await ready(w.h.settings, handle, ref, crowd)
        client = await signed_in(w, "maria", Role.MANAGER, "en")
        with marking():
            found = await client.get(f"/incidents/{ref}/person", params={"subscriber": crowd[0].id})
        assert found.status_code == 200
        mine = [crowd[0].id, crowd[0].name or ""]
        assert [x for text in read(found.text) for x in foreign(text, mine)] == []
        assert "not yet reached" in found.text, "where the person stands, in words"
        unknown = await client.get(f"/incidents/{ref}/person", params={"subscriber": "nobody"})
        assert "nobody is not on the list of " + ref in unknown.text, "worded for the reader"


def test_the_notice_form_offers_the_lists_own_item_names_and_reads_every_row() -> None:
    """The names the list gives its items stand in the form, each once (a name already
    worded, in any spelling, is not offered again), however many there are; every row
    the form had is read back, past the four blank ones."""
    state = new_state()
    state.notification.items = ["secret number", "Adress", "e-post", "kundnummer", "PIN"]
    state.notification.notice = notice("X-1").model_copy(
        update={"item_labels": {"Secret Number": {"sv": "hemligt nummer"}}}
    )
    rows = label_rows(state)
    assert [item for item, _ in rows] == [
        "Secret Number",
        "Adress",
        "e-post",
        "kundnummer",
        "PIN",
        "",
    ]
    sent = FormData(
        [
            *((f"item_labels.{row}.item", item) for row, (item, _) in enumerate(rows)),
            ("item_labels.4.sv", "pinkod"),
        ]
    )
    assert passages_of(None, sent)["item_labels"] == {"PIN": {"sv": "pinkod"}}  # type: ignore[arg-type]


def test_the_campaigns_two_rows_of_counts_say_which_are_people_and_which_calls() -> None:
    """Three people not yet reached and one call unanswered: without a heading each, the
    four badges read as four people."""
    section = TEMPLATES.get_template("incident_campaign.html").render(
        t=Voice("en"),
        state=new_state(),
        campaign={"people": {"pending": 3}, "calls": {"no_answer": 1}},
    )
    assert element(section, "campaign-people") == "People, by how far they have got"
    assert element(section, "campaign-calls") == "Calls, by outcome"
    calls = section[section.index('aria-labelledby="campaign-calls"') :]
    assert "no answer" in calls[: calls.index("</ul>")]


def test_every_key_a_template_names_is_in_every_language() -> None:
    """Keys a page names as constants (``t("ui.…")``), checked even where no test renders
    the page."""
    folder = Path(__file__).parents[2] / "breachclock" / "web" / "templates"
    named = {
        key
        for path in folder.glob("*.html")
        for key in re.findall(
            r"""\bt(?:\.plural)?\(["']([a-z_]+\.[a-z_.]+)["']""", path.read_text()
        )
        if not key.endswith((".", "_"))  # a prefix a value completes: rendered by the tests
    }
    assert len(named) > 100
    for language in LANGUAGES:
        assert sorted(named - messages(language).keys()) == [], language


async def test_the_people_tab_words_each_plan_and_refuses_an_sms_too_long_beside_it(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        ref, handle = await listed(w, "PLAN")
        client = await signed_in(w, "maria", Role.MANAGER, "en")
        tab = await client.get(f"/incidents/{ref}?tab=people")
        at = tab.text.index('id="plans"')
        plans = tab.text[at : tab.text.index("</fieldset>", at)]
        assert "Calls, SMS, then e-mail" in plans and "SMS first" in plans
        assert plans.count("a letter to whoever nothing else reached") == 3, plans
        csrf = (await w.auth.store.session(client.cookies["bc_session"], datetime.now(UTC))).csrf  # type: ignore[union-attr]
        long = "Vi skriver för att berätta 🙂 " * 6  # an emoji: UCS-2, 67 units a part
        response = await client.post(
            f"/incidents/{ref}/decide",
            data={"notify": "true", "plan": "sms_first", "sms_sender": "Tre", "sms_sv": long},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        beside = element(response.text, "err-sms-summary-sv") or ""
        assert "parts" in beside and "UCS-2" in beside, response.text
        plan = element(response.text, "err-plan") or ""
        assert "no SMS gateway" in plan, "this engine has none: said beside the plan"
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        assert state.notification.decision is None, "refused at approval"


async def test_a_persons_page_shows_each_try_with_its_channel_time_and_outcome(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        ref = unique("PATH")
        handle = await w.h.discovered(ref)
        crowd = people(1)
        await ready(w.h.settings, handle, ref, crowd)
        sid, at = crowd[0].id, datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
        async with open_notify_store(w.h.settings) as store:
            # A call nobody answered, then the SMS (the person's one call made before it).
            for calls, key, channel, outcome in (
                (0, f"{ref}:{sid}:call:1", "call", "no_answer"),
                (1, f"{ref}:{sid}:sms:1", "sms", "delivered"),
            ):
                entry = Entry(
                    ref, sid, key, channel, 1, outcome, at, Status.PENDING, None, calls, "c"
                )
                assert await store.record(entry)
            await store.walked(Walked(ref, sid, reached=Status.TEXTED))
        client = await signed_in(w, "maria", Role.MANAGER, "en")
        found = await client.get(f"/incidents/{ref}/person", params={"subscriber": sid})
        rows = [r for r in found.text.split("<tr>") if "<td>" in r]
        assert len(rows) == 2, found.text
        assert "call" in rows[0] and "no answer" in rows[0]
        assert "SMS" in rows[1] and "delivered" in rows[1] and "Mon 2 Mar" in rows[1], rows[1]
        assert "told by SMS (delivery confirmed)" in found.text


async def test_the_page_shows_the_wait_for_containment_and_when_each_missing_fact_is_expected(
    dev_server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with web(dev_server, tmp_path, smtp) as w:
        ref, handle = await listed(w, "WAIT")
        await handle.execute_update(IncidentWorkflow.request_takedown, ENIRO)
        after = Decision(notify=True, decided_by="DPO", after_containment=True)
        await handle.execute_update(IncidentWorkflow.decide_notice, after)
        state: IncidentState = await handle.query(IncidentWorkflow.status)
        since, bound = state.notification.waiting_since, state.notification.wait_bound
        assert since and bound == since + timedelta(hours=24), "the default bound"

        client = await signed_in(w, "maria", Role.MANAGER, "en")
        overview = (await client.get(f"/incidents/{ref}")).text
        at = overview.index('id="notice-wait"')
        line = overview[at : overview.index("</p>", at)]
        en = Voice("en", w.h.settings.operator_zone)
        assert f"Notice waits for containment since {en('ui.instant', at=since)}" in line, line
        assert f"the bound is {en('ui.instant', at=bound)}" in line, line
        assert 'class="countdown' in line and ">in 23 h 5" in line, "how long is left"
        swedish = await signed_in(w, "maria-sv", Role.MANAGER, "sv")
        assert (
            "Underrättelsen väntar på bekräftade borttagningar"
            in (await swedish.get(f"/incidents/{ref}")).text
        )

        tab = (await client.get(f"/incidents/{ref}?tab=report")).text
        due = state.tracks[0].aware_at + timedelta(hours=24)
        row = html.unescape(element(tab, "expected-systems-by") or "")
        assert row == f"{en('ui.instant', at=due)} (the report's next deadline; no date recorded)"
        csrf = (await w.auth.store.session(client.cookies["bc_session"], datetime.now(UTC))).csrf  # type: ignore[union-attr]
        saved = await client.post(
            f"/incidents/{ref}/expected",
            data={"expected.systems": "2030-01-15", "expected.root_cause": ""},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert "Saved: technical systems" in saved.text, saved.text
        state = await handle.query(IncidentWorkflow.status)
        assert state.facts.expected == {"systems": date(2030, 1, 15)}
        tab = (await client.get(f"/incidents/{ref}?tab=report")).text
        assert element(tab, "expected-systems-by") == "2030-01-15 (your date)"
        assert "next deadline" in (element(tab, "expected-root_cause-by") or ""), "unchanged"
        draft = await client.get(f"/api/incidents/{ref}/report", params={"format": "text"})
        assert "2030-01-15" in draft.text, "the filing gives the date as the operator's own"

        # With a NIS2 report open, the facts card asks what its early warning says.
        assert 'id="nis2-facts"' not in tab
        aspects = FactsPatch(changes={"security_aspects": ["confidentiality"]})
        await handle.execute_update(IncidentWorkflow.record_facts, aspects)
        await handle.execute_update(
            IncidentWorkflow.open_security_report, OpenSecurityReport(by="Maria")
        )
        tab = (await client.get(f"/incidents/{ref}?tab=report")).text
        assert 'id="nis2-facts"' in tab and "malicious acts" in tab
        others = {"security_aspects": "confidentiality", "in_communications_service": "true"}
        told = await client.post(
            f"/incidents/{ref}/facts",
            data=dict(suspected_malicious="true", cross_border_impact="", **others),
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert "Saved: suspected of being caused by unlawful or malicious acts" in told.text
        state = await handle.query(IncidentWorkflow.status)
        assert (state.facts.suspected_malicious, state.facts.cross_border_impact) == (True, None)
