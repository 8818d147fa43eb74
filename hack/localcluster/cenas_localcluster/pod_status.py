"""Pure builders of the pod status a kubelet reports (as strategic-merge patches)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

POD_IP = "127.0.0.1"  # every pod of the node agent runs on this host


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ContainerState:
    """What the node agent knows of one container."""

    name: str
    image: str
    pid: int | None = None
    restart_count: int = 0
    started_at: str | None = None
    exit_code: int | None = None  # None while running
    finished_at: str | None = None
    message: str = ""

    @property
    def running(self) -> bool:
        return self.pid is not None and self.exit_code is None


def container_status(c: ContainerState) -> dict:
    status = {
        "name": c.name,
        "image": c.image,
        "imageID": "",
        "containerID": f"local://{c.pid}" if c.pid else "",
        "restartCount": c.restart_count,
        "ready": c.running,
        "started": c.running,
    }
    if c.running:
        status["state"] = {"running": {"startedAt": c.started_at}}
    elif c.exit_code is not None:
        terminated = {
            "exitCode": c.exit_code,
            "reason": "Completed" if c.exit_code == 0 else "Error",
            "startedAt": c.started_at,
            "finishedAt": c.finished_at,
            "containerID": f"local://{c.pid}",
        }
        if c.message:
            terminated["message"] = c.message
        status["state"] = {"terminated": terminated}
    else:
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
    return status


def _condition(kind: str, ok: bool, now: str, reason: str | None = None) -> dict:
    cond = {"type": kind, "status": "True" if ok else "False", "lastTransitionTime": now, "lastProbeTime": None}
    if reason:
        cond["reason"] = reason
    return cond


def pod_phase(containers: list[ContainerState]) -> str:
    """Running while any container runs; Succeeded when all exited 0; otherwise Failed."""
    if any(c.exit_code is None for c in containers):
        return "Running"
    return "Succeeded" if all(c.exit_code == 0 for c in containers) else "Failed"


def pod_status_patch(containers: list[ContainerState], start_time: str) -> dict:
    now = now_rfc3339()
    phase = pod_phase(containers)
    ready = phase == "Running" and all(c.running for c in containers)
    finished_reason = None if phase == "Running" else "PodCompleted"
    return {
        "status": {
            "phase": phase,
            "hostIP": POD_IP,
            "hostIPs": [{"ip": POD_IP}],
            "podIP": POD_IP,
            "podIPs": [{"ip": POD_IP}],
            "startTime": start_time,
            "conditions": [
                _condition("Initialized", True, now),
                _condition("ContainersReady", ready, now, finished_reason),
                _condition("Ready", ready, now, finished_reason),
            ],
            "containerStatuses": [container_status(c) for c in containers],
        }
    }


def pod_failed_patch(reason: str, message: str) -> dict:
    """The pod could not start (bad spec, missing volume source): Failed with the reason, like a kubelet."""
    return {"status": {"phase": "Failed", "reason": reason, "message": message, "startTime": now_rfc3339()}}
