"""The NASTrial lifecycle with the operator running under kopf against the real control plane and
the real trainer (digits on the CPU) run by the node agent: a trial runs to completion; a trial
suspended mid-training checkpoints on SIGTERM (a clean suspension) and, resumed, continues from that
checkpoint in a new pod."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import yaml
from kopf.testing import KopfRunner
from kubernetes import client
from kubernetes.client import ApiException

from cenas_operator.__main__ import kopf_args
from cenas_operator.api import GROUP, VERSION, TrialRole
from cenas_operator.api.crds import CRD_DIR, install_crds
from cenas_operator.builders import build_trial, pod_name
from cenas_operator.conditions import find

from .waiting import wait_for

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
TRAINER_ROLE = {"apiGroups": [GROUP], "resources": ["nastrials/status"], "verbs": ["get", "patch"]}


@pytest.fixture(scope="module")
def operator(cluster) -> Iterator[KopfRunner]:
    install_crds(cluster.api_client)
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    # In-process, with the image entrypoint's command line (every namespace).
    with KopfRunner(kopf_args((), ["--verbose"]), timeout=60) as runner:
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
    manifest["spec"]["suspend"] = True  # these tests drive trials themselves: the search loop stays idle
    return client.CustomObjectsApi(cluster.api_client).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "nassearches", manifest)


def get_trial(cluster, namespace: str, name: str) -> dict:
    return client.CustomObjectsApi(cluster.api_client).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "nastrials", name)


def condition_is(trial: dict, kind: str, status: str = "True") -> bool:
    found = find((trial.get("status") or {}).get("conditions"), kind)
    return found is not None and found["status"] == status


def create_trial(cluster, namespace: str, search: dict, epochs: int | None = None) -> str:
    trial = build_trial(search, TrialRole.FULL_TRAINING, 1, seed=1, architecture=ARCH)
    if epochs is not None:
        trial["spec"]["epochs"] = epochs
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


# 15 epochs of 19 steps: about 13 s of training on two idle CPU cores (45 ms a step). The suspension is
# requested as soon as the first step is reported (the trainer reports it at once) and the operator acts
# on it at once (at worst at its next tick, 2 s later): training could only end first at under 7 ms a
# step. The resumed attempt does the rest. Generous timeouts: a busy machine trains many times slower.
SUSPEND_EPOCHS = 15


def suspension_settled(trial: dict) -> bool:
    found = find((trial.get("status") or {}).get("conditions"), "Suspended")
    return found is not None and found["status"] == "True" and found["reason"] != "Suspending"


def test_a_suspended_trial_checkpoints_and_resumes_from_it_in_a_new_pod(cluster, namespace, operator, search):
    objects, core = client.CustomObjectsApi(cluster.api_client), client.CoreV1Api(cluster.api_client)
    name = create_trial(cluster, namespace, search, epochs=SUSPEND_EPOCHS)

    def status():
        return get_trial(cluster, namespace, name).get("status")

    training = wait_for(lambda: (t := get_trial(cluster, namespace, name))
                        and ((t.get("status") or {}).get("progress") or {}).get("step", 0) > 0 and t,
                        120, "the first training step", status)
    assert training["status"]["progress"]["step"] < training["status"]["progress"]["totalSteps"]

    objects.patch_namespaced_custom_object(GROUP, VERSION, namespace, "nastrials", name, {"spec": {"suspend": True}})
    suspended = wait_for(lambda: (t := get_trial(cluster, namespace, name))
                         and (suspension_settled(t) or condition_is(t, "Complete")) and t,
                         90, "the suspension to settle", status)
    observed = suspended["status"]
    assert not condition_is(suspended, "Complete"), f"training finished before the suspension landed: {observed}"
    assert find(observed["conditions"], "Suspended")["reason"] == "Suspended", observed
    assert observed["suspensions"].get("clean") == 1 and not observed["suspensions"].get("unclean"), observed
    checkpoint_step = observed["lastCheckpoint"]["step"]
    assert 0 < checkpoint_step < observed["progress"]["totalSteps"]
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_pod(pod_name(name, 1), namespace)
    assert gone.value.status == 404

    objects.patch_namespaced_custom_object(GROUP, VERSION, namespace, "nastrials", name, {"spec": {"suspend": False}})
    done = wait_for(lambda: (t := get_trial(cluster, namespace, name)) and condition_is(t, "Complete") and t,
                    240, "the resumed trial to complete", status)
    assert done["status"]["attempt"] == 2
    assert find(done["status"]["conditions"], "Suspended")["status"] == "False"
    assert done["status"]["suspensions"].get("clean") == 1 and not done["status"]["suspensions"].get("unclean")
    summary = termination_summary(cluster, namespace, pod_name(name, 2))
    assert summary["exit_code"] == 0
    assert summary["resumed_from_step"] == checkpoint_step > 0
