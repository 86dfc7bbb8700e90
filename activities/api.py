"""What the workflows know of the activities: each one's name and its messages.

Workflows schedule activities by these names (``workflow.execute_activity(NAME, …)``)
and never import an implementation: which relay, store or dialer does the work is
the worker's business (``worker.py`` wires them). Changing a name here breaks every
running incident; the saved histories in ``tests/histories`` say so first.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from breachclock.domain.incident.escalation import PageDraft
from breachclock.domain.incident.model import IncidentState, Policy
from breachclock.domain.incident.report import ReportDraft
from breachclock.domain.notify.delivery import Counts, Plan
from breachclock.domain.notify.notice import IncidentNotice, Operator
from breachclock.domain.notify.plan import ChannelPlan
from breachclock.domain.notify.sms import SmsNotice
from breachclock.domain.notify.subscribers import LoadOutcome

# --- filings and pages (incidents queue)
FILE_REPORT = "file_report"
"""``ReportDraft`` → ``Receipt``: the filing mailed to its regulator, once per key."""
PREPARE_FOR_PORTAL = "prepare_for_portal"
"""``PortalTask`` → ``Receipt``: a portal filing's documents to the people who file it."""
SEND_PAGE = "send_page"
"""``PageDraft`` → ``Receipt``: an escalation page, once per key."""
SEND_TAKEDOWN = "send_takedown"
"""``TakedownDraft`` → ``Receipt``: a takedown request or reminder, once per key."""
REGISTER_INCIDENT = "register_incident"
"""``IncidentState`` → None: a closed incident written into the register."""
PROJECT_INCIDENT = "project_incident"
"""``Projection`` → None: the incident as it stands kept in the read model (a local
activity, after every change)."""
# --- the engine itself (incidents queue)
POLICY = "policy"
"""() → ``Policy``: the engine's configuration for a new incident (a local activity)."""
CAMPAIGN_END = "campaign_end"
"""campaign workflow id → ``CampaignEnd``."""
PURGE_EXPIRED = "purge_expired"
"""``Purge`` → ``Purged``: personal data past its retention deleted."""
# --- telling people
LOAD_SUBSCRIBERS = "load_subscribers"
"""``LoadPage`` → ``LoadOutcome`` (incidents queue)."""
ADVANCE = "advance"
"""``Advance`` → ``SliceReport``: one round over a slice (notifications queue)."""
GIVE_UP = "give_up"
"""``GiveUp`` → ``SliceReport`` (notifications queue)."""
STORE_SUBSCRIBERS = "store_subscribers"
"""The first engine's page load, people inline; only histories made by it schedule it."""


class Receipt(BaseModel):
    key: str
    message_id: str
    sent_at: datetime
    recipients: int
    duplicate: bool = False
    """True when the key had been sent before: this call sent nothing."""


class Projection(BaseModel):
    """An incident's state as its workflow's ``version``-th projection (the ``projection``
    query answers the version last projected, with the state as it is now)."""

    version: int
    state: IncidentState


class CampaignEnd(BaseModel):
    failure: str | None = None
    """Why the campaign's workflow ended without finishing; None while it runs, or when it
    finished (it then told the incident itself)."""


class LoadPage(BaseModel):
    """Take on a page of people a client staged in the store under ``page_key``."""

    reference: str
    page_key: str


class Advance(BaseModel):
    """One round over one slice of the list: people with sequence numbers [first, end)."""

    reference: str
    first: int
    end: int
    now: datetime
    """The workflow's time of the round (the later of it and the worker's clock counts)."""
    plan: Plan
    notice: IncidentNotice
    operator: Operator
    channels: ChannelPlan | None = None
    """Walk each due person through this plan (``activities.walk``); None: the first
    engine's calls then e-mail, by ``plan``."""
    sms: SmsNotice | None = None


class GiveUp(BaseModel):
    """Rounds over this slice kept failing: list everyone still pending for a letter."""

    reference: str
    first: int
    end: int
    now: datetime
    reason: str


class SliceReport(BaseModel):
    counts: Counts
    next_due: datetime | None
    """When someone in the slice is next due; None when everyone is done."""
    at: datetime | None = None
    """When the round ended, by the worker's clock: the campaign's decision clock moves
    to it (``workflows.clock``). None in reports from before it."""


class Purge(BaseModel):
    now: datetime


class Purged(BaseModel):
    incidents: list[str]
    """References whose people's data was deleted by this run."""
    staged_pages: int
    outbox_mails: int


__all__ = [
    "IncidentState",
    "LoadOutcome",
    "PageDraft",
    "Policy",
    "ReportDraft",
]


class PortalTask(BaseModel):
    """A filing to be made on the authority's portal by a person: the draft (rendered as
    text, JSON and PDF) goes to ``to`` with the instructions, once per ``draft``'s key."""

    draft: ReportDraft
    to: list[str]
    subject: str
    body: str
