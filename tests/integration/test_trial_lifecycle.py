"""The NASTrial lifecycle with the operator running under kopf against the real control plane and
the real trainer (digits on the CPU) run by the node agent: a trial runs to completion.
(Suspension and resumption are covered by tests/unit/operator/test_trials.py and, end to end for the
trainer, by test_trainer_report.py; an operator-level suspend/resume test is to come back once its
timing is made deterministic.)"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator

import pytest
import yaml
from kopf.testing import KopfRunner
from kubernetes import client

from cenas_operator.api import GROUP, VERSION, TrialRole
from cenas_operator.api.crds import CRD_DIR, install_crds
from cenas_operator.builders import build_trial, pod_name
from cenas_operator.conditions import find

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
TRAINER_ROLE = {"apiGroups": [GROUP], "resources": ["nastrials/status"], "verbs": ["get", "patch"]}


def wait_for(check: Callable[[], object], timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def operator(cluster) -> Iterator[KopfRunner]:
    install_crds(cluster.api_client)
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    with KopfRunner(["run", "--standalone", "--all-namespaces", "--verbose", "-m", "cenas_operator.main"], timeout=60) as runner:
        yield runner
    assert runner.exception is None, runner.output


@pytest.fixture
def search(cluster, namespace, tmp_path) -> dict:
    """A digits NASSearch with 2-epoch full trainings, checkpoints on a hostPath, and the trainer's RBAC."""
    core, rbac = client.CoreV1Api(cluster.api_client), client.RbacAuthorizationV1Api(cluster.api_client)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "cenas-trainer"}})
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "cenas-trainer"}, "rules": [TRAINER_ROLE]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "cenas-trainer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cenas-trainer"},
        "subjects": [{"kind": "ServiceAccount", "name": "cenas-trainer", "namespace": namespace}],
    })
    manifest = yaml.safe_load((CRD_DIR / "examples" / "nassearch-small.yaml").read_text())
    manifest["spec"]["trainer"]["checkpointVolume"] = {"hostPath": {"path": str(tmp_path)}}
    manifest["spec"]["trainer"]["fullTrainingEpochs"] = 2
    manifest["spec"]["trainer"]["terminationGracePeriodSeconds"] = 30
    return client.CustomObjectsApi(cluster.api_client).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "nassearches", manifest)


def get_trial(cluster, namespace: str, name: str) -> dict:
    return client.CustomObjectsApi(cluster.api_client).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "nastrials", name)


def condition_is(trial: dict, kind: str, status: str = "True") -> bool:
    found = find((trial.get("status") or {}).get("conditions"), kind)
    return found is not None and found["status"] == status


def create_trial(cluster, namespace: str, search: dict) -> str:
    trial = build_trial(search, TrialRole.FULL_TRAINING, 1, seed=1, architecture=ARCH)
    client.CustomObjectsApi(cluster.api_client).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "nastrials", trial)
    return trial["metadata"]["name"]


def termination_summary(cluster, namespace: str, pod: str) -> dict:
    status = client.CoreV1Api(cluster.api_client).read_namespaced_pod(pod, namespace).status
    return json.loads(status.container_statuses[0].state.terminated.message)


def test_a_trial_runs_to_completion_in_a_trainer_pod(cluster, namespace, operator, search):
    name = create_trial(cluster, namespace, search)
    done = wait_for(lambda: (t := get_trial(cluster, namespace, name)) and condition_is(t, "Complete") and t,
                    240, "the trial to complete")
    assert done["status"]["attempt"] == 1
    assert 0 < done["status"]["result"]["accuracyPercent"] <= 100
    assert done["status"]["energyJoules"] > 0
    summary = termination_summary(cluster, namespace, pod_name(name, 1))
    assert summary["exit_code"] == 0 and summary["resumed_from_step"] is None
