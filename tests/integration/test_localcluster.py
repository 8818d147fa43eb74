"""Smoke tests of the local control plane: the API server, the scheduler against nvidia.com/gpu
capacity, and the node agent running pods as real local processes."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Callable
from functools import partial
from pathlib import Path

from kubernetes import client

from cenas_localcluster.nodes import KWOK_TAINT

from . import waiting

GPU = "nvidia.com/gpu"

wait_for = partial(waiting.wait_for, every=0.1)


def agent_log(cluster) -> Callable[[], str]:
    return waiting.log_tail(cluster.logs / "node-agent.log")


def python_pod(name: str, script: str, gpus: int = 1, **spec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "main",
                    "image": "cenas/trainer:test",
                    "command": [sys.executable, "-c", textwrap.dedent(script)],
                    "resources": {"limits": {GPU: str(gpus)}},
                    **spec.pop("container", {}),
                }
            ],
            **spec,
        },
    }


def test_apiserver_is_ready(cluster):
    response = cluster.api_client.call_api("GET", f"{cluster.server}/readyz")
    response.read()
    assert response.status == 200
    assert response.data == b"ok"
    version = client.VersionApi(cluster.api_client).get_code()
    assert version.git_version == "v1.37.2"


def test_fake_gpu_nodes_advertise_gpus(cluster):
    nodes = client.CoreV1Api(cluster.api_client).list_node().items
    assert sorted(n.metadata.name for n in nodes) == sorted(cluster.nodes + cluster.kwok_nodes)
    for node in nodes:
        assert node.status.allocatable[GPU] == str(cluster.gpus_per_node)
        taints = [t.key for t in node.spec.taints or [] if t.effect == "NoSchedule"]
        # the not-ready taint admission adds is gone; only kwok's nodes keep pods away
        assert taints == ([KWOK_TAINT["key"]] if node.metadata.name in cluster.kwok_nodes else [])


def test_gpu_pod_runs_through_node_agent_and_succeeds(cluster, namespace):
    core = client.CoreV1Api(cluster.api_client)
    script = """
        import json, os
        from kubernetes import client, config
        config.load_incluster_config()   # the token, ca.crt and KUBERNETES_SERVICE_* a pod gets
        review = client.AuthenticationV1Api().create_self_subject_review({})
        message = {"user": review.status.user_info.username, "gpus_env": os.environ.get("GPUS")}
        open("/dev/termination-log", "w").write(json.dumps(message))
        print("trained")
    """
    pod = python_pod("one-gpu", script, container={"env": [{"name": "GPUS", "value": "1"}]})
    core.create_namespaced_pod(namespace, pod)

    def finished():
        p = core.read_namespaced_pod("one-gpu", namespace)
        return p if p.status.phase in ("Succeeded", "Failed") else None

    done = wait_for(finished, 60, "the pod to finish", agent_log(cluster))
    assert done.spec.node_name in cluster.nodes
    terminated = done.status.container_statuses[0].state.terminated
    assert done.status.phase == "Succeeded", terminated
    assert terminated.exit_code == 0
    message = json.loads(terminated.message)
    assert message == {"user": f"system:serviceaccount:{namespace}:default", "gpus_env": "1"}


def test_failed_container_reports_exit_code_and_message(cluster, namespace):
    core = client.CoreV1Api(cluster.api_client)
    script = """
        import sys
        open("/dev/termination-log", "w").write("diverged at step 7")
        sys.exit(3)
    """
    core.create_namespaced_pod(namespace, python_pod("fails", script))

    def failed():
        p = core.read_namespaced_pod("fails", namespace)
        return p if p.status.phase == "Failed" else None

    done = wait_for(failed, 60, "the pod to fail", agent_log(cluster))
    terminated = done.status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason, terminated.message) == (3, "Error", "diverged at step 7")


def test_pod_asking_for_more_gpus_than_any_node_stays_unschedulable(cluster, namespace):
    core = client.CoreV1Api(cluster.api_client)
    core.create_namespaced_pod(namespace, python_pod("too-big", "print(1)", gpus=cluster.gpus_per_node + 1))

    def unschedulable():
        p = core.read_namespaced_pod("too-big", namespace)
        return next((c for c in p.status.conditions or [] if c.type == "PodScheduled" and c.status == "False"), None)

    condition = wait_for(unschedulable, 30, "PodScheduled=False")
    assert condition.reason == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in condition.message
    pod = core.read_namespaced_pod("too-big", namespace)
    assert pod.status.phase == "Pending"
    assert pod.spec.node_name is None


def test_deleting_a_running_pod_delivers_sigterm(cluster, namespace, tmp_path):
    core = client.CoreV1Api(cluster.api_client)
    script = """
        import signal, sys, time, pathlib
        out = pathlib.Path("/mnt/cenas-test/out")
        def on_term(signum, frame):
            out.joinpath("signal").write_text(signal.Signals(signum).name)
            sys.exit(143)
        signal.signal(signal.SIGTERM, on_term)
        out.joinpath("started").write_text("yes")
        while True:
            time.sleep(0.05)
    """
    pod = python_pod(
        "long-training", script,
        container={"volumeMounts": [{"name": "out", "mountPath": "/mnt/cenas-test/out"}]},
        volumes=[{"name": "out", "hostPath": {"path": str(tmp_path), "type": "Directory"}}],
        terminationGracePeriodSeconds=20,
    )
    core.create_namespaced_pod(namespace, pod)
    wait_for(lambda: (tmp_path / "started").exists(), 60, "the process to start", agent_log(cluster))
    assert core.read_namespaced_pod("long-training", namespace).status.phase == "Running"

    core.delete_namespaced_pod("long-training", namespace)

    def gone():
        try:
            core.read_namespaced_pod("long-training", namespace)
        except client.ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone, 30, "the pod object to be removed", agent_log(cluster))
    assert (tmp_path / "signal").read_text() == "SIGTERM"


def test_kwok_node_pods_run_without_a_process(cluster, namespace):
    core = client.CoreV1Api(cluster.api_client)
    pod = python_pod("simulated", "raise SystemExit('must not run here')", gpus=cluster.gpus_per_node,
                     nodeSelector={"type": "kwok"}, tolerations=[{**KWOK_TAINT, "operator": "Equal"}])
    core.create_namespaced_pod(namespace, pod)

    def running():
        p = core.read_namespaced_pod("simulated", namespace)
        return p if p.status.phase == "Running" else None

    done = wait_for(running, 30, "kwok to run the pod")
    assert done.spec.node_name in cluster.kwok_nodes


def test_a_mount_that_would_hide_the_agents_python_fails_the_pod_clearly(cluster, namespace):
    core = client.CoreV1Api(cluster.api_client)
    hidden = str(Path(sys.prefix).parent)
    pod = python_pod("hides-python", "print(1)",
                     container={"volumeMounts": [{"name": "scratch", "mountPath": hidden}]},
                     volumes=[{"name": "scratch", "emptyDir": {}}])
    core.create_namespaced_pod(namespace, pod)

    def failed():
        p = core.read_namespaced_pod("hides-python", namespace)
        return p if p.status.phase == "Failed" else None

    done = wait_for(failed, 30, "the pod to fail", agent_log(cluster))
    assert done.status.reason == "UnsupportedByNodeAgent"
    assert hidden in done.status.message
