"""Plots of a benchmark: hypervolume against grams of CO2, one line per method (PNG, matplotlib).

matplotlib is imported here only, so the operator never needs it; install it with the `bench` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

COLORS = {"cenas": "tab:green", "vanilla": "tab:blue", "oneshot": "tab:orange", "heuristic": "tab:red",
          "random": "tab:gray", "cenas_always": "tab:purple", "cenas_ppo": "tab:brown"}
DASHED = ("cenas_always", "cenas_ppo")


def median_curve(runs: list[dict[str, Any]], grams: np.ndarray, paper: bool = False) -> np.ndarray:
    """Median over runs of the hypervolume held at each carbon budget in `grams`."""
    held = np.array([[r["curve"].at_budget(g, paper=paper) for g in grams] for r in runs])
    return np.median(held, axis=0)


def plot_benchmark(result: dict[str, Any], path: str | Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = result["_curves"]
    true_hv = result["setup"]["true_front_hypervolume"]
    target = result["target_hypervolume"] / true_hv
    top = max(max(float(r["curve"].grams[-1]) for r in runs) for runs in curves.values() if runs)
    grams = np.geomspace(max(top * 1e-4, 1.0), max(top, 10.0), 200)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, paper, label in ((axes[0], False, "every GPU-second charged"), (axes[1], True, "CE-NAS accounting (evaluation pool only)")):
        for name, runs in curves.items():
            if not runs:
                continue
            hv = median_curve(runs, grams, paper) / true_hv
            ax.plot(grams, hv, label=name, color=COLORS.get(name), lw=2 if name == "cenas" else 1.4,
                    ls="--" if name in DASHED else "-")
        ax.axhline(target, color="k", ls=":", lw=1, label=f"target ({target:.2f})")
        ax.set_xscale("log")
        ax.set_xlabel("grams CO2 spent")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("hypervolume / true Pareto front's (median over runs)")
    axes[0].set_ylim(0, 1.0)
    axes[0].legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
