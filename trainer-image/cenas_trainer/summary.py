"""The run's closing JSON line (stdout) and the pod's termination message."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
MESSAGE_LIMIT = 4096  # bytes the kubelet keeps of a termination message
_DROP_FIRST = ("scores", "valid_accuracy", "elapsed_seconds", "checkpoint", "arch")


def line(summary: dict[str, Any]) -> str:
    return json.dumps(summary, sort_keys=True, separators=(",", ":"))


def compact(summary: dict[str, Any], limit: int = MESSAGE_LIMIT) -> str:
    """The summary as compact JSON, dropping the bulkiest fields until it fits `limit` bytes."""
    data = dict(summary)
    text = line(data)
    for key in _DROP_FIRST:
        if len(text.encode()) <= limit:
            break
        data.pop(key, None)
        text = line(data)
    if len(text.encode()) > limit and "error" in data:
        data["error"] = str(data["error"])[: limit // 2]
        text = line(data)
    return text


def write_termination_message(path: Path | None, summary: dict[str, Any]) -> bool:
    """Write the compact summary where the kubelet reads it; silently skipped outside a pod."""
    if path is None:
        return False
    try:
        if not path.exists() and not path.parent.is_dir():
            return False
        path.write_text(compact(summary))
        return True
    except OSError as exc:
        log.debug("no termination message at %s: %s", path, exc)
        return False
