"""The deployment files are valid and agree with the code they deploy."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from breachclock.runtime.codec_server import PREFIXES
from breachclock.runtime.config import TASK_QUEUE, Settings
from breachclock.runtime.search_attributes import ALL_KEYS
from workflows.campaign import notify_queue

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
KUBERNETES_VERSION = "1.33.0"
SETTINGS_NAMES = {field.alias for field in Settings.model_fields.values()}


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_compose_file_matches_the_compose_spec() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(DEPLOY / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


CUSTOM_RESOURCES = {"keda.sh/v1alpha1"}
"""API groups Kubernetes itself has no schema for (KEDA's ScaledObject)."""
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_kubernetes_manifests_validate_strictly(path: Path) -> None:
    """Every manifest against the Kubernetes schemas kubernetes-validate bundles (offline)."""
    for document in documents(path):
        if document["apiVersion"] not in CUSTOM_RESOURCES:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_every_manifest_is_validated() -> None:
    kinds = {d["kind"] for path in MANIFESTS for d in documents(path)}
    assert {"Deployment", "Job", "Secret", "Service", "Ingress"} <= kinds


def test_the_job_registers_every_search_attribute_the_engine_uses() -> None:
    (job,) = documents(DEPLOY / "k8s" / "search-attributes-job.yaml")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    script = container["args"][0]
    created = set(re.findall(r"^\s*create (\w+) (\w+)$", script, re.MULTILINE))
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    assert created == {(k.name, kinds[k.indexed_value_type.name]) for k in ALL_KEYS}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["TEMPORAL_ADDRESS"] == worker_env()["TEMPORAL_ADDRESS"]
    assert env["TEMPORAL_NAMESPACE"] == worker_env()["TEMPORAL_NAMESPACE"]


def secret_names(name: str) -> set[str]:
    """The Secrets a Deployment's container takes its environment from."""
    (container,) = deployment(name)["spec"]["template"]["spec"]["containers"]
    found = {s["secretRef"]["name"] for s in container.get("envFrom", [])}
    found |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    return found


def test_workers_console_and_codec_server_share_one_secret_with_the_keys() -> None:
    """The codec keys and the link key come from one Secret for every process (a link
    signed by one worker opens in the console; every process reads every payload)."""
    (secret,) = documents(DEPLOY / "k8s" / "secret.example.yaml")
    for key in ("BREACHCLOCK_CODEC_KEYS", "BREACHCLOCK_LINK_KEY", "BREACHCLOCK_CODEC_SERVER_TOKEN"):
        assert key in secret["stringData"]
    name = secret["metadata"]["name"]
    for manifest in ("worker.yaml", "web.yaml", "codec-server.yaml"):
        assert secret_names(manifest) == {name}, manifest
    (codec,) = deployment("codec-server.yaml")["spec"]["template"]["spec"]["containers"]
    taken = {e["valueFrom"]["secretKeyRef"]["key"] for e in codec["env"] if "valueFrom" in e}
    assert taken <= set(secret["stringData"]) and "SMTP_PASSWORD" not in taken


def test_the_temporal_ui_decodes_through_the_codec_server_on_the_consoles_host() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "temporal-values.yaml").read_text())
    ui = {e["name"]: e["value"] for e in values["web"]["additionalEnv"]}
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    ingress = next(
        d for d in documents(DEPLOY / "k8s" / "codec-server.yaml") if d["kind"] == "Ingress"
    )
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == f"https://{rule['host']}{path['path']}"
    assert path["path"] in PREFIXES, "the codec server answers under that path"
    (codec,) = deployment("codec-server.yaml")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in codec["env"]}
    assert env["BREACHCLOCK_CODEC_SERVER_ORIGIN"].startswith("https://")


def deployment(name: str) -> dict[str, Any]:
    return next(d for d in documents(DEPLOY / "k8s" / name) if d["kind"] == "Deployment")


def container_env(name: str) -> dict[str, str]:
    (container,) = deployment(name)["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def worker_env() -> dict[str, str]:
    return container_env("worker.yaml")


def test_every_variable_the_deployments_set_is_one_the_engine_reads() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    names = set()
    for service in ("worker", "codec-server", "web"):
        names |= set(compose["services"][service]["environment"])
    names |= set(worker_env()) | set(container_env("web.yaml"))
    secret = documents(DEPLOY / "k8s" / "secret.example.yaml")[0]
    names |= set(secret["stringData"])
    assert names - SETTINGS_NAMES == set(), "set in deploy/ but read by nobody"


def test_autoscaling_targets_the_worker_and_its_task_queue() -> None:
    (scaled,) = documents(DEPLOY / "k8s" / "keda-scaledobject.yaml")
    deployment = next(
        d for d in documents(DEPLOY / "k8s" / "worker.yaml") if d["kind"] == "Deployment"
    )
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    incidents, notifications = scaled["spec"]["triggers"]
    assert incidents["type"] == notifications["type"] == "temporal"
    assert (
        incidents["metadata"]["taskQueue"] == worker_env()["BREACHCLOCK_TASK_QUEUE"] == TASK_QUEUE
    )
    assert notifications["metadata"]["taskQueue"] == notify_queue(TASK_QUEUE)


def test_temporal_helm_values_fix_the_shard_count_deliberately() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "temporal-values.yaml").read_text())
    shards = values["server"]["config"]["numHistoryShards"]
    assert shards >= 512 and shards & (shards - 1) == 0, "a power of two, chosen once"
    assert values["server"]["config"]["persistence"]["default"]["sql"]["driver"] == "postgres12"
    assert not values["cassandra"]["enabled"] and not values["elasticsearch"]["enabled"]


def test_the_console_runs_as_its_own_process_and_the_workers_serve_none() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert compose["web"]["command"] == ["python", "-m", "breachclock.web"]
    assert compose["worker"]["environment"]["BREACHCLOCK_HTTP_PORT"] == "0"
    assert worker_env()["BREACHCLOCK_HTTP_PORT"] == "0"
    web = deployment("web.yaml")
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["python", "-m", "breachclock.web"]
    env = container_env("web.yaml")
    assert env["BREACHCLOCK_HTTP_HOST"] == "0.0.0.0"
    (port,) = container["ports"]
    assert str(port["containerPort"]) == env["BREACHCLOCK_HTTP_PORT"]
    (service,) = [d for d in documents(DEPLOY / "k8s" / "web.yaml") if d["kind"] == "Service"]
    assert service["spec"]["selector"] == web["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert env["BREACHCLOCK_SSO_HEADER"] == "X-Forwarded-User"
    assert json.loads(env["BREACHCLOCK_SSO_PROXIES"]), "a JSON list of the proxies' networks"
