"""The NASTrial status fields the trainer writes (crds/nastrials.cenas.dev.yaml), as pure builders.

The trainer owns progress, lastCheckpoint, energyJoules, energySource, podName and result; the
operator owns conditions, attempt, emittedGrams, suspensions and the times. Every patch is a JSON
merge patch of the trainer's own fields only, so it never overwrites what the operator wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

GROUP = "cenas.dev"
VERSION = "v1alpha1"
PLURAL = "nastrials"
ENERGY_SOURCES = {"nvml": "NVML", "estimated": "Estimate"}  # CLI name -> status enum
MAX_SCORES = 256  # status.result.scores maxItems


def status_path(namespace: str, name: str) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{name}/status"


def progress(step: int, total_steps: int) -> dict[str, Any]:
    return {"progress": {"step": int(step), "totalSteps": int(total_steps)}}


def last_checkpoint(step: int, time: str, path: str) -> dict[str, Any]:
    return {"lastCheckpoint": {"step": int(step), "time": time, "path": path}}


def energy(joules: float, source: str) -> dict[str, Any]:
    return {"energyJoules": round(max(float(joules), 0.0), 3), "energySource": ENERGY_SOURCES[source]}


def pod_name(name: str) -> dict[str, Any]:
    return {"podName": name}


def _percent(accuracy: float) -> float:
    return round(min(max(float(accuracy), 0.0), 1.0) * 100.0, 4)


def training_result(accuracy: float, params: int, flops: int) -> dict[str, Any]:
    return {"result": {"accuracyPercent": _percent(accuracy), "params": int(params), "flops": int(flops)}}


def scoring_result(scores: Sequence[tuple[str, float]]) -> dict[str, Any]:
    """scores: (architecture as in spec.candidates, accuracy 0..1), at most MAX_SCORES of them."""
    if len(scores) > MAX_SCORES:
        raise ValueError(f"at most {MAX_SCORES} scores fit in status.result.scores, got {len(scores)}")
    return {"result": {"scores": [{"architecture": a, "accuracyPercent": _percent(acc)} for a, acc in scores]}}


def merge(*parts: dict[str, Any]) -> dict[str, Any]:
    """One merge patch body: {"status": {...all parts...}}."""
    status: dict[str, Any] = {}
    for part in parts:
        status.update(part)
    return {"status": status}
