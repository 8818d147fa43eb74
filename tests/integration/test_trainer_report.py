"""The trainer against the real API server: it patches its own NASTrial's status (progress,
lastCheckpoint, energy, result) run as a CLI with a kubeconfig, and as a pod through the node agent
with only a namespaced Role on nastrials/status; deleting the pod stops it at a reported checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from . import waiting

REPO = Path(__file__).resolve().parents[2]
GROUP, VERSION, PLURAL = "cenas.dev", "v1alpha1", "nastrials"
GOOD_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
TINY = ["--dataset", "digits", "--channels", "8", "--cells-per-stage", "1", "--threads", "1"]


wait_for = partial(waiting.wait_for, every=0.2)


@pytest.fixture(scope="module")
def nastrial_crd(cluster):
    ext = client.ApiextensionsV1Api(cluster.api_client)
    crd = yaml.safe_load((REPO / "crds" / "nastrials.cenas.dev.yaml").read_text())
    try:
        ext.create_custom_resource_definition(crd)
    except client.ApiException as exc:
        if exc.status != 409:  # already applied by another test module
            raise

    def established():
        got = ext.read_custom_resource_definition(crd["metadata"]["name"])
        return any(c.type == "Established" and c.status == "True" for c in got.status.conditions or [])

    wait_for(established, 30, "the NASTrial CRD to be established")
    return crd


def create_trial(cluster, namespace: str, name: str, epochs: int) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "NASTrial", "metadata": {"name": name},
        "spec": {"searchSpace": "NB201", "role": "FullTraining", "architecture": GOOD_CELL, "epochs": epochs,
                 "seed": 3},
    }
    client.CustomObjectsApi(cluster.api_client).create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)


def trial_status(cluster, namespace: str, name: str) -> dict:
    obj = client.CustomObjectsApi(cluster.api_client).get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    return obj.get("status") or {}


def test_cli_reports_progress_checkpoint_energy_and_result(cluster, namespace, nastrial_crd, tmp_path):
    create_trial(cluster, namespace, "cli-trial", epochs=2)
    proc = subprocess.run(
        [sys.executable, "-m", "cenas_trainer", "train", "--arch", GOOD_CELL, *TINY, "--epochs", "2",
         "--checkpoint-dir", str(tmp_path), "--trial", "cli-trial", "--seed", "3", "--report", "nastrial",
         "--kubeconfig", str(cluster.kubeconfig), "--namespace", namespace, "--pod-name", "local-run"],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["reported"] is True
    status = trial_status(cluster, namespace, "cli-trial")
    assert status["progress"] == {"step": out["step"], "totalSteps": out["total_steps"]}
    assert status["lastCheckpoint"]["step"] == out["step"]
    assert status["lastCheckpoint"]["path"] == f"cli-trial/step-{out['step']}"
    assert status["result"]["accuracyPercent"] == pytest.approx(out["accuracy"] * 100, abs=1e-3)
    assert (status["result"]["params"], status["result"]["flops"]) == (out["params"], out["flops"])
    assert status["energyJoules"] > 0 and status["energySource"] == "Estimate"
    assert status["podName"] == "local-run"


def trainer_pod(name: str, namespace: str, trial: str, checkpoints: Path, epochs: int) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": "trainer",
            "terminationGracePeriodSeconds": 60,
            "containers": [{
                "name": "trainer",
                "image": "cenas/trainer:test",
                # the image's ENTRYPOINT + the args the operator would pass
                "command": ["python", "-m", "cenas_trainer"],
                "args": ["train", "--arch", GOOD_CELL, *TINY, "--epochs", str(epochs), "--checkpoint-dir",
                         "/checkpoints", "--trial", trial, "--seed", "3", "--report", "nastrial",
                         "--report-interval-seconds", "1", "--log-every-steps", "1"],
                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "resources": {"limits": {"nvidia.com/gpu": "1"}},
                "volumeMounts": [{"name": "checkpoints", "mountPath": "/checkpoints"}],
            }],
            "volumes": [{"name": "checkpoints", "hostPath": {"path": str(checkpoints), "type": "Directory"}}],
        },
    }


def grant_status_patch(cluster, namespace: str) -> None:
    """The trainer's RBAC: a namespaced Role with get/patch on nastrials/status only."""
    core, rbac = client.CoreV1Api(cluster.api_client), client.RbacAuthorizationV1Api(cluster.api_client)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "trainer"}})
    rbac.create_namespaced_role(namespace, {
        "metadata": {"name": "cenas-trainer"},
        "rules": [{"apiGroups": [GROUP], "resources": ["nastrials/status"], "verbs": ["get", "patch"]}],
    })
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "cenas-trainer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cenas-trainer"},
        "subjects": [{"kind": "ServiceAccount", "name": "trainer", "namespace": namespace}],
    })


def test_trainer_pod_reports_through_its_service_account(cluster, namespace, nastrial_crd, tmp_path):
    grant_status_patch(cluster, namespace)
    create_trial(cluster, namespace, "pod-trial", epochs=2)
    core = client.CoreV1Api(cluster.api_client)
    core.create_namespaced_pod(namespace, trainer_pod("pod-trial-0", namespace, "pod-trial", tmp_path, epochs=2))
    log = waiting.log_tail(cluster.logs / "node-agent.log")

    def finished():
        p = core.read_namespaced_pod("pod-trial-0", namespace)
        return p if p.status.phase in ("Succeeded", "Failed") else None

    pod = wait_for(finished, 180, "the trainer pod to finish", log)
    terminated = pod.status.container_statuses[0].state.terminated
    assert pod.status.phase == "Succeeded", terminated
    summary = json.loads(terminated.message)  # the termination message is the run's summary
    assert summary["exit_code"] == 0 and summary["reported"] is True
    status = trial_status(cluster, namespace, "pod-trial")
    assert status["podName"] == "pod-trial-0"
    assert status["progress"] == {"step": summary["step"], "totalSteps": summary["step"]}
    assert status["lastCheckpoint"]["path"] == f"pod-trial/step-{summary['step']}"
    assert (tmp_path / "pod-trial" / f"step-{summary['step']}" / "COMPLETE").exists()
    assert status["result"]["accuracyPercent"] == pytest.approx(summary["accuracy"] * 100, abs=1e-3)


def test_deleting_the_pod_stops_it_at_a_reported_checkpoint(cluster, namespace, nastrial_crd, tmp_path):
    grant_status_patch(cluster, namespace)
    create_trial(cluster, namespace, "stop-trial", epochs=200)
    core = client.CoreV1Api(cluster.api_client)
    core.create_namespaced_pod(namespace, trainer_pod("stop-trial-0", namespace, "stop-trial", tmp_path, epochs=200))
    log = waiting.log_tail(cluster.logs / "node-agent.log")
    wait_for(lambda: trial_status(cluster, namespace, "stop-trial").get("progress", {}).get("step", 0) >= 20,
             180, "progress reports", log)
    core.delete_namespaced_pod("stop-trial-0", namespace)  # the kubelet sends SIGTERM

    def checkpointed():
        return trial_status(cluster, namespace, "stop-trial").get("lastCheckpoint")

    last = wait_for(checkpointed, 60, "the checkpoint report", log)
    assert last["step"] >= 20 and last["path"] == f"stop-trial/step-{last['step']}"
    assert (tmp_path / "stop-trial" / f"step-{last['step']}" / "COMPLETE").exists()
    status = trial_status(cluster, namespace, "stop-trial")
    assert status["progress"]["step"] == last["step"] < status["progress"]["totalSteps"]
    assert "result" not in status
