"""What one trial run holds besides the model: its checkpoints, energy meter, metrics and reporter.

`restore` returns the newest complete checkpoint after checking it belongs to this run (same mode,
architecture, data, seed and schedule); `save` writes one (rank 0), times it, updates the metrics and
reports it to the NASTrial at once; `on_step` counts, meters and reports progress (throttled, except
the first step of an attempt, reported at once: it shows the attempt is training, not just starting).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from cenas_trainer.checkpoint import CheckpointRef, CheckpointStore, confirmed, timed_save
from cenas_trainer.config import Config, ConfigError
from cenas_trainer.dist import DistInfo, barrier
from cenas_trainer.energy import EnergyMeter
from cenas_trainer.metrics import TrainerMetrics
from cenas_trainer.report import NullReporter, Reporter

log = logging.getLogger(__name__)


class TrialSession:
    def __init__(
        self, cfg: Config, meter: EnergyMeter, metrics: TrainerMetrics, reporter: Reporter | None = None,
        dist: DistInfo | None = None,
    ):
        self.cfg = cfg
        self.store = CheckpointStore(cfg.trial_dir, keep=cfg.keep_checkpoints)
        self.meter = meter
        self.metrics = metrics
        self.reporter = reporter or NullReporter()
        self.dist = dist or DistInfo()
        self.energy_offset = 0.0
        self.resumed_from_step: int | None = None
        self.total_steps = 0
        self.started = time.monotonic()
        self.elapsed_offset = 0.0
        self.last_checkpoint: CheckpointRef | None = None
        self._stepped = False  # a step of this attempt was reported

    # ---- energy and time -------------------------------------------------------------------
    def energy_joules(self) -> float:
        return self.energy_offset + self.meter.joules()

    def elapsed_seconds(self) -> float:
        return self.elapsed_offset + time.monotonic() - self.started

    # ---- checkpoints -------------------------------------------------------------------------
    def restore(self, identity: dict[str, Any], map_location) -> dict[str, Any] | None:
        loaded = self.store.load_latest(map_location)
        if loaded is None:
            return None
        ref, state, meta = loaded
        mismatched = {k: (meta.get("identity", {}).get(k), v) for k, v in identity.items()
                      if meta.get("identity", {}).get(k) != v}
        if mismatched:
            detail = ", ".join(f"{k}: checkpoint {a!r} vs now {b!r}" for k, (a, b) in sorted(mismatched.items()))
            raise ConfigError(f"{self.store.root} holds checkpoints of a different run ({detail})")
        self.energy_offset = float(meta.get("energy_joules", 0.0))
        self.elapsed_offset = float(meta.get("elapsed_seconds", 0.0))
        self.resumed_from_step = ref.step
        self.last_checkpoint = ref
        log.info("resuming from %s (step %d)", ref.path, ref.step)
        return state

    def relative(self, path) -> str:
        try:
            return str(path.relative_to(self.cfg.checkpoint_dir))
        except ValueError:
            return str(path)

    def save(self, step: int, state: dict[str, Any], identity: dict[str, Any]) -> CheckpointRef:
        if not self.dist.is_main:
            barrier(self.dist)
            return CheckpointRef(step, self.store.root / f"step-{step}", "")
        meta = {"identity": identity, "energy_joules": self.energy_joules(),
                "elapsed_seconds": self.elapsed_seconds(), "energy_source": self.meter.source}
        since = datetime.now(UTC)
        ref, seconds = timed_save(self.store, step, state, meta)
        ref = confirmed(ref, since)  # a stop just after a save of the same step is reported as taken now
        barrier(self.dist)
        self.last_checkpoint = ref
        self.metrics.checkpoint_duration.observe(seconds)
        self.metrics.last_checkpoint.set(time.time())
        log.info("checkpoint step %d -> %s (%.3f s)", step, ref.path, seconds)
        self.reporter.progress(step, self.total_steps, self.energy_joules(), self.meter.source)
        self.reporter.checkpoint(step, ref.time, self.relative(ref.path))
        return ref

    # ---- progress ----------------------------------------------------------------------------
    def start(self, total_steps: int) -> None:
        self.total_steps = total_steps
        self.metrics.total_steps.set(total_steps)

    def report_start(self, step: int) -> None:
        """First report of this attempt (before the first step: loading data can take a while)."""
        if self.dist.is_main:
            self.reporter.progress(step, self.total_steps, self.energy_joules(), self.meter.source)

    def on_step(self, step: int) -> None:
        self.metrics.steps.inc()
        self.metrics.step.set(step)
        if self.dist.is_main:
            joules = self.energy_joules()
            self.metrics.observe_energy(self.meter.joules(), self.meter.source)
            self.reporter.progress(step, self.total_steps, joules, self.meter.source)
            if not self._stepped:
                self._stepped = True
                self.reporter.flush()

    def finish(self, step: int, result: dict[str, Any] | None) -> bool:
        """Final report (progress, energy, result); True when it reached the API server."""
        if not self.dist.is_main:
            return False
        self.metrics.observe_energy(self.meter.joules(), self.meter.source)
        self.reporter.progress(step, self.total_steps, self.energy_joules(), self.meter.source)
        if result:
            self.reporter.result(result)
        return self.reporter.flush()

    def base_summary(self) -> dict[str, Any]:
        return {
            "mode": self.cfg.mode,
            "trial": self.cfg.trial,
            "resumed_from_step": self.resumed_from_step,
            "energy_joules": round(self.energy_joules(), 3),
            "energy_source": self.meter.source,
            "elapsed_seconds": round(self.elapsed_seconds(), 3),
            "checkpoint": self.relative(self.last_checkpoint.path) if self.last_checkpoint else None,
        }
