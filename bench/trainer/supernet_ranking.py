"""Does the supernet rank architectures like full training does? Kendall's tau on the digits.

Trains the NB201 supernet once (`python -m cenas_trainer supernet`), scores N architectures drawn
uniformly from the 15,625 cells with its inherited weights (`score`), fully trains each of them
(`train`, the same data and seed), and reports Kendall's tau-b (and Spearman's rho) between the two
rankings of validation/test accuracy. Every step runs the real CLI, on CPU, with real data.

    .venv/bin/python bench/trainer/supernet_ranking.py --archs 30 --output bench/trainer/results/supernet_ranking.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cenas_spaces import NUM_ARCHS, from_index, is_degenerate


def kendall_tau_b(x: list[float], y: list[float]) -> float:
    """Kendall's tau-b (ties in either ranking handled as in scipy.stats.kendalltau)."""
    n, concordant, discordant, ties_x, ties_y = len(x), 0, 0, 0, 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denom = ((concordant + discordant + ties_x) * (concordant + discordant + ties_y)) ** 0.5
    return (concordant - discordant) / denom if denom else 0.0


def spearman_rho(x: list[float], y: list[float]) -> float:
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2
            i = j + 1
        return r

    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var if var else 0.0


def cli(*args: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CENAS_LOG_LEVEL": "WARNING"}
    proc = subprocess.run([sys.executable, "-m", "cenas_trainer", *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"cenas_trainer {args[0]} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0, help="draws the architectures; seeds every run")
    p.add_argument("--supernet-epochs", type=int, default=30)
    p.add_argument("--train-epochs", type=int, default=10)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells-per-stage", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--truth-seeds", type=int, default=1,
                   help="full trainings per architecture (seeds seed..seed+k-1); with 2 or more, the tau between "
                        "two seeds' rankings shows how repeatable the ground truth itself is")
    p.add_argument("--output", type=Path, default=None)
    args = p.parse_args()

    rng = random.Random(args.seed)
    archs = [from_index(i) for i in rng.sample(range(NUM_ARCHS), args.archs)]
    common = ["--dataset", "digits", "--channels", str(args.channels), "--cells-per-stage", str(args.cells_per_stage),
              "--threads", str(args.threads), "--seed", str(args.seed)]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        supernet = cli("supernet", *common, "--epochs", str(args.supernet_epochs), "--checkpoint-dir", tmp,
                       "--trial", "supernet")
        t_supernet = time.monotonic() - t0
        cands = Path(tmp) / "candidates.txt"
        cands.write_text("\n".join(str(a) for a in archs) + "\n")
        t0 = time.monotonic()
        scored = cli("score", *common, "--checkpoint-dir", tmp, "--trial", "scores", "--supernet-trial", "supernet",
                     "--candidates-file", str(cands))
        t_score = time.monotonic() - t0
        predicted = dict(scored["scores"])
        rows = []
        t0 = time.monotonic()
        for i, arch in enumerate(archs):
            outs = []
            for k in range(args.truth_seeds):
                seeded = [*common[:-1], str(args.seed + k)]
                outs.append(cli("train", "--arch", str(arch), *seeded, "--epochs", str(args.train_epochs),
                                "--checkpoint-dir", tmp, "--trial", f"full-{i}-{k}"))
            test = [o["accuracy"] for o in outs]
            rows.append({"architecture": str(arch), "degenerate": is_degenerate(arch),
                         "supernet_valid_accuracy": predicted[str(arch)],
                         "trained_valid_accuracy": sum(o["valid_accuracy"] for o in outs) / len(outs),
                         "trained_test_accuracy": sum(test) / len(test), "trained_test_accuracy_per_seed": test,
                         "params": outs[0]["params"]})
            print(f"{i + 1:2d}/{len(archs)} supernet {predicted[str(arch)]:.4f} trained {test} {arch}", file=sys.stderr)
        t_train = time.monotonic() - t0

    sup = [r["supernet_valid_accuracy"] for r in rows]
    alive = [r for r in rows if not r["degenerate"]]
    result = {
        "benchmark": "supernet ranking vs full training, NB201 on scikit-learn digits",
        "setup": {**vars(args), "output": str(args.output) if args.output else None,
                  "cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
        "kendall_tau_b_vs_test": kendall_tau_b(sup, [r["trained_test_accuracy"] for r in rows]),
        "kendall_tau_b_vs_valid": kendall_tau_b(sup, [r["trained_valid_accuracy"] for r in rows]),
        "spearman_rho_vs_test": spearman_rho(sup, [r["trained_test_accuracy"] for r in rows]),
        "kendall_tau_b_vs_test_non_degenerate": kendall_tau_b(
            [r["supernet_valid_accuracy"] for r in alive], [r["trained_test_accuracy"] for r in alive]),
        "non_degenerate": len(alive),
        "kendall_tau_b_seed_vs_seed": kendall_tau_b(
            [r["trained_test_accuracy_per_seed"][0] for r in rows],
            [r["trained_test_accuracy_per_seed"][1] for r in rows]) if args.truth_seeds > 1 else None,
        "trained_test_accuracy_range": [min(r["trained_test_accuracy"] for r in rows),
                                        max(r["trained_test_accuracy"] for r in rows)],
        "supernet_mean_path_accuracy": supernet["accuracy"],
        "seconds": {"supernet": round(t_supernet, 1), "score": round(t_score, 1), "full_training": round(t_train, 1)},
        "rows": rows,
    }
    text = json.dumps(result, indent=1)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    summary = {k: v for k, v in result.items() if k != "rows"}
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
