"""The read model kept by the engine: every change of an incident's workflow projected
(across continue-as-new too), a rebuild from Temporal equal to the live projection, the
change feed, and the register and incident page served while Temporal is gone.

On a server of this module's own: a rebuild lists every incident on its server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from breachclock.domain.incident.model import TimelineInput
from breachclock.domain.incident.register import page_state
from breachclock.runtime.outbox import free_port
from breachclock.service.engine import Engine
from breachclock.service.readmodel import changes, rebuild
from breachclock.web.app import create_app
from breachclock.web.auth import Role
from tests.conftest import SmtpSink, harness, private_server
from workflows.incident import IncidentWorkflow

EVENTS = 30


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[WorkflowEnvironment]:
    env = await private_server(tmp_path_factory.mktemp("readmodel-server"))
    yield env
    await env.shutdown()


async def test_each_change_is_projected_and_a_rebuild_gives_the_same(
    server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink, history: str
) -> None:
    reference = f"RM-{history.upper()}"
    async with harness(server, tmp_path, smtp) as h:
        handle = await h.discovered(reference)
        engine = Engine(h.settings, h.client)
        async with engine.read_model() as view:
            since = await view.last_seq()
            feed = changes(engine, since)
            for n in range(EVENTS):
                at = datetime.now(UTC)  # the latest, so the last on the page
                await handle.execute_update(
                    IncidentWorkflow.add_event, TimelineInput(at=at, what=f"step {n}", by="SRE")
                )
                # the update answers once the workflow task that projected it is done
                found = await view.state(reference)
                assert found is not None and found.state.timeline[-1].what == f"step {n}"
            live = await view.state(reference)
        assert live is not None
        status = await handle.query(IncidentWorkflow.status)
        assert live.state == page_state(status) and live.timeline_total == len(status.timeline)
        assert live.version >= EVENTS + 2, "opened, discovered, and each event: a version each"
        change = await asyncio.wait_for(anext(feed), 5)
        assert change.reference == reference and change.seq > since
        await feed.aclose()

        elsewhere = h.settings.model_copy(update={"data_dir": tmp_path / "rebuilt"})
        rebuilt_engine = Engine(elsewhere, h.client)
        done = await rebuild(rebuilt_engine)
        assert done.unread == [] and done.changed == done.incidents >= 1
        async with rebuilt_engine.read_model() as fresh, engine.read_model() as view:
            # (a run that continued as new meanwhile projected its start: a version more)
            assert await fresh.state(reference) == await view.state(reference)
        await handle.terminate()  # its worker goes with the harness: nothing to ask later


async def test_the_register_and_incident_page_are_served_with_temporal_gone(
    server: WorkflowEnvironment, tmp_path: Path, smtp: SmtpSink
) -> None:
    async with harness(server, tmp_path, smtp) as h:
        handle = await h.discovered("RM-PAGE")
        await handle.execute_update(
            IncidentWorkflow.add_event,
            TimelineInput(at=datetime.now(UTC), what="backup restored on db-7", by="SRE"),
        )
        gone = await Client.connect(
            f"127.0.0.1:{free_port()}", lazy=True, data_converter=h.client.data_converter
        )
        with pytest.raises(RuntimeError, match="connect"):  # any call to Temporal fails
            await gone.get_workflow_handle(handle.id).query(IncidentWorkflow.status)
        app = create_app(h.settings, gone)
        async with app.router.lifespan_context(app):
            await app.state.auth.store.add_token("rm-token", "rm", Role.AUDITOR, datetime.now(UTC))
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="https://console.test",
                headers={"Authorization": "Bearer rm-token"},
            ) as web:
                register = await web.get("/?filter=open")
                page = await web.get("/incidents/RM-PAGE?tab=timeline")
        assert register.status_code == 200 and "RM-PAGE" in register.text
        assert page.status_code == 200 and "backup restored on db-7" in page.text
        await handle.terminate()
