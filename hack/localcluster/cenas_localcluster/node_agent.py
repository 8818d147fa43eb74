"""The node agent: plays the kubelet for the fake GPU nodes by running each scheduled pod's
containers as local processes.

It watches pods bound to its nodes, materialises their volumes, starts every container (in its own
mount namespace when the host allows it, so volumes, the service-account token and the termination
message file appear at the paths the container expects), reports Running and then Succeeded/Failed
with exit codes and termination messages, and on deletion sends SIGTERM, waits the grace period,
sends SIGKILL and removes the pod object, as a kubelet does."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from kubernetes import client, watch
from kubernetes import config as kube_config

from cenas_localcluster.pod_plan import ContainerPlan, UnsupportedPod, plan_containers
from cenas_localcluster.pod_status import ContainerState, now_rfc3339, pod_failed_patch, pod_status_patch
from cenas_localcluster.volumes import VolumeMaterialiser

log = logging.getLogger("node-agent")
MESSAGE_LIMIT = 4096  # bytes of termination message, as the kubelet
LOG_FALLBACK_LINES = 80
POLL_SECONDS = 0.1


def mount_namespaces_available() -> bool:
    try:
        done = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True, timeout=10)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@dataclass
class RunningContainer:
    plan: ContainerPlan
    state: ContainerState
    process: subprocess.Popen | None = None
    message_file: Path | None = None
    log_file: Path | None = None


@dataclass
class PodRun:
    namespace: str
    name: str
    uid: str
    pod_dir: Path
    start_time: str
    containers: list[RunningContainer] = field(default_factory=list)
    deleting_since: float | None = None
    grace_seconds: float = 30.0
    killed: bool = False

    @property
    def finished(self) -> bool:
        return all(c.state.exit_code is not None for c in self.containers)


class NodeAgent:
    def __init__(self, api: client.ApiClient, nodes: set[str], work_dir: Path, server: str):
        self.core = client.CoreV1Api(api)
        self.nodes = nodes
        self.work_dir = work_dir
        self.volumes = VolumeMaterialiser(self.core)
        self.runs: dict[str, PodRun] = {}  # by pod uid
        self.events: queue.Queue = queue.Queue()
        self.stopping = threading.Event()
        self.namespaces = mount_namespaces_available()
        parsed = urlparse(server)
        self.service_env = {
            "KUBERNETES_SERVICE_HOST": parsed.hostname or "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(parsed.port or 443),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(parsed.port or 443),
        }

    # --- watching -------------------------------------------------------------------------
    def watch_pods(self) -> None:
        """List, then watch from the list's resourceVersion; re-list after any error (410 Gone included)."""
        while not self.stopping.is_set():
            try:
                listing = self.core.list_pod_for_all_namespaces(_preload_content=False)
                doc = json.loads(listing.data)
                for item in doc["items"]:
                    self.events.put(("ADDED", item))
                rv = doc["metadata"]["resourceVersion"]
                stream = watch.Watch().stream(
                    self.core.list_pod_for_all_namespaces, resource_version=rv, timeout_seconds=30,
                    allow_watch_bookmarks=True, _preload_content=False,
                )
                for event in stream:
                    if self.stopping.is_set():
                        return
                    if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                        self.events.put((event["type"], event["raw_object"]))
            except Exception as exc:  # connection loss, 410 Gone: start over with a fresh list
                if not self.stopping.is_set():
                    log.info("watch restarted: %s", exc)
                    time.sleep(0.5)

    def handle(self, kind: str, pod: dict) -> None:
        if pod["spec"].get("nodeName") not in self.nodes:
            return
        uid = pod["metadata"]["uid"]
        run = self.runs.get(uid)
        if kind == "DELETED":
            if run is not None:
                self.kill(run)  # force-deleted: nothing left to report to
                self.forget(run)
            return
        if pod["metadata"].get("deletionTimestamp"):
            if run is None:
                self.remove(pod["metadata"]["namespace"], pod["metadata"]["name"], uid)
            elif run.deleting_since is None:
                run.deleting_since = time.monotonic()
                run.grace_seconds = float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)
                self.terminate(run)
            return
        if run is None and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            self.start(pod)

    # --- starting -------------------------------------------------------------------------
    def start(self, pod: dict) -> None:
        meta = pod["metadata"]
        pod_dir = self.work_dir / meta["namespace"] / f"{meta['name']}-{meta['uid'][:8]}"
        run = PodRun(meta["namespace"], meta["name"], meta["uid"], pod_dir, now_rfc3339())
        self.runs[run.uid] = run
        try:
            pod_dir.mkdir(parents=True, exist_ok=True)
            volume_paths = self.volumes.materialise(pod, pod_dir)
            plans = plan_containers(pod, self.resolve_ref(run.namespace), self.base_env(pod))
            for plan in plans:
                if plan.mounts and not self.namespaces:
                    raise UnsupportedPod("volumeMounts need mount namespaces (unshare -m), unavailable here")
            run.containers = [RunningContainer(p, ContainerState(p.name, p.image)) for p in plans]
            for container in run.containers:
                self.launch(run, container, volume_paths)
        except UnsupportedPod as exc:
            self.kill(run)
            self.patch_status(run, pod_failed_patch("UnsupportedByNodeAgent", str(exc)))
            return
        except client.ApiException as exc:
            self.kill(run)
            self.patch_status(run, pod_failed_patch("VolumeSetupFailed", f"{exc.status} {exc.reason}"))
            return
        self.report(run)

    def base_env(self, pod: dict) -> dict[str, str]:
        # The venv's bin first, so `python` in a pod is the interpreter that has the project's packages.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")])
        env = {"PATH": path, "HOME": "/root", "LANG": "C.UTF-8", "HOSTNAME": pod["metadata"]["name"]}
        env.update(self.service_env)
        return env

    def resolve_ref(self, namespace: str):
        def resolve(kind: str, name: str, key: str) -> str | None:
            try:
                if kind == "configMap":
                    data = self.core.read_namespaced_config_map(name, namespace).data or {}
                else:
                    raw = self.core.read_namespaced_secret(name, namespace).data or {}
                    data = {k: base64.b64decode(v).decode() for k, v in raw.items()}
            except client.ApiException as exc:
                if exc.status == 404:
                    return None
                raise
            if key == "*":
                return "\n".join(f"{k}={v}" for k, v in data.items())
            return data.get(key)

        return resolve

    def launch(self, run: PodRun, container: RunningContainer, volume_paths: dict[str, Path]) -> None:
        plan = container.plan
        cdir = run.pod_dir / "containers" / plan.name
        cdir.mkdir(parents=True, exist_ok=True)
        container.message_file = cdir / "termination-log"
        container.message_file.write_text("")
        container.log_file = cdir / f"{container.state.restart_count}.log"
        binds = []
        for mount in plan.mounts:
            if Path(sys.prefix).is_relative_to(mount.mount_path):
                # The process shares the host's filesystem: this mount would hide its own interpreter.
                raise UnsupportedPod(f"volumeMounts: {mount.mount_path} would hide the node agent's Python "
                                     f"({sys.prefix}); mount the volume elsewhere")
            if mount.volume not in volume_paths:
                raise UnsupportedPod(f"volumeMounts: no volume named {mount.volume!r}")
            source = volume_paths[mount.volume] / mount.sub_path if mount.sub_path else volume_paths[mount.volume]
            binds.append([str(source), mount.mount_path, mount.read_only])
        if self.namespaces:
            binds.append([str(container.message_file), plan.termination_message_path, False])
            plan_file = cdir / "plan.json"
            plan_file.write_text(json.dumps({"argv": plan.argv, "env": plan.env, "working_dir": plan.working_dir,
                                             "binds": binds}))
            argv = ["unshare", "-m", "--propagation", "private",
                    sys.executable, "-m", "cenas_localcluster.container_exec", str(plan_file)]
        else:
            argv = plan.argv
        with open(container.log_file, "ab") as log_out:
            try:
                container.process = subprocess.Popen(
                    argv, env=plan.env, cwd=None if self.namespaces else plan.working_dir,
                    stdin=subprocess.DEVNULL, stdout=log_out, stderr=subprocess.STDOUT, start_new_session=True,
                )
            except OSError as exc:
                raise UnsupportedPod(f"{plan.name}: cannot start {plan.argv[0]!r}: {exc.strerror}") from exc
        container.state = replace(container.state, pid=container.process.pid, started_at=now_rfc3339(),
                                  exit_code=None, finished_at=None, message="")
        log.info("started %s/%s container %s pid %d", run.namespace, run.name, plan.name, container.process.pid)

    # --- running --------------------------------------------------------------------------
    def poll(self) -> None:
        for run in list(self.runs.values()):
            changed = False
            for container in run.containers:
                if container.process is None or container.state.exit_code is not None:
                    continue
                code = container.process.poll()
                if code is None:
                    continue
                # A signal death reads as 128+N, as container runtimes report it.
                exit_code = 128 - code if code < 0 else code
                container.state = replace(container.state, exit_code=exit_code, finished_at=now_rfc3339(),
                                          message=self.termination_message(container, exit_code))
                changed = True
            if changed:
                self.report(run)  # the exit code is visible before the object goes away
            if run.deleting_since is not None:
                if run.finished:
                    self.remove(run.namespace, run.name, run.uid)
                    self.forget(run)
                elif not run.killed and time.monotonic() - run.deleting_since >= run.grace_seconds:
                    self.kill(run)

    @staticmethod
    def termination_message(container: RunningContainer, exit_code: int) -> str:
        message = ""
        if container.message_file and container.message_file.exists():
            message = container.message_file.read_bytes()[:MESSAGE_LIMIT].decode(errors="replace")
        if not message and exit_code != 0 and container.plan.fallback_to_logs_on_error and container.log_file:
            lines = container.log_file.read_text(errors="replace").splitlines()[-LOG_FALLBACK_LINES:]
            message = "\n".join(lines)[-MESSAGE_LIMIT:]
        return message

    def terminate(self, run: PodRun) -> None:
        """SIGTERM to each container's process (its PID 1); SIGKILL follows after the grace period."""
        for container in run.containers:
            if container.process is not None and container.process.poll() is None:
                container.process.send_signal(signal.SIGTERM)
        if run.grace_seconds <= 0:
            self.kill(run)

    def kill(self, run: PodRun) -> None:
        run.killed = True
        for container in run.containers:
            if container.process is not None and container.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(container.process.pid, signal.SIGKILL)
                container.process.wait()

    # --- reporting ------------------------------------------------------------------------
    def report(self, run: PodRun) -> None:
        self.patch_status(run, pod_status_patch([c.state for c in run.containers], run.start_time))

    def patch_status(self, run: PodRun, patch: dict) -> None:
        try:
            self.core.patch_namespaced_pod_status(run.name, run.namespace, patch)
        except client.ApiException as exc:
            if exc.status != 404:
                log.warning("status of %s/%s not reported: %s %s", run.namespace, run.name, exc.status, exc.reason)

    def remove(self, namespace: str, name: str, uid: str) -> None:
        """The kubelet's final delete: grace 0, guarded by uid so a new pod of the same name survives."""
        try:
            self.core.delete_namespaced_pod(
                name, namespace, grace_period_seconds=0,
                body=client.V1DeleteOptions(grace_period_seconds=0, preconditions=client.V1Preconditions(uid=uid)),
            )
        except client.ApiException as exc:
            if exc.status not in (404, 409):
                raise

    def forget(self, run: PodRun) -> None:
        self.runs.pop(run.uid, None)
        shutil.rmtree(run.pod_dir, ignore_errors=True)

    # --- main loop ------------------------------------------------------------------------
    def run_forever(self, ready_file: Path | None) -> None:
        watcher = threading.Thread(target=self.watch_pods, name="pod-watch", daemon=True)
        watcher.start()
        if ready_file is not None:
            ready_file.write_text(str(os.getpid()))
        while not self.stopping.is_set():
            try:
                kind, pod = self.events.get(timeout=POLL_SECONDS)
                self.handle(kind, pod)
            except queue.Empty:
                pass
            except Exception:
                log.exception("event not handled")
            self.poll()
        for run in list(self.runs.values()):
            self.kill(run)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--nodes", required=True, help="comma-separated node names this agent runs pods for")
    parser.add_argument("--work-dir", required=True, type=Path)
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    api = kube_config.new_client_from_config(config_file=args.kubeconfig)
    agent = NodeAgent(api, set(args.nodes.split(",")), args.work_dir, api.configuration.host)
    signal.signal(signal.SIGTERM, lambda *_: agent.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: agent.stopping.set())
    if not agent.namespaces:
        log.warning("mount namespaces unavailable: pods with volumeMounts will fail")
    agent.run_forever(args.ready_file)


if __name__ == "__main__":
    main()
