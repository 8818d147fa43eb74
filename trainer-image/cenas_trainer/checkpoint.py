"""Checkpoints of one trial: ``<checkpoint-dir>/<trial>/step-<N>/`` (DESIGN.md section 5).

A save writes ``state.pt`` and ``meta.json`` into ``step-<N>.tmp/``, fsyncs them, writes the
``COMPLETE`` marker last (it records the size and SHA-256 of ``state.pt``), then renames the directory
to ``step-<N>`` and fsyncs the parent. Only a ``step-<N>`` directory whose marker matches its state
file counts: a save killed half-way leaves a ``.tmp`` directory (or, on a filesystem without atomic
rename, a directory without a valid marker) that resume ignores and the next save removes.
The latest ``keep`` complete checkpoints are kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

COMPLETE = "COMPLETE"
STATE_FILE = "state.pt"
META_FILE = "meta.json"
_STEP_DIR = re.compile(r"^step-(\d+)$")


@dataclass(frozen=True)
class CheckpointRef:
    step: int
    path: Path
    time: str  # RFC 3339, UTC, microseconds: when the checkpoint became complete


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: the operator compares checkpoint times with the moment a
    suspension was requested, and whole seconds cannot tell which came first within a second."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _now() -> str:
    return rfc3339(datetime.now(UTC))


def _parse(stamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


def confirmed(ref: CheckpointRef, since: datetime) -> CheckpointRef:
    """`ref` stamped with when it was last confirmed to hold all the training done: its completion
    time when it was written at or after `since` (the start of the save), otherwise now. A save of a
    step that is checkpointed already (a stop right after a periodic save, or right after resuming,
    before any step) returns the old checkpoint; its old time would read as "taken before the stop"."""
    written = _parse(ref.time)
    if written is not None and written >= since:
        return ref
    return CheckpointRef(ref.step, ref.path, _now())


class CheckpointStore:
    """The checkpoints of one trial directory."""

    def __init__(self, root: Path, keep: int = 2):
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.root = Path(root)
        self.keep = keep

    def _verify(self, path: Path) -> dict[str, Any] | None:
        """The marker of a complete checkpoint directory, or None."""
        try:
            marker = json.loads((path / COMPLETE).read_text())
            state = path / STATE_FILE
            if state.stat().st_size != marker["size"]:
                return None
            return marker
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def complete(self) -> list[CheckpointRef]:
        """Complete checkpoints, newest first (size-checked; the hash is checked on load)."""
        if not self.root.is_dir():
            return []
        refs = []
        for entry in self.root.iterdir():
            m = _STEP_DIR.match(entry.name)
            if m and entry.is_dir():
                marker = self._verify(entry)
                if marker is not None:
                    refs.append(CheckpointRef(int(m.group(1)), entry, str(marker.get("time", ""))))
        return sorted(refs, key=lambda r: r.step, reverse=True)

    def latest(self) -> CheckpointRef | None:
        refs = self.complete()
        return refs[0] if refs else None

    def save(self, step: int, state: dict[str, Any], meta: dict[str, Any]) -> CheckpointRef:
        """Write a complete checkpoint of `step` (or return the one that already exists)."""
        final = self.root / f"step-{step}"
        existing = self._verify(final) if final.is_dir() else None
        if existing is not None:
            return CheckpointRef(step, final, str(existing.get("time", "")))
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f"step-{step}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        if final.exists():  # an incomplete directory from an interrupted non-atomic save
            shutil.rmtree(final)
        tmp.mkdir()
        with open(tmp / STATE_FILE, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        (tmp / META_FILE).write_text(json.dumps({**meta, "step": step}, sort_keys=True, indent=1))
        _fsync_file(tmp / META_FILE)
        stamp = _now()
        marker = {"step": step, "time": stamp, "size": (tmp / STATE_FILE).stat().st_size,
                  "sha256": _sha256(tmp / STATE_FILE)}
        (tmp / COMPLETE).write_text(json.dumps(marker, sort_keys=True))
        _fsync_file(tmp / COMPLETE)
        _fsync_dir(tmp)
        os.rename(tmp, final)
        _fsync_dir(self.root)
        self.prune()
        return CheckpointRef(step, final, stamp)

    def prune(self) -> None:
        """Keep the newest `keep` complete checkpoints; remove older ones and leftovers of crashes."""
        keep = {r.path for r in self.complete()[: self.keep]}
        for entry in self.root.iterdir():
            if not entry.is_dir() or entry in keep:
                continue
            if _STEP_DIR.match(entry.name) or (entry.name.startswith("step-") and entry.name.endswith(".tmp")):
                shutil.rmtree(entry, ignore_errors=True)

    def load(self, ref: CheckpointRef, map_location: str | torch.device = "cpu") -> tuple[dict, dict]:
        """(state, meta) of a checkpoint; raises ValueError when its state file fails the hash check."""
        marker = self._verify(ref.path)
        if marker is None or _sha256(ref.path / STATE_FILE) != marker.get("sha256"):
            raise ValueError(f"checkpoint {ref.path} is corrupt (state file does not match its COMPLETE marker)")
        state = torch.load(ref.path / STATE_FILE, map_location=map_location, weights_only=True)
        meta = json.loads((ref.path / META_FILE).read_text())
        return state, meta

    def load_latest(self, map_location: str | torch.device = "cpu") -> tuple[CheckpointRef, dict, dict] | None:
        """The newest checkpoint that loads; corrupt ones are skipped with a warning."""
        for ref in self.complete():
            try:
                state, meta = self.load(ref, map_location)
            except (ValueError, OSError, RuntimeError) as exc:
                log.warning("skipping checkpoint %s: %s", ref.path, exc)
                continue
            return ref, state, meta
        return None


def timed_save(store: CheckpointStore, step: int, state: dict, meta: dict) -> tuple[CheckpointRef, float]:
    t0 = time.perf_counter()
    ref = store.save(step, state, meta)
    return ref, time.perf_counter() - t0
