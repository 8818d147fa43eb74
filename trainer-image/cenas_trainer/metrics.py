"""Prometheus metrics of the trainer, served on /metrics when --metrics-port is set."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class TrainerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        self.steps = Counter(
            "cenas_trainer_steps_total", "Optimizer steps completed by this process.", registry=self.registry
        )
        self.step = Gauge(
            "cenas_trainer_step", "The trial's current step (counting steps of earlier attempts).",
            registry=self.registry,
        )
        self.total_steps = Gauge(
            "cenas_trainer_total_steps", "Steps the trial runs in all.", registry=self.registry
        )
        self.energy = Counter(
            "cenas_trainer_energy_joules_total",
            "Energy measured (or estimated) by this process, in joules.",
            ["source"],
            registry=self.registry,
        )
        self.last_checkpoint = Gauge(
            "cenas_trainer_last_checkpoint_timestamp_seconds",
            "Unix time of the last complete checkpoint.",
            registry=self.registry,
        )
        self.checkpoint_duration = Histogram(
            "cenas_trainer_checkpoint_duration_seconds",
            "Time to write one complete checkpoint.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self._energy_seen = 0.0

    def observe_energy(self, joules_total: float, source: str) -> None:
        """Advance the energy counter to this process's running total."""
        if joules_total > self._energy_seen:
            self.energy.labels(source=source).inc(joules_total - self._energy_seen)
            self._energy_seen = joules_total

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:
        start_http_server(port, addr=addr, registry=self.registry)
