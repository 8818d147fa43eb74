"""NASSearches end to end: the operator (`kopf run`, a child process) logged in with the token of the
ServiceAccount the chart ships, bound to the chart's rendered least-privilege RBAC (never the admin
certificate); the real forecaster replaying the California trace at REPLAY_SPEED; the real trainer on the
CPU (digits) in pods the node agent runs on fake GPU nodes.

One operator serves the module; each test starts its forecaster at the trace time it needs."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from cenas_localcluster import services
from cenas_operator.api import GROUP, LABEL_SEARCH, VERSION
from cenas_operator.api.crds import CRD_DIR, install_crds
from cenas_operator.builders import LABEL_TRIAL, pod_name
from cenas_operator.conditions import find
from cenas_operator.search_state import STATE_KEY, state_configmap_name

from . import waiting

REPO = Path(__file__).resolve().parents[2]
LOCATION = "US-CAL-CISO"
REPLAY_SPEED = 1200.0  # one grid hour every 3 s
OPERATOR_NAMESPACE = "cenas-system"
RELEASE = "cenas"
FAST = {
    "CENAS_TIME_SCALE": str(REPLAY_SPEED),
    "CENAS_SEARCH_TICK_SECONDS": "1",
    "CENAS_TRAINER_REPORT_INTERVAL_SECONDS": "1",
    "CENAS_FORECAST_MAX_AGE_SECONDS": "7200",  # grid seconds: 6 s of wall time
    "CENAS_FORECAST_HOLD_SECONDS": "7200",
    "CENAS_PLANNING_GPU_HOURS_PER_EPOCH": "0.2",
}


wait_for = partial(waiting.wait_for, every=0.5)


# ---- the operator under the chart's RBAC -------------------------------------------------------------
def render_chart(cluster) -> list[dict]:
    result = subprocess.run(
        [str(cluster.bin_dir / "helm"), "template", RELEASE, str(REPO / "charts" / "cenas"), "--namespace",
         OPERATOR_NAMESPACE, "--kube-version", "1.37.2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def least_privilege_kubeconfig(cluster, tmp: Path) -> tuple[Path, list[dict]]:
    """Apply the chart's operator ServiceAccount and RBAC; a kubeconfig with that account's token."""
    docs = render_chart(cluster)
    rbac_kinds = {"ClusterRole", "ClusterRoleBinding"}
    picked = [d for d in docs if d["kind"] in rbac_kinds or d["kind"] == "ServiceAccount"]
    for doc in picked:
        for rule in doc.get("rules") or []:
            assert "*" not in rule.get("verbs", []) and "*" not in rule.get("resources", []), doc["metadata"]
    core = client.CoreV1Api(cluster.api_client)
    try:
        core.create_namespace({"metadata": {"name": OPERATOR_NAMESPACE}})
    except client.ApiException as exc:
        assert exc.status == 409
    for doc in picked:
        path = tmp / f"{doc['kind']}-{doc['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(doc))
        out = subprocess.run([str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(cluster.kubeconfig), "apply",
                              "--server-side", "--field-manager=test", "-f", str(path)], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
    account = next(d for d in picked if d["kind"] == "ServiceAccount" and "operator" in d["metadata"]["name"])
    token = core.create_namespaced_service_account_token(
        account["metadata"]["name"], OPERATOR_NAMESPACE, {"spec": {"expirationSeconds": 4 * 3600}}).status.token
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    admin["users"] = [{"name": "operator", "user": {"token": token}}]
    for ctx in admin["contexts"]:
        ctx["context"]["user"] = "operator"
    kubeconfig = tmp / "operator.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(admin))
    return kubeconfig, docs


@pytest.fixture(scope="module")
def chart_docs(cluster, tmp_path_factory) -> tuple[Path, list[dict]]:
    install_crds(cluster.api_client)
    return least_privilege_kubeconfig(cluster, tmp_path_factory.mktemp("operator"))


@pytest.fixture(scope="module")
def forecaster_port() -> int:
    return services.free_port()


@pytest.fixture(scope="module")
def operator(cluster, chart_docs, forecaster_port, tmp_path_factory) -> Iterator[services.Service]:
    kubeconfig, _ = chart_docs
    logs = tmp_path_factory.mktemp("operator-logs")
    env = FAST | {"CENAS_FORECASTER_URL": f"http://127.0.0.1:{forecaster_port}",
                  "CENAS_METRICS_PORT": str(services.free_port())}
    svc = services.operator(kubeconfig=kubeconfig, env=env, log_dir=logs).start()
    yield svc
    svc.stop()
    print((logs / "operator.log").read_text()[-20000:])  # shown by pytest when a test failed


@pytest.fixture
def forecaster(forecaster_port, tmp_path) -> Iterator[Callable[[str], services.Service]]:
    started: list[services.Service] = []

    def start(replay_start: str) -> services.Service:
        svc = services.forecaster(port=forecaster_port, location=LOCATION, replay_start=replay_start,
                                  speed=REPLAY_SPEED, log_dir=tmp_path)
        started.append(svc)
        return svc.start()

    yield start
    for svc in started:
        svc.stop()


# ---- searches ----------------------------------------------------------------------------------------
@pytest.fixture
def trainer_account(cluster, namespace, chart_docs) -> None:
    """The trainer ServiceAccount in the test namespace, bound to the chart's trainer ClusterRole."""
    _, docs = chart_docs
    role = next(d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"].endswith("-trainer"))
    core, rbac = client.CoreV1Api(cluster.api_client), client.RbacAuthorizationV1Api(cluster.api_client)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "cenas-trainer"}})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "cenas-trainer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
        "subjects": [{"kind": "ServiceAccount", "name": "cenas-trainer", "namespace": namespace}],
    })


def apply_search(cluster, namespace: str, tmp_path: Path, name: str, **changes) -> dict:
    manifest = yaml.safe_load((CRD_DIR / "examples" / "nassearch-small.yaml").read_text())
    manifest["metadata"]["name"] = name
    spec = manifest["spec"]
    spec["trainer"]["checkpointVolume"] = {"hostPath": {"path": str(tmp_path / "checkpoints")}}
    spec["trainer"]["terminationGracePeriodSeconds"] = 30
    for path, value in changes.items():
        node = spec
        keys = path.split("__")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return client.CustomObjectsApi(cluster.api_client).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "nassearches", manifest)


def get_search(cluster, namespace: str, name: str) -> dict:
    return client.CustomObjectsApi(cluster.api_client).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "nassearches", name)


def list_trials(cluster, namespace: str, search: str) -> list[dict]:
    return client.CustomObjectsApi(cluster.api_client).list_namespaced_custom_object(
        GROUP, VERSION, namespace, "nastrials", label_selector=f"{LABEL_SEARCH}={search}")["items"]


def condition(obj: dict, kind: str) -> dict | None:
    return find((obj.get("status") or {}).get("conditions"), kind)


def is_true(obj: dict, kind: str) -> bool:
    found = condition(obj, kind)
    return found is not None and found["status"] == "True"


def event_reasons(cluster, namespace: str) -> set[tuple[str, str]]:
    events = client.CoreV1Api(cluster.api_client).list_namespaced_event(namespace).items
    return {(e.involved_object.name, e.reason) for e in events}


def trial_pods(cluster, namespace: str, trial: str) -> list:
    return client.CoreV1Api(cluster.api_client).list_namespaced_pod(
        namespace, label_selector=f"{LABEL_TRIAL}={trial}").items


def delete_search_and_wait(cluster, namespace: str, name: str) -> None:
    """kubectl delete returns once the finalizer ran: trials, pods and state are gone with the search."""
    client.CustomObjectsApi(cluster.api_client).delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "nassearches", name)

    def gone():
        try:
            get_search(cluster, namespace, name)
            return False
        except client.ApiException as exc:
            return exc.status == 404

    wait_for(gone, 60, "the search to be deleted")
    assert list_trials(cluster, namespace, name) == []
    pods = client.CoreV1Api(cluster.api_client).list_namespaced_pod(
        namespace, label_selector=f"{LABEL_SEARCH}={name}").items
    assert all(p.metadata.deletion_timestamp for p in pods)  # terminating with their grace period at most


def test_a_search_runs_from_apply_to_complete_through_an_operator_crash(
        cluster, namespace, operator, forecaster, trainer_account, tmp_path):
    forecaster("2021-07-01T20:00:00Z")
    apply_search(cluster, namespace, tmp_path, "agnostic", trainer__supernetEpochs=1,
                 trainer__fullTrainingEpochs=2, budget__maxFullTrainings=2, carbon__policy="CarbonAgnostic",
                 budget__carbonGrams=100000)
    # Kill the operator (SIGKILL: no goodbye) once full training is under way, then start it again.
    wait_for(lambda: any(t["spec"]["role"] == "FullTraining" and is_true(t, "Running")
                         for t in list_trials(cluster, namespace, "agnostic")), 240, "a full training to run")
    operator.kill()
    before = get_search(cluster, namespace, "agnostic")["status"]["carbon"]
    time.sleep(3)
    operator.start()
    search = wait_for(lambda: (s := get_search(cluster, namespace, "agnostic")) and is_true(s, "Complete") and s,
                      300, "the search to complete")
    status = search["status"]
    assert condition(search, "Complete")["reason"] == "MaxFullTrainingsReached"
    trials = list_trials(cluster, namespace, "agnostic")
    by_name = {t["metadata"]["name"]: t for t in trials}
    roles = sorted(t["spec"]["role"] for t in trials)
    assert roles.count("SupernetTraining") == 1 and roles.count("CandidateScoring") >= 1
    fulls = [t for t in trials if t["spec"]["role"] == "FullTraining"]
    assert len(fulls) == 2 and all(is_true(t, "Complete") for t in fulls)
    assert status["trials"]["succeeded"] == len(trials) and status["trials"]["failed"] == 0
    # Results: the best architecture and the Pareto front are the trained ones.
    accuracies = {t["spec"]["architecture"]: t["status"]["result"]["accuracyPercent"] for t in fulls}
    assert status["best"]["architecture"] in accuracies
    assert status["best"]["accuracyPercent"] == pytest.approx(max(accuracies.values()), abs=1e-3)
    assert {p["architecture"] for p in status["paretoFront"]} <= set(accuracies)
    assert 0 < status["hypervolume"] <= 1
    # No duplicate pod, no lost trial: one pod per attempt, on a fake GPU node, every registered trial exists.
    for trial in trials:
        pods = trial_pods(cluster, namespace, trial["metadata"]["name"])
        attempt = trial["status"]["attempt"]
        assert sorted(p.metadata.name for p in pods) == sorted(
            pod_name(trial["metadata"]["name"], a) for a in range(1, attempt + 1))
        assert all(p.spec.node_name in cluster.nodes for p in pods)
        assert all(p.spec.containers[0].resources.limits["nvidia.com/gpu"] == "1" for p in pods)
    state = client.CoreV1Api(cluster.api_client).read_namespaced_config_map(
        state_configmap_name("agnostic"), namespace)
    registry = json.loads(state.data[STATE_KEY])["trials"]
    assert set(registry) == set(by_name)
    # The ledger is continuous: every reported joule charged once, across the crash.
    energy = sum(t["status"].get("energyJoules", 0.0) for t in trials)
    assert status["carbon"]["energyJoules"] == pytest.approx(energy, rel=1e-3)
    assert status["carbon"]["emittedGrams"] >= before["emittedGrams"] > 0
    assert status["carbon"]["emittedGrams"] == pytest.approx(  # trials are patched to within 0.01 g
        sum(t["status"].get("emittedGrams", 0.0) for t in trials), abs=0.01 * len(trials) + 1e-6)
    assert status["carbon"]["counterfactualGrams"] > 0
    delete_search_and_wait(cluster, namespace, "agnostic")


def test_dirty_hours_suspend_trials_at_a_checkpoint_and_clean_hours_resume_them(
        cluster, namespace, operator, forecaster, trainer_account, tmp_path):
    # 10:00 in California: the solar dip is on; it ends in the evening and comes back the next morning.
    forecaster("2021-07-01T17:00:00Z")
    apply_search(cluster, namespace, tmp_path, "carbon", trainer__supernetEpochs=100,
                 trainer__fullTrainingEpochs=100, budget__maxFullTrainings=1, carbon__policy="RuleBased",
                 gpus__max=1)
    supernet = "carbon-supernet-00000"

    def trial():
        return next(t for t in list_trials(cluster, namespace, "carbon") if t["metadata"]["name"] == supernet)

    wait_for(lambda: any(t["metadata"]["name"] == supernet for t in list_trials(cluster, namespace, "carbon"))
             and ((trial()["status"].get("progress") or {}).get("step") or 0) > 0, 120, "the supernet to train")
    suspended = wait_for(lambda: (t := trial()) and condition(t, "Suspended") and
                         condition(t, "Suspended")["reason"] == "Suspended" and t, 180,
                         "a dirty hour to suspend the trial at a checkpoint")
    assert suspended["status"]["suspensions"]["clean"] == 1
    assert suspended["status"]["suspensions"].get("unclean", 0) == 0
    checkpoint = suspended["status"]["lastCheckpoint"]
    assert checkpoint["step"] > 0
    search = get_search(cluster, namespace, "carbon")
    assert search["status"]["lastDecision"]["targetGPUs"] == 0
    assert not trial_pods(cluster, namespace, supernet) or all(
        p.status.phase in ("Failed", "Succeeded") for p in trial_pods(cluster, namespace, supernet))
    resumed = wait_for(lambda: (t := trial()) and t["status"].get("attempt") == 2 and
                       ((t["status"].get("progress") or {}).get("step") or 0) >= checkpoint["step"] and t, 240,
                       "a clean hour to resume the trial")
    assert not is_true(resumed, "Suspended")
    # Every decision that changed pods is a Kubernetes event, on the search and on the trial.
    wait_for(lambda: {("carbon", "Reallocated"), (supernet, "TrialSuspending"), (supernet, "TrialSuspended")}
             <= event_reasons(cluster, namespace), 30, "the decisions' events")
    delete_search_and_wait(cluster, namespace, "carbon")


def test_a_forecaster_outage_holds_then_falls_back_and_recovers(
        cluster, namespace, operator, forecaster, trainer_account, tmp_path):
    service = forecaster("2021-07-01T20:00:00Z")
    apply_search(cluster, namespace, tmp_path, "outage", trainer__supernetEpochs=100, carbon__policy="RuleBased",
                 gpus__max=1)

    def decision():
        return (get_search(cluster, namespace, "outage").get("status") or {}).get("lastDecision") or {}

    wait_for(lambda: is_true(get_search(cluster, namespace, "outage"), "ForecastAvailable"), 60, "a forecast")
    service.stop()
    wait_for(lambda: decision().get("reason") == "ForecastUnavailableHold", 60, "the search to hold")
    search = get_search(cluster, namespace, "outage")
    assert condition(search, "ForecastAvailable")["status"] == "False"
    assert condition(search, "ForecastAvailable")["reason"] == "ForecasterUnreachable"
    fallback = wait_for(lambda: (d := decision()).get("reason") == "RuleBasedFallback" and d, 60,
                        "the rule-based fallback")
    assert fallback["policy"] == "RuleBased" and "forecastGeneratedAt" not in fallback
    assert fallback["intensityGramsPerKilowattHour"] > 0  # pessimistic, never 0
    service.start()
    wait_for(lambda: is_true(get_search(cluster, namespace, "outage"), "ForecastAvailable")
             and decision().get("reason") not in ("RuleBasedFallback", "ForecastUnavailableHold"), 60,
             "the search to recover")
    delete_search_and_wait(cluster, namespace, "outage")


def test_an_evicted_pod_resumes_its_trial_from_the_checkpoint(
        cluster, namespace, operator, forecaster, trainer_account, tmp_path):
    forecaster("2021-07-01T20:00:00Z")
    apply_search(cluster, namespace, tmp_path, "evict", trainer__supernetEpochs=100,
                 carbon__policy="CarbonAgnostic", gpus__max=1)
    supernet = "evict-supernet-00000"

    def trial():
        return next((t for t in list_trials(cluster, namespace, "evict") if t["metadata"]["name"] == supernet), {})

    wait_for(lambda: ((trial().get("status") or {}).get("progress") or {}).get("step", 0) > 0, 120, "training")
    client.CoreV1Api(cluster.api_client).create_namespaced_pod_eviction(
        pod_name(supernet, 1), namespace,
        {"metadata": {"name": pod_name(supernet, 1), "namespace": namespace}})
    evicted = wait_for(lambda: (t := trial()) and t["status"].get("attempt") == 2 and t, 120, "a second attempt")
    checkpoint = evicted["status"]["lastCheckpoint"]
    assert checkpoint["step"] > 0 and condition(evicted, "Running")["status"] == "True"
    wait_for(lambda: (trial()["status"].get("progress") or {}).get("step", 0) >= checkpoint["step"], 60,
             "the second attempt to continue from the checkpoint")
    assert not is_true(trial(), "Failed")
    delete_search_and_wait(cluster, namespace, "evict")


def test_a_budget_smaller_than_the_work_stops_the_search_at_the_budget(
        cluster, namespace, operator, forecaster, trainer_account, tmp_path):
    forecaster("2021-07-01T20:00:00Z")
    interval = 18000  # grid seconds: 15 s of wall time at REPLAY_SPEED
    apply_search(cluster, namespace, tmp_path, "budget", trainer__supernetEpochs=100,
                 carbon__policy="CarbonAgnostic", gpus__max=1, budget__carbonGrams=1,
                 carbon__decisionIntervalSeconds=interval)
    search = wait_for(lambda: (s := get_search(cluster, namespace, "budget")) and is_true(s, "Complete") and s,
                      180, "the budget to stop the search")
    assert condition(search, "Complete")["reason"] == "CarbonBudgetReached"
    wait_for(lambda: all(not is_true(t, "Running") for t in list_trials(cluster, namespace, "budget")), 60,
             "the trials to stop")
    time.sleep(3)  # the last energy reports
    emitted = get_search(cluster, namespace, "budget")["status"]["carbon"]["emittedGrams"]
    # One interval of the most the search may draw: 1 GPU x 400 W for 15 s at the dirtiest hour seen (< 400 g/kWh).
    one_interval = 400 * interval / REPLAY_SPEED / 3.6e6 * 400
    assert 0 < emitted <= 1 + one_interval
    delete_search_and_wait(cluster, namespace, "budget")
