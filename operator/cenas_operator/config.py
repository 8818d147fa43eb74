"""Operator settings: one typed class read from CENAS_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from cenas_operator.api.nassearch import CarbonMode, Policy


@dataclass(frozen=True)
class Settings:
    forecaster_url: str = "http://cenas-forecaster:8080"
    """Base URL of the forecaster service (CENAS_FORECASTER_URL)."""
    forecast_timeout_seconds: float = 5.0
    """Per-request timeout towards the forecaster."""
    forecast_max_age_seconds: int = 6 * 3600
    """A cached forecast older than this is stale: the rule-based fallback takes over."""
    forecast_reuse_seconds: float = 60.0
    """Grid seconds a fetched forecast serves every search of its location without a new request (the
    service issues one per hour; an outage is noticed this much later). 0: a request per decision."""
    default_policy: Policy = Policy.PPO
    default_mode: CarbonMode = CarbonMode.ACTIVE
    namespaces: tuple[str, ...] = ()
    """Namespaces to watch; empty means all (CENAS_NAMESPACES=a,b)."""
    metrics_port: int = 9090
    trainer_service_account: str = "cenas-trainer"
    """The ServiceAccount trainer pods run as: allowed to patch their own NASTrial's status only."""
    trainer_command: tuple[str, ...] = ("python", "-m", "cenas_trainer")
    """The trainer entrypoint inside the trainer image (exec form)."""
    trainer_run_as_user: int = 10001
    checkpoint_mount_path: str = "/checkpoints"
    trainer_report_interval_seconds: float = 30.0
    """How often trainers report progress and energy to their NASTrial: the ledger's resolution."""
    time_scale: float = 1.0
    """Grid seconds per wall-clock second: divides every spec interval (decisionIntervalSeconds). 1 in
    production; demos and tests replaying an accelerated trace set the forecaster's replay speed here."""
    forecast_hold_seconds: float = 900.0
    """Without a fresh forecast, keep the current allocation this long before the rule-based fallback."""
    fallback_intensity_grams_per_kilowatt_hour: float = 800.0
    """The flat, pessimistic intensity the fallback plans with before any forecast was ever seen (then the
    highest upper quantile of the last one is used). Never 0: unknown intensity is not free."""
    planning_gpu_hours_per_epoch: float = 0.01
    """Grid GPU-hours one training epoch is assumed to take until the search has measured a full training
    (NB201 on CIFAR-10 on an A100: about 0.01). Only ranks and times decisions; energy is always measured."""
    search_tick_seconds: float = 3.0
    """How often each search is reconciled (decisions themselves follow decisionIntervalSeconds)."""
    trial_resync_seconds: float = 60.0
    """How often every unfinished trial is looked at regardless of events: a safety net only, since trials
    react to their own and their pods' watch events at once."""
    search_workers: int = 4
    """Search passes that run at once. Few, so that a pass that decides also acts at once instead of
    sharing the API server with every other pass; the rest wait their turn before deciding."""
    trial_workers: int = 16
    """Threads that reconcile trials (pod creations and deletions, trial status)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read CENAS_<FIELD> for every field; a malformed value is an error naming the variable."""
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            key = f"CENAS_{f.name.upper()}"
            if key not in env:
                continue
            raw = env[key]
            default = getattr(cls, f.name)
            try:
                if isinstance(default, tuple):
                    values[f.name] = tuple(part.strip() for part in raw.replace(",", " ").split() if part.strip())
                elif isinstance(default, Policy | CarbonMode):
                    values[f.name] = type(default)(raw)
                else:
                    values[f.name] = type(default)(raw)
            except ValueError as exc:
                raise ValueError(f"{key}={raw!r}: {exc}") from exc
        settings = cls(**values)
        for name in ("time_scale", "search_tick_seconds", "trial_resync_seconds", "search_workers", "trial_workers",
                     "planning_gpu_hours_per_epoch"):
            if getattr(settings, name) <= 0:
                raise ValueError(f"CENAS_{name.upper()} must be positive")
        if settings.forecast_reuse_seconds < 0:
            raise ValueError("CENAS_FORECAST_REUSE_SECONDS must not be negative")
        if settings.fallback_intensity_grams_per_kilowatt_hour <= 0:
            raise ValueError("CENAS_FALLBACK_INTENSITY_GRAMS_PER_KILOWATT_HOUR must be positive")
        return settings
