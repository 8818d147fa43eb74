"""Polling, shared by the integration tests: the control plane, the node agent and the operator all act
asynchronously."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from cenas_localcluster.processes import tail


def wait_for(check: Callable[[], object], timeout: float, what: str, detail: Callable[[], object] | None = None,
             every: float = 0.25):
    """The first truthy result of `check()`, polled every `every` seconds; after `timeout` seconds the test
    fails, with `detail()` (an object's status, a log's tail) in the message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f": {detail()}" if detail else ""))


def log_tail(path: Path) -> Callable[[], str]:
    """A `detail` for wait_for: the last lines of a log, read when the wait has failed."""
    return lambda: f"{path}:\n{tail(path)}"
