"""Fake GPU nodes: what a kubelet and the NVIDIA device plugin would register."""

from __future__ import annotations

import datetime as dt

from kubernetes import client

GPU_RESOURCE = "nvidia.com/gpu"
AGENT_LABEL = "cenas.dev/node-agent"  # nodes whose pods the node agent runs as local processes
KWOK_LABEL = "type"  # kwok manages the nodes labelled type=kwok: pods there only pretend to run
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
# Keeps ordinary pods off kwok's nodes, where they would "run" forever without running.
KWOK_TAINT = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}


def node_names(count: int, prefix: str = "gpu-node") -> list[str]:
    return [f"{prefix}-{i}" for i in range(count)]


def build_gpu_node(name: str, gpus: int, *, kwok: bool = False, cpu: str = "64", memory: str = "512Gi") -> dict:
    """A Ready node advertising `gpus` GPUs, run by the node agent or (kwok=True) faked by kwok.
    Status is accepted on create for nodes."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    capacity = {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "1Ti", GPU_RESOURCE: str(gpus)}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "nvidia.com/gpu.present": "true",
                "nvidia.com/gpu.count": str(gpus),
                **({KWOK_LABEL: "kwok"} if kwok else {AGENT_LABEL: "true"}),
            },
            "annotations": {"kwok.x-k8s.io/node": "fake"} if kwok else {},
        },
        "spec": {"taints": [KWOK_TAINT]} if kwok else {},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            # kwok's node-initialize stage takes over only nodes that are not Ready yet.
            "conditions": [] if kwok else [
                {
                    "type": "Ready", "status": "True", "reason": "NodeAgentReady",
                    "message": "cenas node agent runs this node's pods as local processes",
                    "lastHeartbeatTime": now, "lastTransitionTime": now,
                }
            ],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": name}],
        },
    }


def register_gpu_nodes(core: client.CoreV1Api, names: list[str], gpus: int, kwok: bool = False) -> None:
    """Create the nodes (idempotent) and drop the not-ready taint that admission adds on create.

    Without a node-lifecycle controller nothing else would remove that taint, and no pod would
    ever be scheduled."""
    for name in names:
        try:
            core.create_node(build_gpu_node(name, gpus, kwok=kwok))
        except client.ApiException as exc:
            if exc.status != 409:
                raise
        node = core.read_node(name)
        taints = [t for t in (node.spec.taints or []) if t.key != NOT_READY_TAINT]
        if len(taints) != len(node.spec.taints or []):
            core.patch_node(name, {"spec": {"taints": [t.to_dict() for t in taints] or None}})
