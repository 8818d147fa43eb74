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
        return cls(**values)
