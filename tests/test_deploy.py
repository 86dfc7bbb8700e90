"""The deployment files are valid and agree with the code they deploy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from breachclock.runtime.config import TASK_QUEUE, Settings
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


@pytest.mark.parametrize(
    "path",
    [
        DEPLOY / "k8s" / "worker.yaml",
        DEPLOY / "k8s" / "web.yaml",
        DEPLOY / "k8s" / "secret.example.yaml",
    ],
    ids=lambda p: p.name,
)
def test_kubernetes_manifests_validate_strictly(path: Path) -> None:
    for document in documents(path):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


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
