"""Configuration from the environment, with embedded defaults for one machine."""

from __future__ import annotations

import base64
import ipaddress
import os
import sys
import typing
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import to_json
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from breachclock.domain.catalogue import LANGUAGES, Language, Voice
from breachclock.domain.incident.model import Policy
from breachclock.domain.instants import zone
from breachclock.domain.notify.delivery import CallOutcome, Plan
from breachclock.domain.notify.identity import ALL_METHODS, IdentityMethod
from breachclock.domain.problems import Problem, invalid, problem, problems_of
from breachclock.domain.regimes import RegimeCode, regime, regimes
from breachclock.runtime.codec import CodecKeyError, EncryptionCodec, Sealer, local_keys, parse_keys

TASK_QUEUE = "breachclock-incidents"
CHECKOUT = Path(__file__).resolve().parents[2]
"""The checkout this code runs from (where ``pyproject.toml`` and ``starter.py`` are)."""


def default_data_dir() -> Path:
    """Where every process of one installation keeps its data, whatever its working
    directory: the checkout's ``data/`` (``make run``), or for an installed package the
    user's data folder. Never the working directory: a CLI run from elsewhere must find
    the engine's keys and stores, not make its own."""
    if (CHECKOUT / "pyproject.toml").is_file():
        return CHECKOUT / "data"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "breachclock"


def locale_language() -> Language:
    """The language the locale environment asks for (``LC_ALL``, ``LC_MESSAGES``, ``LANG``:
    ``sv_SE.UTF-8`` is Swedish), where the catalogue has it; English otherwise."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            code = value.split("_")[0].split(".")[0].lower()
            return code if code in LANGUAGES else "en"
    return "en"


def shape(field: FieldInfo) -> Literal["list", "object", "value"]:
    """What a setting holds, as its expected form is named: a list, an object, one value."""
    kinds = {
        typing.get_origin(a) or a for a in (field.annotation, *typing.get_args(field.annotation))
    }
    if list in kinds:
        return "list"
    return "object" if dict in kinds else "value"


class LenientEnv(EnvSettingsSource):
    """The environment, where a list setting may also be given as one value or values
    separated by commas (``BREACHCLOCK_PAGE_ONCALL=oncall@example.org``), which is
    unambiguous; any other value that is not JSON goes on as text, so that validation
    names the setting and what it expects instead of a JSON parser's traceback."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        listed = shape(field) == "list"
        try:
            decoded = super().decode_complex_value(field_name, field, value)
        except ValueError:
            text = str(value).strip()
            if listed and not text.startswith(("[", "{")):
                return [part.strip() for part in text.split(",") if part.strip()]
            return value
        if listed and isinstance(decoded, str | int | float):
            return [decoded]  # one number, as JSON reads it
        return decoded


class SettingsInvalid(Exception):
    """A setting the process cannot run with: ``problems`` name each setting, what is
    wrong with it and the form it expects (worded by the surface that reports it)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.code for p in problems))


def setting_problems(err: ValidationError) -> list[Problem]:
    """Each refused setting as one problem: its variable's name, the form expected, and
    pydantic's finding behind it."""
    fields = {(f.alias or n): f for n, f in Settings.model_fields.items()}
    found = []
    for inner in problems_of(err):
        name = (inner.field or "").split(".")[0]
        if not name:  # about the settings together (no one setting): said as it is
            found.append(inner)
            continue
        form = shape(fields[name]) if name in fields else "value"
        finding = inner.model_copy(update={"field": None})
        found.append(problem("setting.invalid", name, [finding], name=name, form=form))
    return found


def load_settings(**values: Any) -> Settings:
    """The settings, or ``SettingsInvalid`` naming what is wrong (never a traceback)."""
    try:
        return Settings(**values)
    except ValidationError as err:
        raise SettingsInvalid(setting_problems(err)) from None


def settings_or_exit(**values: Any) -> Settings:
    """For a process's entry: the settings, or one line per refused setting on stderr in
    the locale's language, and exit status 1."""
    try:
        return load_settings(**values)
    except SettingsInvalid as err:
        voice = Voice(locale_language())
        for found in err.problems:
            print(f"error: {found.words(voice)}", file=sys.stderr)
        raise SystemExit(1) from None


EXAMPLE_OPERATOR = "Example Telecom AB"
"""The operator an engine names when none is configured: never one a regulator should hear from."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, LenientEnv(settings_cls), dotenv_settings, file_secret_settings

    temporal_address: str | None = Field(default=None, alias="TEMPORAL_ADDRESS")
    """The Temporal frontend (``host:port``); unset: the engine starts its own dev server
    on ``BREACHCLOCK_TEMPORAL_PORT`` with its state in the data folder."""
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    """The Temporal namespace incidents run in."""
    temporal_api_key: str | None = Field(default=None, alias="TEMPORAL_API_KEY")
    """An API key for Temporal Cloud (sent as a bearer token; TLS is then on)."""
    temporal_tls_cert: Path | None = Field(default=None, alias="TEMPORAL_TLS_CERT")
    """Client certificate (PEM) for mutual TLS to Temporal."""
    temporal_tls_key: Path | None = Field(default=None, alias="TEMPORAL_TLS_KEY")
    """The client certificate's private key (PEM)."""
    temporal_tls_ca: Path | None = Field(default=None, alias="TEMPORAL_TLS_CA")
    """The CA (PEM) the Temporal server's certificate is checked against; unset: the
    system's."""
    temporal_port: int = Field(default=7233, alias="BREACHCLOCK_TEMPORAL_PORT")
    """The embedded dev server's port (only where ``TEMPORAL_ADDRESS`` is unset)."""
    ui_port: int = Field(default=8233, alias="BREACHCLOCK_UI_PORT")
    """The embedded dev server's Temporal UI port."""
    otel_exporter: str = Field(
        default="none", alias="BREACHCLOCK_OTEL_EXPORTER", pattern="^(none|console|otlp)$"
    )
    """Where traces go: nowhere, stdout, or OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT)."""
    metrics_address: str | None = Field(default=None, alias="BREACHCLOCK_METRICS_ADDRESS")
    """host:port for the worker's Prometheus /metrics endpoint; unset: none."""
    task_queue: str = Field(default=TASK_QUEUE, alias="BREACHCLOCK_TASK_QUEUE")
    """The incidents' task queue; their campaigns' slices use it with ``-notify`` appended."""

    data_dir: Path = Field(default_factory=default_data_dir, alias="BREACHCLOCK_DATA_DIR")
    """The engine's folder (owner-only): keys, SQLite stores, the local outbox, the dev
    server's state."""
    store_url: SecretStr | None = Field(default=None, alias="BREACHCLOCK_STORE_URL")
    """postgresql://user:password@host:5432/db: one send ledger and register shared by
    every worker; unset: SQLite in the data folder (one machine)."""
    codec_keys: str | None = Field(default=None, alias="BREACHCLOCK_CODEC_KEYS")
    """JSON {"key-id": "<base64 of 32 bytes>"}; unset: a key made in the data folder."""
    codec_active_key: str | None = Field(default=None, alias="BREACHCLOCK_CODEC_ACTIVE_KEY")
    """Which of ``BREACHCLOCK_CODEC_KEYS`` encrypts new data (the others still decrypt:
    key rotation); needed when there are several."""
    link_key: SecretStr | None = Field(default=None, alias="BREACHCLOCK_LINK_KEY")
    """The key that signs page e-mails' acknowledgement links: base64 of at least 32
    bytes, the same for every worker and the console (a Secret on Kubernetes); unset: a
    key made in the data folder (one machine)."""

    @field_validator("link_key")
    @classmethod
    def _link_key_bytes(cls, key: SecretStr | None) -> SecretStr | None:
        """A key too short to sign with, or not base64, stops the process at its start."""
        if key is not None:
            try:
                raw = base64.b64decode(key.get_secret_value(), validate=True)
            except ValueError as err:
                raise ValueError("BREACHCLOCK_LINK_KEY is not base64") from err
            if len(raw) < 32:
                raise ValueError("BREACHCLOCK_LINK_KEY must be base64 of at least 32 bytes")
        return key

    codec_server_port: int = Field(default=8888, alias="BREACHCLOCK_CODEC_SERVER_PORT")
    """The codec server's port, for the Temporal UI and CLI to read encrypted payloads."""
    codec_server_token: SecretStr | None = Field(
        default=None, alias="BREACHCLOCK_CODEC_SERVER_TOKEN"
    )
    """The bearer token the codec server asks for; unset: the server does not start."""
    codec_server_origin: str | None = Field(default=None, alias="BREACHCLOCK_CODEC_SERVER_ORIGIN")
    """The Temporal UI's origin(s), comma-separated, allowed to call the codec server from
    the browser; unset: the embedded UI's (``codec_origins``)."""

    http_host: str = Field(default="127.0.0.1", alias="BREACHCLOCK_HTTP_HOST")
    """The address the console and API listen on (127.0.0.1: this machine only)."""
    http_port: int = Field(default=8380, alias="BREACHCLOCK_HTTP_PORT")
    """The HTTP API and console (``make run`` serves it beside the worker; 0: not at all)."""
    language: Language = Field(default_factory=locale_language, alias="BREACHCLOCK_LANGUAGE")
    """The language people are spoken to in where they have not chosen one: the CLI's
    refusals and answers, the console's first page (default: the locale's, else English)."""
    web_language: Literal["sv", "da", "en"] = Field(default="sv", alias="BREACHCLOCK_WEB_LANGUAGE")
    """The console's language where a person has not chosen one in its header."""
    web_admin_password: SecretStr | None = Field(default=None, alias="BREACHCLOCK_ADMIN_PASSWORD")
    """The first run's ``admin`` (manager) password; unset: one is made and printed once."""
    web_insecure_cookies: bool = Field(default=False, alias="BREACHCLOCK_WEB_INSECURE_COOKIES")
    """Session cookies without ``Secure``, for plain http on a machine other than 127.0.0.1
    (browsers keep Secure cookies from http://127.0.0.1 and localhost)."""
    sso_header: str | None = Field(default=None, alias="BREACHCLOCK_SSO_HEADER")
    """The header a single-sign-on reverse proxy sets to the signed-in user's name
    (``X-Forwarded-User``); read only from ``sso_proxies``. Unset: no SSO."""
    sso_proxies: list[str] = Field(default=[], alias="BREACHCLOCK_SSO_PROXIES")
    """The proxies' addresses (IPs or networks) whose ``sso_header`` is believed."""
    trusted_proxies: list[str] = Field(default=[], alias="BREACHCLOCK_TRUSTED_PROXIES")
    """The reverse proxies in front of the console (IPs or networks, ``10.0.0.0/8``):
    from them alone ``forwarded_header`` is read for the client's address, which the
    sign-in throttle counts and the audit log records; unset: the peer's address."""
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = Field(
        default="x-forwarded-for", alias="BREACHCLOCK_FORWARDED_HEADER"
    )
    """The header those proxies append the client's address to: ``x-forwarded-for``
    (nginx's ``$proxy_add_x_forwarded_for``) or RFC 7239's ``forwarded``."""

    @field_validator("trusted_proxies", "sso_proxies")
    @classmethod
    def _networks(cls, given: list[str]) -> list[str]:
        """Each an address or network, or the process stops at its start saying which."""
        for entry in given:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise invalid("settings.not_a_network", entry=entry) from None
        return given

    session_hours: float = Field(default=12, gt=0, alias="BREACHCLOCK_SESSION_HOURS")
    """How long a console sign-in lasts."""

    smtp_host: str | None = Field(default=None, alias="SMTP_HOST")
    """The mail relay filings, pages and notices go through; unset: every mail is kept
    in the data folder's outbox and nothing leaves the machine."""
    smtp_port: int = Field(default=8025, alias="SMTP_PORT")
    """The relay's port."""
    smtp_username: str | None = Field(default=None, alias="SMTP_USERNAME")
    """The relay's user name, where it asks for one."""
    smtp_password: str | None = Field(default=None, alias="SMTP_PASSWORD")
    """The relay's password."""
    smtp_implicit_tls: bool = Field(default=False, alias="SMTP_IMPLICIT_TLS")
    """TLS from the first byte (port 465); otherwise STARTTLS where the relay offers it."""
    mail_from: str = Field(default="breachclock@operator.example", alias="BREACHCLOCK_MAIL_FROM")
    """The sender of every mail the engine sends."""

    operator_name: str = Field(default=EXAMPLE_OPERATOR, alias="BREACHCLOCK_OPERATOR")
    """The operator's name, as filings and notices print it."""
    operator_org_number: str | None = Field(
        default="556000-0000", alias="BREACHCLOCK_OPERATOR_ORG_NUMBER"
    )
    """The operator's organisation number, printed in every filing."""
    contact_point: str = Field(
        default="dpo@operator.example, +46 8 000 000",
        alias="BREACHCLOCK_CONTACT_POINT",
    )
    """How a regulator reaches the contact point; the role's words are the filing's."""
    contact_role: str | None = Field(default=None, alias="BREACHCLOCK_CONTACT_ROLE")
    """The contact point's role, where the operator names it (otherwise the catalogue's
    term for a data protection officer in each filing's language)."""
    policy_owner: str | None = Field(default=None, alias="BREACHCLOCK_POLICY_OWNER")
    """The person under whose standing authority the engine files at a deadline on its
    own: each such filing names them (required where filings really leave)."""
    policy_owner_role: str | None = Field(default=None, alias="BREACHCLOCK_POLICY_OWNER_ROLE")
    operator_zone: str = Field(default="Europe/Stockholm", alias="BREACHCLOCK_ZONE")
    """The operator's time zone: deadlines are kept in UTC and shown in this zone."""
    dk_zone: str | None = Field(default=None, alias="BREACHCLOCK_DK_ZONE")
    """The zone the Danish authority's incidents are shown in (the Danish team's), if not
    the operator's (Europe/Copenhagen where the operator is Swedish)."""

    @field_validator("operator_zone", "dk_zone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        """A zone name the tz database knows (``Europe/Stockholm``), or the engine refuses
        to start rather than show deadlines in a zone it cannot compute."""
        if name is not None:
            zone(name)
        return name

    nis2_language: Literal["en", "sv"] = Field(default="en", alias="BREACHCLOCK_NIS2_LANGUAGE")
    """The language of NIS2 reports; PTS and IMY get Swedish, the Danish authority Danish."""
    pts_address: str = Field(
        default=regime(RegimeCode.PTS).destination, alias="BREACHCLOCK_PTS_ADDRESS"
    )
    imy_address: str = Field(
        default=regime(RegimeCode.IMY).destination, alias="BREACHCLOCK_IMY_ADDRESS"
    )
    nis2_address: str = Field(
        default=regime(RegimeCode.NIS2).destination, alias="BREACHCLOCK_NIS2_ADDRESS"
    )

    customer_phone: str | None = Field(default=None, alias="BREACHCLOCK_CUSTOMER_PHONE")
    """The operator's customer-service number, printed in notices; unset: none."""
    customer_email: str | None = Field(
        default="kundservice@operator.example", alias="BREACHCLOCK_CUSTOMER_EMAIL"
    )
    """The operator's customer-service address, printed in notices."""
    customer_web: str | None = Field(default=None, alias="BREACHCLOCK_CUSTOMER_WEB")
    """How notified people reach the operator: the notice prints these."""

    calls: str = Field(
        default="simulator", alias="BREACHCLOCK_CALLS", pattern="^(simulator|agents|http)$"
    )
    """Who places notification calls: the simulator, agents by hand, or an HTTP dialer."""
    call_attempts: int = Field(default=5, ge=0, le=20, alias="BREACHCLOCK_CALL_ATTEMPTS")
    """Calls to a person before the next channel (e-mail, then letter) is tried."""
    call_spacing_minutes: float = Field(default=120, ge=0, alias="BREACHCLOCK_CALL_SPACING_MINUTES")
    """Time between two calls to the same person."""
    calling_hours: str = Field(
        default="09:00-20:00",
        alias="BREACHCLOCK_CALLING_HOURS",
        pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
    )
    """The hours (operator's zone, ``HH:MM-HH:MM``) in which people are called."""
    max_cached_workflows: int = Field(
        default=10_000, ge=0, le=200_000, alias="BREACHCLOCK_MAX_CACHED_WORKFLOWS"
    )
    """Workflows this worker keeps in memory between their tasks (Temporal's sticky cache;
    the SDK's default is 1,000). An incident not in it is rebuilt before its next task, a
    page's or filing's timer included: a fresh workflow sandbox replays its whole history
    (``bench.cache``: a status query 6x slower, median 47 ms against 8 ms). The default
    keeps 10,000 open incidents. Each costs about 270 KiB of the worker's memory
    (``bench.cache``, 300 incidents: 269 KiB, half of it the sandbox's own copy of the
    workflow module), so 10,000 take about 2.6 GiB: a worker given less memory sets this
    to what fits (its share of the open incidents; the SDK evicts the least recently used)."""
    notify_batch: int = Field(default=500, ge=1, le=5000, alias="BREACHCLOCK_NOTIFY_BATCH")
    """People per campaign slice (one activity)."""
    notify_parallel: int = Field(default=4, ge=1, le=500, alias="BREACHCLOCK_NOTIFY_PARALLEL")
    """Campaign slices this worker runs at once."""
    notify_heartbeat_seconds: float = Field(
        default=30, gt=0, alias="BREACHCLOCK_NOTIFY_HEARTBEAT_SECONDS"
    )
    """A slice silent this long is taken for dead and retried from its last progress
    report."""
    sms_report_minutes: float = Field(
        default=60, gt=0, le=7 * 24 * 60, alias="BREACHCLOCK_SMS_REPORT_MINUTES"
    )
    """How long an SMS the gateway took may go without a delivery report before it
    counts as not delivered (expired) and the plan's next step runs."""
    notify_rate: float | None = Field(default=None, gt=0, alias="BREACHCLOCK_NOTIFY_RATE")
    """Slices started per second on the notifications queue, across all workers (the
    call centre's capacity); unset: no limit."""
    dialer_url: str | None = Field(default=None, alias="BREACHCLOCK_DIALER_URL")
    """The HTTP dialer calls are placed through (``BREACHCLOCK_CALLS=http``)."""
    dialer_token: SecretStr | None = Field(default=None, alias="BREACHCLOCK_DIALER_TOKEN")
    """The dialer's bearer token."""
    dialer_lines: int = Field(default=20, ge=1, alias="BREACHCLOCK_DIALER_LINES")
    """Calls the dialer places at once."""
    simulator_seed: str = Field(default="breachclock", alias="BREACHCLOCK_SIMULATOR_SEED")
    """The call simulator's seed: the same seed, the same outcomes (demos and tests)."""
    simulator_latency_ms: float = Field(default=0, ge=0, alias="BREACHCLOCK_SIMULATOR_LATENCY_MS")
    """How long each simulated call takes."""
    simulator_lines: int = Field(default=50, ge=1, alias="BREACHCLOCK_SIMULATOR_LINES")
    """Simulated calls at once."""
    simulator_outcomes: dict[CallOutcome, float] | None = Field(
        default=None, alias="BREACHCLOCK_SIMULATOR_OUTCOMES"
    )
    """JSON weights, e.g. {"no_answer": 1}; unset: a mix of every outcome."""
    sms_url: str | None = Field(default=None, alias="BREACHCLOCK_SMS_URL")
    """Kannel smsbox's sendsms interface (``http://127.0.0.1:13013/cgi-bin/sendsms``);
    unset: no SMS channel."""
    sms_username: str = Field(default="breachclock", alias="BREACHCLOCK_SMS_USERNAME")
    sms_password: SecretStr | None = Field(default=None, alias="BREACHCLOCK_SMS_PASSWORD")
    sms_dlr_url: str | None = Field(default=None, alias="BREACHCLOCK_SMS_DLR_URL")
    """Where the gateway posts delivery reports: the engine's ``/gateway/sms/dlr`` as
    Kannel reaches it."""
    sms_dlr_secret: SecretStr | None = Field(
        default=None, alias="BREACHCLOCK_SMS_DLR_SECRET", repr=False
    )
    """Signs each report's link, so that only the gateway, which was given it, can report."""
    sms_dlr_allow: list[str] = Field(
        default=["127.0.0.1", "::1"], alias="BREACHCLOCK_SMS_DLR_ALLOW"
    )
    """The addresses delivery reports are taken from (the gateway's)."""
    history_budget: int = Field(default=8_000, ge=20, le=40_000, alias="BREACHCLOCK_HISTORY_BUDGET")
    """Events an incident's run reaches before it continues as new."""
    notify_history_budget: int = Field(
        default=4_000, ge=20, le=40_000, alias="BREACHCLOCK_NOTIFY_HISTORY_BUDGET"
    )
    """Events a campaign's run reaches before it continues as new."""
    campaign_check_minutes: float = Field(
        default=60, gt=0, alias="BREACHCLOCK_CAMPAIGN_CHECK_MINUTES"
    )
    """How often an incident looks at its running campaign from outside (one ended by hand
    tells nobody)."""
    retention_days: float = Field(default=90, gt=0, alias="BREACHCLOCK_RETENTION_DAYS")
    """How long after an incident closes its people's personal data is kept (the register
    keeps the incident, its counts and decisions)."""
    agent_hold_minutes: float = Field(default=15, gt=0, alias="BREACHCLOCK_AGENT_HOLD_MINUTES")
    """How long an agent holds a call before it goes back on the list unrecorded."""
    console_url: str = Field(default="", alias="BREACHCLOCK_CONSOLE_URL")
    """The web console's base URL, which a page's acknowledgement link points to; unset:
    the console this process serves (``http://HOST:BREACHCLOCK_HTTP_PORT``)."""
    identity_methods: list[IdentityMethod] = Field(
        default=list(ALL_METHODS), min_length=1, alias="BREACHCLOCK_IDENTITY_METHODS"
    )
    """How a person may prove who they are before a call tells them (JSON list of
    bankid, one_time_code, security_questions, known_callback); a delivered call
    records one of them."""

    escalation_leads_minutes: list[int] = Field(
        default=[360, 120, 30], alias="BREACHCLOCK_ESCALATION_LEADS_MINUTES"
    )
    """How long before a deadline pages go (minutes); each page reaches one audience
    further: on-call, then the manager, then security."""
    auto_file_margin_minutes: int = Field(default=15, alias="BREACHCLOCK_AUTO_FILE_MARGIN_MINUTES")
    """How long before a deadline the engine files what it has if nobody has approved."""
    overdue_repeat_minutes: int = Field(default=360, alias="BREACHCLOCK_OVERDUE_REPEAT_MINUTES")
    """How often management is paged again while a filing is overdue."""
    reminder_interval_hours: int = Field(default=24, alias="BREACHCLOCK_REMINDER_INTERVAL_HOURS")
    """How often the owner is reminded of facts still missing after a justified delay."""
    takedown_remind_hours: float = Field(
        default=24, gt=0, alias="BREACHCLOCK_TAKEDOWN_REMIND_HOURS"
    )
    """A takedown not confirmed this long: the recipient is reminded, the owner paged."""
    containment_wait_hours: float = Field(
        default=24, gt=0, le=24 * 30, alias="BREACHCLOCK_CONTAINMENT_WAIT_HOURS"
    )
    """How long notice decided "after containment" may wait for the last takedown before
    the decision is paged to be weighed again (``Policy.containment_wait`` says why 24)."""
    expected_after_days: float = Field(
        default=3, gt=0, le=90, alias="BREACHCLOCK_EXPECTED_AFTER_DAYS"
    )
    """A follow-up filed at its deadline with facts missing: when a fact with no date of
    its own is expected, in days after that filing (``Policy.expected_after``)."""
    takedown_directory: Path | None = Field(default=None, alias="BREACHCLOCK_TAKEDOWN_DIRECTORY")
    """JSON directory of takedown recipients per country; unset: the one shipped in the domain."""
    page_oncall: list[str] = Field(
        default=["oncall@operator.example"], alias="BREACHCLOCK_PAGE_ONCALL"
    )
    """Who is paged first as a deadline nears (addresses), and by every later page."""
    page_manager: list[str] = Field(
        default=["incident-manager@operator.example"], alias="BREACHCLOCK_PAGE_MANAGER"
    )
    """Who the second page adds."""
    page_security: list[str] = Field(
        default=["ciso@operator.example"], alias="BREACHCLOCK_PAGE_SECURITY"
    )
    """Who the last page before the deadline adds."""
    page_management: list[str] = Field(
        default=["management@operator.example"], alias="BREACHCLOCK_PAGE_MANAGEMENT"
    )
    """Who the overdue page adds (repeated every ``BREACHCLOCK_OVERDUE_REPEAT_MINUTES``)."""

    def environment(self) -> dict[str, str]:
        """These settings as the environment variables that give them, for a process this
        one starts (the console beside the engine) to run on the same settings wherever
        they came from (the environment, or values given in code: a benchmark's). A
        setting that is None is left out (the other process takes its default)."""
        found = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if value is None or field.alias is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, bool):
                found[field.alias] = "true" if value else "false"
            elif isinstance(value, list | dict):
                found[field.alias] = to_json(value).decode()
            else:
                found[field.alias] = str(value)
        return found

    @property
    def embedded(self) -> bool:
        return self.temporal_address is None

    @property
    def address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "codec-keys.json"

    def keyring(self, create: bool = False) -> tuple[dict[str, bytes], str]:
        """The codec keys and the one that encrypts: configured, or the data folder's.

        ``create``: make the data folder's key if there is none (the engine's first
        start); every other process refuses, saying where it looked."""
        if self.codec_keys is None:
            return local_keys(self.key_file, create=create)
        keys = parse_keys(self.codec_keys)
        if self.codec_active_key is None and len(keys) != 1:
            raise CodecKeyError(
                "with several codec keys, say which encrypts: BREACHCLOCK_CODEC_ACTIVE_KEY"
            )
        return keys, self.codec_active_key or next(iter(keys))

    @property
    def codec_origins(self) -> str:
        """Where the codec server takes browser calls from: the configured origins, or
        the embedded Temporal UI's on ``BREACHCLOCK_UI_PORT`` (as 127.0.0.1 and localhost)."""
        ui = self.ui_port
        return self.codec_server_origin or f"http://127.0.0.1:{ui},http://localhost:{ui}"

    def codec(self) -> EncryptionCodec:
        return EncryptionCodec(*self.keyring())

    def sealer(self) -> Sealer:
        """Sealing of personal data at rest in the stores, with the same keys."""
        return Sealer(*self.keyring())

    @model_validator(mode="after")
    def _console_here(self) -> Settings:
        """Where no console URL is set, links point at the console this process serves
        (on the loopback address when it listens on every address)."""
        if not self.console_url:
            host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::", "") else self.http_host
            self.console_url = f"http://{host}:{self.http_port}"
        return self

    @model_validator(mode="after")
    def _no_example_filings_to_an_authority(self) -> Settings:
        """Real data must not reach a real regulator by accident: with a mail relay set
        and the example operator, the engine refuses to start while any filing would go to
        an authority's own address (the dev default, no relay, keeps every mail in the
        local outbox)."""
        if self.smtp_host is None or self.operator_name != EXAMPLE_OPERATOR:
            return self
        real = {r.address for r in regimes()}
        chosen = (self.pts_address, self.imy_address, self.nis2_address)
        hit = sorted(a for a in chosen if a in real)
        if hit:
            raise invalid("settings.example_operator_to_authority", addresses=hit)
        return self

    @model_validator(mode="after")
    def _someone_answers_for_automatic_filings(self) -> Settings:
        """The engine files at each deadline on its own: where filings really leave (a
        relay, a named operator), it refuses to start until a person answers for them
        (the dev default and the example operator keep every mail local)."""
        real = self.smtp_host is not None and self.operator_name != EXAMPLE_OPERATOR
        if real and not (self.policy_owner and self.policy_owner_role):
            raise invalid("settings.policy_owner_missing")
        return self

    def policy(self) -> Policy:
        """The timing and recipients fixed into each new incident."""
        return Policy(
            auto_file_margin=timedelta(minutes=self.auto_file_margin_minutes),
            escalation_leads=[timedelta(minutes=m) for m in self.escalation_leads_minutes],
            overdue_repeat=timedelta(minutes=self.overdue_repeat_minutes),
            reminder_interval=timedelta(hours=self.reminder_interval_hours),
            takedown_remind_after=timedelta(hours=self.takedown_remind_hours),
            containment_wait=timedelta(hours=self.containment_wait_hours),
            expected_after=timedelta(days=self.expected_after_days),
            audiences=[
                self.page_oncall,
                self.page_manager,
                self.page_security,
                self.page_management,
            ],
            regulator_addresses={
                RegimeCode.PTS: self.pts_address,
                RegimeCode.IMY: self.imy_address,
                RegimeCode.NIS2: self.nis2_address,
            },
            operator_zone=self.operator_zone,
            regime_zones={RegimeCode.DK: self.dk_zone} if self.dk_zone else {},
            operator_name=self.operator_name,
            operator_org_number=self.operator_org_number,
            contact_point=self.contact_point,
            contact_role=self.contact_role,
            nis2_language=self.nis2_language,
            staff_language=self.web_language,
            owner=self.policy_owner,
            owner_role=self.policy_owner_role,
            customer_phone=self.customer_phone,
            customer_email=self.customer_email,
            customer_web=self.customer_web,
            notify_plan=self.plan(),
            history_budget=self.history_budget,
            campaign_check=timedelta(minutes=self.campaign_check_minutes),
        )

    def plan(self) -> Plan:
        start, end = (time.fromisoformat(t) for t in self.calling_hours.split("-"))
        return Plan(
            attempts=self.call_attempts,
            spacing=timedelta(minutes=self.call_spacing_minutes),
            window_start=start,
            window_end=end,
            batch=self.notify_batch,
            parallel=self.notify_parallel,
            heartbeat=timedelta(seconds=self.notify_heartbeat_seconds),
            report_within=timedelta(minutes=self.sms_report_minutes),
            history_budget=self.notify_history_budget,
            sms=self.sms_url is not None,
        )
