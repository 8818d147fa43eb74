"""One real control plane per test run (etcd, kube-apiserver, kube-scheduler,
kube-controller-manager and the node agent with fake GPU nodes), started by the same launcher as
`make cluster-up`. Missing binaries fail the run: `make testbin` builds them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from cenas_localcluster.control_plane import (
    ClusterConfig,
    start_cluster,
    stop_cluster,
    wait_for_default_service_account,
)

REPO = Path(__file__).resolve().parents[2]
NODES = 2
GPUS_PER_NODE = 8
KWOK_NODES = 2


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    server: str
    api_client: client.ApiClient
    bin_dir: Path
    nodes: list[str]  # pods here run as local processes through the node agent
    kwok_nodes: list[str]  # pods here only pretend to run (kwok)
    gpus_per_node: int
    logs: Path


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    bin_dir = REPO / ".testbin"
    if not (bin_dir / "kube-apiserver").exists():
        pytest.fail(f"{bin_dir} has no control-plane binaries: run `make testbin` (make test does)")
    state_dir = tmp_path_factory.mktemp("localcluster")
    state = start_cluster(ClusterConfig(state_dir=state_dir, bin_dir=bin_dir, nodes=NODES, gpus_per_node=GPUS_PER_NODE,
                                        kwok_nodes=KWOK_NODES))
    try:
        yield Cluster(
            kubeconfig=state.kubeconfig, server=state.server, api_client=state.api_client(), bin_dir=bin_dir,
            nodes=state.nodes, kwok_nodes=state.kwok_nodes, gpus_per_node=GPUS_PER_NODE, logs=state_dir / "logs",
        )
    finally:
        stop_cluster(state_dir)


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace whose default ServiceAccount exists; deleted afterwards without waiting."""
    core = client.CoreV1Api(cluster.api_client)
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"metadata": {"name": name, "labels": {"cenas.dev/test": "true"}}})
    wait_for_default_service_account(core, name)
    yield name
    core.delete_namespace(name)
