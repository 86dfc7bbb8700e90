from datetime import timedelta

from breachclock.incident.model import Discover
from breachclock.workflows.incident import IncidentWorkflow
from tests.conftest import harness


async def test_auto_file(skipping, tmp_path, smtp):
    async with harness(skipping, tmp_path, smtp) as h:
        handle = await h.open()
        now = await h.now()
        await handle.execute_update(
            IncidentWorkflow.discover, Discover(at=now, by="oncall", how="customer asked")
        )
        await skipping.sleep(timedelta(hours=25))
        state = await handle.query(IncidentWorkflow.status)
        print([m["Subject"] for m in smtp.messages])
        print(state.filings)
        assert state.filings
