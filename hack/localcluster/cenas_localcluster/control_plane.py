"""Start and stop the local control plane: etcd, kube-apiserver, kube-scheduler,
kube-controller-manager and the node agent, with fake GPU nodes registered.

Everything lives under one state directory; `state.json` records each process by pid and start
time so that `stop_cluster` stops exactly what `start_cluster` started, even from another shell."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client
from kubernetes import config as kube_config

from cenas_localcluster import processes
from cenas_localcluster.kubeconfig import write_kubeconfig
from cenas_localcluster.nodes import KWOK_LABEL, node_names, register_gpu_nodes
from cenas_localcluster.pki import Pki, write_pki
from cenas_localcluster.processes import ProcessRecord

STATE_FILE = "state.json"
SERVICE_CIDR = "10.0.0.0/24"
# The controllers a test or demo needs from kube-controller-manager: ownerReference garbage
# collection, namespace deletion, the default ServiceAccount per namespace and kube-root-ca.crt.
CONTROLLERS = (
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "root-ca-certificate-publisher-controller",
)


@dataclass(frozen=True)
class ClusterConfig:
    state_dir: Path
    bin_dir: Path
    nodes: int = 2
    gpus_per_node: int = 8
    host: str = "127.0.0.1"
    kwok_nodes: int = 0  # extra GPU nodes faked by kwok (pods Running without processes): scale tests
    start_timeout_seconds: float = 120.0


@dataclass
class ClusterState:
    state_dir: Path
    server: str
    kubeconfig: Path
    nodes: list[str]  # run by the node agent
    kwok_nodes: list[str] = field(default_factory=list)
    processes: list[ProcessRecord] = field(default_factory=list)

    def save(self) -> None:
        doc = {
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "nodes": self.nodes,
            "kwok_nodes": self.kwok_nodes,
            "processes": [p.to_dict() for p in self.processes],
        }
        tmp = self.state_dir / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        tmp.replace(self.state_dir / STATE_FILE)

    @classmethod
    def load(cls, state_dir: Path) -> ClusterState | None:
        path = state_dir / STATE_FILE
        if not path.exists():
            return None
        doc = json.loads(path.read_text())
        return cls(
            state_dir=state_dir,
            server=doc["server"],
            kubeconfig=Path(doc["kubeconfig"]),
            nodes=doc["nodes"],
            kwok_nodes=doc.get("kwok_nodes", []),
            processes=[ProcessRecord(**p) for p in doc["processes"]],
        )

    def all_alive(self) -> bool:
        return bool(self.processes) and all(processes.is_alive(p) for p in self.processes)

    def api_client(self) -> client.ApiClient:
        """A cluster-admin client for this cluster."""
        return kube_config.new_client_from_config(config_file=str(self.kubeconfig))


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _https_ok(url: str, pki: Pki) -> bool:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    ctx.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
        return resp.status == 200


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status == 200


def _insecure_https_ok(url: str) -> bool:
    # The scheduler and controller-manager serve health on self-signed certificates.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
        return resp.status == 200


def start_cluster(config: ClusterConfig) -> ClusterState:
    """Start the whole control plane and return its state; idempotent when it already runs."""
    state_dir = config.state_dir.resolve()
    existing = ClusterState.load(state_dir)
    if existing is not None:
        if existing.all_alive():
            return existing
        stop_cluster(state_dir)  # a half-dead cluster from an earlier run: start clean
    for binary in ("etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager"):
        if not (config.bin_dir / binary).exists():
            raise FileNotFoundError(f"{config.bin_dir / binary} is missing: run `make testbin` first")

    state_dir.mkdir(parents=True, exist_ok=True)
    logs = state_dir / "logs"
    logs.mkdir(exist_ok=True)
    pki = write_pki(state_dir / "pki", config.host)
    host, bins = config.host, config.bin_dir.resolve()
    etcd_port, peer_port, api_port = free_port(host), free_port(host), free_port(host)
    server = f"https://{host}:{api_port}"
    kubeconfig = write_kubeconfig(state_dir / "kubeconfig", server, pki)
    state = ClusterState(state_dir, server, kubeconfig, node_names(config.nodes))
    timeout = config.start_timeout_seconds

    def launch(name: str, argv: list[str]) -> ProcessRecord:
        record = processes.start(name, argv, logs)
        state.processes.append(record)
        state.save()  # saved after every start, so a failure part-way still stops what ran
        return record

    try:
        etcd = launch("etcd", [
            str(bins / "etcd"), "--name=local", f"--data-dir={state_dir / 'etcd'}",
            f"--listen-client-urls=http://{host}:{etcd_port}", f"--advertise-client-urls=http://{host}:{etcd_port}",
            f"--listen-peer-urls=http://{host}:{peer_port}",
            f"--initial-advertise-peer-urls=http://{host}:{peer_port}",
            f"--initial-cluster=local=http://{host}:{peer_port}",
            "--unsafe-no-fsync=true", "--log-level=warn",
        ])
        processes.wait_until(lambda: _http_ok(f"http://{host}:{etcd_port}/health"), timeout, "etcd health", etcd)

        apiserver = launch("kube-apiserver", [
            str(bins / "kube-apiserver"),
            f"--etcd-servers=http://{host}:{etcd_port}",
            f"--bind-address={host}", f"--advertise-address={host}", f"--secure-port={api_port}",
            f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}", f"--cert-dir={state_dir / 'pki'}",
            f"--service-account-issuer={server}", f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=RBAC", "--allow-privileged=true",
            # A loopback advertise address is refused by the default endpoint reconciler.
            "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false", "--profiling=false", "--v=1",
        ])
        processes.wait_until(lambda: _https_ok(f"{server}/readyz", pki), timeout, "kube-apiserver /readyz", apiserver)

        scheduler_port, kcm_port = free_port(host), free_port(host)
        common = [
            f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}", "--leader-elect=false", f"--bind-address={host}",
        ]
        scheduler = launch("kube-scheduler", [str(bins / "kube-scheduler"), *common, f"--secure-port={scheduler_port}"])
        kcm = launch("kube-controller-manager", [
            str(bins / "kube-controller-manager"), *common, f"--secure-port={kcm_port}",
            f"--controllers={','.join(CONTROLLERS)}", f"--root-ca-file={pki.ca_cert}",
            f"--service-account-private-key-file={pki.sa_key}",
        ])
        processes.wait_until(
            lambda: _insecure_https_ok(f"https://{host}:{scheduler_port}/readyz"), timeout, "kube-scheduler /readyz",
            scheduler,
        )
        processes.wait_until(
            lambda: _insecure_https_ok(f"https://{host}:{kcm_port}/healthz"), timeout,
            "kube-controller-manager /healthz", kcm,
        )

        api = state.api_client()
        core = client.CoreV1Api(api)
        processes.wait_until(lambda: core.read_namespaced_service_account("default", "default") is not None,
                             timeout, "the default ServiceAccount", kcm)
        register_gpu_nodes(core, state.nodes, config.gpus_per_node)

        ready_file = state_dir / "node-agent.ready"
        ready_file.unlink(missing_ok=True)
        agent = launch("node-agent", [
            sys.executable, "-m", "cenas_localcluster.node_agent",
            f"--kubeconfig={kubeconfig}", f"--nodes={','.join(state.nodes)}",
            f"--work-dir={state_dir / 'pods'}", f"--ready-file={ready_file}",
        ])
        processes.wait_until(ready_file.exists, timeout, "the node agent", agent)
        if config.kwok_nodes:
            _start_kwok(state, config, bins, launch, core)
    except BaseException:
        stop_cluster(state_dir, remove_state=False)  # keep the logs to read the failure
        raise
    return state


# kwok ships no default stages since v0.8; these are upstream's "fast" ones (build.sh copies them).
KWOK_STAGES = ("node/fast/node-initialize.yaml", "pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml",
               "pod/fast/pod-delete.yaml")


def kwok_configuration(kwok_nodes: int) -> str:
    """kwok plays every node's kubelet in one process with 4 pod workers by default: 1,600 pods deleted at
    once would queue behind 4 workers where 200 kubelets act in parallel. One worker per node (at most 256)
    keeps the fake nodes as parallel as real ones."""
    workers = max(4, min(256, kwok_nodes))
    return ("apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions:\n"
            f"  podPlayStageParallelism: {workers}\n  nodePlayStageParallelism: {max(4, min(64, kwok_nodes))}\n")


def _start_kwok(state: ClusterState, config: ClusterConfig, bins: Path, launch, core: client.CoreV1Api) -> None:
    names = node_names(config.kwok_nodes, prefix="kwok-node")
    register_gpu_nodes(core, names, config.gpus_per_node, kwok=True)
    configuration = state.state_dir / "kwok.yaml"
    configuration.write_text(kwok_configuration(config.kwok_nodes))
    kwok = launch("kwok", [
        str(bins / "kwok"), f"--kubeconfig={state.kubeconfig}", f"--manage-nodes-with-label-selector={KWOK_LABEL}=kwok",
        "--cidr=10.244.0.0/16", "--node-ip=10.99.0.1", f"--config={configuration}",
        *[f"--config={bins / 'kwok-stages' / stage}" for stage in KWOK_STAGES],
    ])
    state.kwok_nodes = names
    state.save()
    # kwok fills in nodeInfo when it takes a node over.
    processes.wait_until(lambda: core.read_node(names[-1]).status.node_info.kubelet_version, config.start_timeout_seconds,
                         "kwok to manage its nodes", kwok)


def stop_cluster(state_dir: Path, remove_state: bool = True) -> list[str]:
    """Stop, in reverse start order, exactly the processes recorded in the state file."""
    state_dir = state_dir.resolve()
    state = ClusterState.load(state_dir)
    stopped = []
    if state is not None:
        for record in reversed(state.processes):
            if processes.is_alive(record):
                processes.stop(record)
                stopped.append(record.name)
    if remove_state and state_dir.exists():
        shutil.rmtree(state_dir, ignore_errors=True)
    return stopped


def wait_for_default_service_account(core: client.CoreV1Api, namespace: str, timeout: float = 30.0) -> None:
    """Pods need their namespace's default ServiceAccount, which a controller creates shortly after the namespace."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            core.read_namespaced_service_account("default", namespace)
            return
        except client.ApiException as exc:
            if exc.status != 404:
                raise
        time.sleep(0.1)
    raise TimeoutError(f"no default ServiceAccount in namespace {namespace} after {timeout}s")
