"""The demo's outputs from what it observed: the summary (pure) and the timeline CSV and PNG plot."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    seconds: float  # since the search was applied
    intensity: float | None  # realized g/kWh the forecaster reported (None: unavailable)
    gpus_running: int
    emitted_grams: float
    counterfactual_grams: float


def _true(conditions, kind: str) -> dict | None:
    found = next((c for c in conditions or [] if c.get("type") == kind), None)
    return found if found is not None and found.get("status") == "True" else None


def summarise(search: dict, trials: list[dict], *, wall_seconds: float, speed: float) -> dict:
    status = search.get("status") or {}
    carbon = status.get("carbon") or {}
    best = status.get("best") or {}
    complete = _true(status.get("conditions"), "Complete")
    suspensions = {"clean": 0, "unclean": 0}
    for trial in trials:
        counts = (trial.get("status") or {}).get("suspensions") or {}
        for kind in suspensions:
            suspensions[kind] += int(counts.get(kind, 0))
    by_role: dict[str, int] = {}
    for trial in trials:
        if _true((trial.get("status") or {}).get("conditions"), "Complete"):
            role = trial["spec"]["role"]
            by_role[role] = by_role.get(role, 0) + 1
    emitted = float(carbon.get("emittedGrams", 0.0))
    counterfactual = float(carbon.get("counterfactualGrams", 0.0))
    return {
        "search": search["metadata"]["name"],
        "complete": complete is not None,
        "completion_reason": complete["reason"] if complete else None,
        "wall_seconds": round(wall_seconds, 1),
        "grid_hours": round(wall_seconds * speed / 3600.0, 1),
        "trials": len(trials),
        "trials_succeeded": sum(by_role.values()),
        "trials_succeeded_by_role": by_role,
        "suspensions": suspensions["clean"] + suspensions["unclean"],
        "suspensions_clean": suspensions["clean"],
        "suspensions_unclean": suspensions["unclean"],
        "emitted_grams": round(emitted, 3),
        "counterfactual_grams": round(counterfactual, 3),
        "avoided_grams": round(counterfactual - emitted, 3),
        "avoided_percent": round(100.0 * (counterfactual - emitted) / counterfactual, 1) if counterfactual else None,
        "energy_joules": float(carbon.get("energyJoules", 0.0)),
        "best_architecture": best.get("architecture"),
        "best_accuracy": best.get("accuracyPercent"),
        "pareto_front": [p["architecture"] for p in status.get("paretoFront") or []],
        "hypervolume": status.get("hypervolume"),
    }


def write_outputs(out_dir: Path, summary: dict, samples: list[Sample]) -> None:
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    with open(out_dir / "timeline.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(asdict(samples[0])) if samples else ["seconds"])
        writer.writeheader()
        for sample in samples:
            writer.writerow(asdict(sample))
    plot(out_dir / "demo.png", samples, summary)


def plot(path: Path, samples: list[Sample], summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    t = [s.seconds / 60.0 for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    axes[0].plot(t, [s.intensity if s.intensity is not None else math.nan for s in samples], color="tab:red")
    axes[0].set_ylabel("intensity\ng CO2/kWh")
    axes[1].step(t, [s.gpus_running for s in samples], where="post", color="tab:blue")
    axes[1].set_ylabel("GPUs running")
    axes[2].plot(t, [s.emitted_grams for s in samples], label="emitted (cenas)", color="tab:green")
    axes[2].plot(t, [s.counterfactual_grams for s in samples], label="run-now counterfactual", color="gray",
                 linestyle="--")
    axes[2].set_ylabel("cumulative g CO2")
    axes[2].set_xlabel("wall minutes since apply")
    axes[2].legend(loc="upper left")
    fig.suptitle(f"cenas demo: {summary['search']}, {summary['trials_succeeded']} trials, "
                 f"{summary['suspensions']} suspensions, {summary['emitted_grams']:.1f} g vs "
                 f"{summary['counterfactual_grams']:.1f} g run-now")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
