"""Reporting to the trainer's own NASTrial status: throttled progress, immediate checkpoints and results.

Every report carries the trainer's whole view (progress, energy, podName, and lastCheckpoint /
result once known), so a report that is lost is repaired by the next one. A failed report never stops
training: it is logged and retried at the next opportunity. ``NullReporter`` is ``--report none``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import httpx

from cenas_trainer import nastrial_status as fields
from cenas_trainer.kube import KubeClient

log = logging.getLogger(__name__)


class Reporter(Protocol):
    def progress(self, step: int, total_steps: int, joules: float, source: str) -> None: ...

    def checkpoint(self, step: int, time: str, path: str) -> bool: ...

    def result(self, result: dict[str, Any]) -> None: ...

    def flush(self) -> bool: ...


class NullReporter:
    def progress(self, step: int, total_steps: int, joules: float, source: str) -> None:
        pass

    def checkpoint(self, step: int, time: str, path: str) -> bool:
        return False

    def result(self, result: dict[str, Any]) -> None:
        pass

    def flush(self) -> bool:
        return False


class NASTrialReporter:
    """Patches status of NASTrial `namespace/name` through the status subresource."""

    def __init__(
        self, client: KubeClient, namespace: str, name: str, pod: str | None,
        interval_seconds: float = 30.0, clock=time.monotonic,
    ):
        self.client = client
        self.path = fields.status_path(namespace, name)
        self.interval = interval_seconds
        self._clock = clock
        self._last_sent: float | None = None
        self._parts: dict[str, dict[str, Any]] = {}
        if pod:
            self._parts["podName"] = fields.pod_name(pod)
        self.sent = 0
        self.failures = 0

    def _send(self, timeout: float | None = None) -> bool:
        body = fields.merge(*self._parts.values())
        self._last_sent = self._clock()
        try:
            self.client.merge_patch(self.path, body, timeout=timeout)
        except httpx.HTTPError as exc:
            self.failures += 1
            detail = exc.response.text[:300] if isinstance(exc, httpx.HTTPStatusError) else ""
            log.warning("NASTrial status report failed: %s %s", exc, detail)
            return False
        self.sent += 1
        return True

    def progress(self, step: int, total_steps: int, joules: float, source: str) -> None:
        self._parts["progress"] = fields.progress(step, total_steps)
        self._parts["energy"] = fields.energy(joules, source)
        if self._last_sent is None or self._clock() - self._last_sent >= self.interval:
            self._send()

    def checkpoint(self, step: int, time: str, path: str) -> bool:
        self._parts["lastCheckpoint"] = fields.last_checkpoint(step, time, path)
        return self._send()

    def result(self, result: dict[str, Any]) -> None:
        self._parts["result"] = result

    def flush(self) -> bool:
        """Send everything now (after the first step, and at exit, where the short timeout matters: the
        grace period is ticking)."""
        return self._send(timeout=5.0)
