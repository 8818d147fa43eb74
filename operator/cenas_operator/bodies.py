"""kopf's bodies as plain dicts: handlers and indexes keep snapshots, never kopf's live views."""

from __future__ import annotations


def plain(value):
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def slim(body) -> dict:
    """A plain copy without what no handler reads but every object carries: managedFields (a tree per
    writer) and annotations (kopf's last-handled-configuration is a copy of the spec). Indexes hold
    thousands of these."""
    out = plain(body)
    metadata = out.get("metadata") or {}
    metadata.pop("managedFields", None)
    metadata.pop("annotations", None)
    return out


def pod_summary(body) -> dict:
    """What the trial lifecycle reads of a pod (trials.plan_trial): name, deletion, phase, message and each
    container's termination."""
    meta, status = body.get("metadata") or {}, body.get("status") or {}
    summary = {"metadata": {"name": meta.get("name"), "deletionTimestamp": meta.get("deletionTimestamp")},
               "status": {k: status[k] for k in ("phase", "message") if status.get(k) is not None}}
    containers = [{"state": {"terminated": plain(terminated)}} if (terminated := (c.get("state") or {}).get(
        "terminated")) else {"state": {}} for c in status.get("containerStatuses") or []]
    if containers:
        summary["status"]["containerStatuses"] = containers
    return summary
