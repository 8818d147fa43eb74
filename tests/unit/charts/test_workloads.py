"""The operator and forecaster Deployments: replicas, strategy, probes, security, and settings that the
code actually reads (the rendered env goes through the real Settings.from_env of each package)."""

from __future__ import annotations

import json

import pytest

from cenas_forecaster.config import Settings as ForecasterSettings
from cenas_operator.__main__ import kopf_args
from cenas_operator.config import Settings as OperatorSettings


def _container(deployment: dict) -> dict:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _plain_env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def test_operator_is_one_replica_recreated(chart, ci_values) -> None:
    deployment = chart.one(chart.render(ci_values), "Deployment", "-operator")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_operator_probes_hit_kopf_liveness_on_the_configured_port(chart) -> None:
    docs = chart.render(sets=("operator.healthPort=8181",))
    container = _container(chart.one(docs, "Deployment", "-operator"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["health"] == 8181
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert "--liveness=http://0.0.0.0:8181/healthz" in container["args"]


@pytest.mark.parametrize("suffix", ["-operator", "-forecaster"])
def test_pods_meet_the_restricted_pod_security_standard(chart, suffix) -> None:
    pod = chart.one(chart.render(), "Deployment", suffix)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = _container({"spec": {"template": {"spec": pod}}})["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["readOnlyRootFilesystem"] is True


def test_operator_env_is_read_by_the_operator_settings(chart, ci_values) -> None:
    docs = chart.render(ci_values)
    env = _plain_env(_container(chart.one(docs, "Deployment", "-operator")))
    fields = {f"CENAS_{name.upper()}" for name in OperatorSettings.__dataclass_fields__}
    assert set(env) <= fields, f"env the operator never reads: {set(env) - fields}"
    settings = OperatorSettings.from_env(env)  # raises on a malformed value
    sa = chart.find(docs, "RoleBinding", "-trainer")
    assert all(b["subjects"][0]["name"] == settings.trainer_service_account for b in sa)
    assert settings.forecaster_url.startswith("http")


def _kopf_command_line(container: dict) -> list[str]:
    """What the image's entrypoint (python -m cenas_operator) hands kopf for this container."""
    return kopf_args(OperatorSettings.from_env(_plain_env(container)).namespaces, container["args"])


def test_watched_namespaces_reach_kopf_through_the_setting(chart) -> None:
    docs = chart.render(chart.path / "ci" / "namespaced-values.yaml")
    container = _container(chart.one(docs, "Deployment", "-operator"))
    settings = OperatorSettings.from_env(_plain_env(container))
    assert settings.namespaces == ("ci-team-a", "ci-team-b")
    kopf = _kopf_command_line(container)  # raises if the chart passed kopf a scope option of its own
    assert [a for a in kopf if a.startswith("--namespace")] == ["--namespace=ci-team-a", "--namespace=ci-team-b"]
    assert "--all-namespaces" not in kopf
    assert "--verbose" in kopf  # operator.extraArgs still reach kopf
    assert settings.trainer_service_account == "nas-trainer"
    default = _container(chart.one(chart.render(), "Deployment", "-operator"))
    assert OperatorSettings.from_env(_plain_env(default)).namespaces == ()
    assert "--all-namespaces" in _kopf_command_line(default)


def test_operator_finds_the_chart_forecaster(chart) -> None:
    docs = chart.render(namespace="carbon", release="r1")
    service = chart.one(docs, "Service", "-forecaster")
    env = _plain_env(_container(chart.one(docs, "Deployment", "-operator")))
    port = service["spec"]["ports"][0]["port"]
    assert env["CENAS_FORECASTER_URL"] == f"http://{service['metadata']['name']}.carbon.svc:{port}"
    selector = service["spec"]["selector"]
    pod_labels = chart.one(docs, "Deployment", "-forecaster")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()


def test_forecaster_env_is_read_by_the_forecaster_settings(chart, ci_values) -> None:
    docs = chart.render(ci_values)
    deployments = chart.find(docs, "Deployment", "-forecaster")
    if not deployments:  # a values file without the forecaster
        assert chart.find(docs, "Service", "-forecaster") == []
        return
    container = _container(deployments[0])
    env = _plain_env(container)
    for item in container.get("env", []):
        assert item["name"].startswith("CENAS_FORECASTER_"), item["name"]
    fields = {f"CENAS_FORECASTER_{name.upper()}" for name in ForecasterSettings.model_fields}
    assert {e["name"] for e in container.get("env", [])} <= fields
    ForecasterSettings.from_env(env)  # validates every value as the service would at start-up


def test_live_sources_take_credentials_from_secrets_only(chart) -> None:
    docs = chart.render(chart.path / "ci" / "live-sources-values.yaml")
    container = _container(chart.one(docs, "Deployment", "-forecaster"))
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert refs == {
        "CENAS_FORECASTER_ELECTRICITYMAPS_API_KEY": {"name": "cenas-electricitymaps", "key": "api-key"},
        "CENAS_FORECASTER_WATTTIME_USERNAME": {"name": "cenas-watttime", "key": "username"},
        "CENAS_FORECASTER_WATTTIME_PASSWORD": {"name": "cenas-watttime", "key": "password"},
    }
    settings = ForecasterSettings.from_env(_plain_env(container))
    assert settings.live_locations["DE"].source == "electricitymaps"
    assert settings.live_locations["GB"].source == "uk"
    assert settings.replay_speed == 60
    assert json.loads(_plain_env(container)["CENAS_FORECASTER_LIVE_LOCATIONS"])["CAISO_NORTH"]["zone"] == "CAISO_NORTH"
    assert chart.find(docs, "Secret") == []  # the chart never holds keys


def test_unset_forecaster_settings_keep_the_service_defaults(chart) -> None:
    container = _container(chart.one(chart.render(), "Deployment", "-forecaster"))
    assert container.get("env", []) == []
    probes = {p: container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe", "startupProbe")}
    assert probes == {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"}


def test_forecaster_never_gets_an_api_token(chart) -> None:
    docs = chart.render()
    pod = chart.one(docs, "Deployment", "-forecaster")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    account = chart.one(docs, "ServiceAccount", "-forecaster")
    assert account["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == account["metadata"]["name"]


def _entrypoint(stage: str, dockerfile: str) -> list[str]:
    current = None
    for line in dockerfile.splitlines():
        if line.startswith("FROM "):
            current = line.split(" AS ")[-1].strip() if " AS " in line else None
        if current == stage and line.startswith("ENTRYPOINT "):
            return json.loads(line[len("ENTRYPOINT "):])
    raise AssertionError(f"no ENTRYPOINT in stage {stage}")


def test_chart_arguments_fit_the_image_entrypoints(chart) -> None:
    """The chart passes kopf flags to the operator image, and --port to the forecaster's serve command."""
    dockerfile = (chart.repo / "Dockerfile").read_text()
    assert _entrypoint("operator", dockerfile) == ["python", "-m", "cenas_operator"]
    kopf = _kopf_command_line(_container(chart.one(chart.render(), "Deployment", "-operator")))
    assert kopf[:2] == ["run", "--standalone"]  # one replica, no peering: matches Recreate
    assert kopf[kopf.index("-m") + 1] == "cenas_operator.main"
    forecaster = _entrypoint("forecaster", dockerfile)
    assert forecaster[:4] == ["python", "-m", "cenas_forecaster", "serve"]
    docs = chart.render(sets=("forecaster.port=8099",))
    assert _container(chart.one(docs, "Deployment", "-forecaster"))["args"] == ["--port", "8099"]
    assert all(a.startswith("--") for a in _container(chart.one(docs, "Deployment", "-operator"))["args"])
