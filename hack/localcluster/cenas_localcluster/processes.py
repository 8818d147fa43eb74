"""Background processes of the local cluster: started in their own session, stopped by pid.

A process is identified by its pid together with its start time (from /proc), so a recycled pid
is never signalled by mistake, and nothing is ever looked up or killed by name."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    start_ticks: int  # /proc/<pid>/stat field 22: guards against pid reuse
    log: str

    def to_dict(self) -> dict:
        return asdict(self)


def proc_start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot, or None if the pid is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may contain spaces; fields after it are space separated.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has exited already
        return None
    return int(fields[19])


def start(name: str, argv: Sequence[str], log_dir: Path, env: dict[str, str] | None = None) -> ProcessRecord:
    """Start `argv` detached in a new session (so it outlives the caller), logging to log_dir/name.log."""
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=env, close_fds=True,
        )
    ticks = proc_start_ticks(proc.pid)
    if ticks is None:
        raise RuntimeError(f"{name} exited immediately; see {log_path}:\n{tail(log_path)}")
    return ProcessRecord(name=name, pid=proc.pid, start_ticks=ticks, log=str(log_path))


def is_alive(record: ProcessRecord) -> bool:
    return proc_start_ticks(record.pid) == record.start_ticks


def stop(record: ProcessRecord, grace_seconds: float = 10.0) -> None:
    """SIGTERM the process group led by the record's pid, then SIGKILL after the grace period."""
    if not is_alive(record):
        return
    _signal_group(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        _reap(record.pid)
        if not is_alive(record):
            return
        time.sleep(0.05)
    _signal_group(record.pid, signal.SIGKILL)
    while is_alive(record):
        _reap(record.pid)
        time.sleep(0.02)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our own child (otherwise init reaps it)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def tail(path: Path | str, lines: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def wait_until(check: Callable[[], bool], timeout: float, what: str, record: ProcessRecord | None = None) -> None:
    """Poll `check` until it is true; fail early, with the log tail, if the process died."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if record is not None and not is_alive(record):
            raise RuntimeError(f"{record.name} exited while waiting for {what}:\n{tail(record.log)}")
        try:
            if check():
                return
        except Exception as exc:  # not up yet: connection refused, 500 from /readyz, ...
            last_error = exc
        time.sleep(0.2)
    detail = f" (last error: {last_error})" if last_error else ""
    log = f"\n{tail(record.log)}" if record else ""
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}{log}")
