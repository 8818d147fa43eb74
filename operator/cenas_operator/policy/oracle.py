"""The perfect-foresight optimum: the least emissions any policy could reach on a workload.

It knows the realized intensity of every interval and solves the simulator's own cost model (env.py)
exactly, as a mixed-integer linear program with scipy's HiGHS. Per interval t < steps (x_{-1} = 0):
  g_t  integer in [0, G]   GPUs                      p_t >= 0  useful GPU-hours
  u_t >= g_t - g_{t-1}     GPUs (re)started          d_t >= g_{t-1} - g_t - G z_{t-1}  GPUs suspended
  z_t  binary, z_t >= z_{t-1}, z_last = 1: the job has finished by the end of interval t
  p_t <= dt g_t - r u_t                          (restarting GPUs restore first)
  p_t >= dt g_t - r u_t - dt G (z_t - z_{t-1})   (GPUs idle only in the finishing interval: they release)
  g_t <= G (1 - z_{t-1})                         (nothing runs after the finish; releasing then is free)
  sum p_t = W
  minimize  sum_t  P ci_t (p_t + r u_t + s d_t)
which is exactly what env.account charges. Integer GPUs make it the bound for every policy, whose
allocations are integers too.

HiGHS usually proves optimality in well under a second; on a few windows it takes longer, so a solve has a
time limit, after which the proven lower bound (`bound_grams`) is what policies are measured against:
conservative, and equal to the optimum whenever the solve finished.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from .workload import Workloads


@dataclass(frozen=True)
class Plan:
    emissions_grams: float  # of the best schedule found (the optimum when `optimal`)
    bound_grams: float  # proven lower bound on the optimum (equal to emissions_grams when `optimal`)
    gpus: np.ndarray  # (steps,) allocation per interval; zeros after the finish
    suspensions: int
    optimal: bool


class OracleError(RuntimeError):
    """HiGHS found no optimal solution (it should not for a feasible workload)."""


def solve(
    intensity: np.ndarray,
    work_gpu_hours: float,
    max_gpus: int,
    step_hours: float,
    resume_hours: float,
    suspend_hours: float,
    power_watts: float,
    time_limit_s: float = 20.0,
) -> Plan:
    """Optimal plan for one job over `intensity` (the realized gCO2eq/kWh of its window)."""
    ci = np.asarray(intensity, dtype=float)
    n, g_max, dt, r, s = len(ci), int(max_gpus), float(step_hours), float(resume_hours), float(suspend_hours)
    kw = power_watts / 1000.0
    G, P, U, D, Z = (np.arange(n) + k * n for k in range(5))  # variable blocks: g, p, u, d, z
    nv = 5 * n
    rows, cols, vals, lo, hi = [], [], [], [], []

    def add(terms: list[tuple[int, float]], lower: float, upper: float) -> None:
        for col, val in terms:
            rows.append(len(lo))
            cols.append(col)
            vals.append(val)
        lo.append(lower)
        hi.append(upper)

    for t in range(n):
        g_prev, z_prev = (int(G[t - 1]), int(Z[t - 1])) if t else (-1, -1)
        add([(P[t], 1.0), (G[t], -dt), (U[t], r)], -np.inf, 0.0)
        if t:
            add(
                [(G[t], dt), (U[t], -r), (P[t], -1.0), (Z[t], -dt * g_max), (z_prev, dt * g_max)],
                -np.inf,
                0.0,
            )
            add([(U[t], 1.0), (G[t], -1.0), (g_prev, 1.0)], 0.0, np.inf)
            add([(D[t], 1.0), (g_prev, -1.0), (G[t], 1.0), (z_prev, float(g_max))], 0.0, np.inf)
            add([(G[t], 1.0), (z_prev, float(g_max))], -np.inf, float(g_max))
            add([(Z[t], 1.0), (z_prev, -1.0)], 0.0, np.inf)
        else:
            add([(G[t], dt), (U[t], -r), (P[t], -1.0), (Z[t], -dt * g_max)], -np.inf, 0.0)
            add([(U[t], 1.0), (G[t], -1.0)], 0.0, np.inf)
    add([(int(c), 1.0) for c in P], work_gpu_hours, work_gpu_hours)
    # Implied (the idle GPU-hours of the one finishing interval are at most dt G), but it tightens the
    # LP relaxation a lot: without it HiGHS spends seconds proving optimality on some windows.
    add(
        [(int(c), dt) for c in G] + [(int(c), -r) for c in U] + [(int(c), -1.0) for c in P],
        -np.inf,
        dt * g_max,
    )

    a = sparse.csr_array((np.array(vals, float), (np.array(rows), np.array(cols))), shape=(len(lo), nv))
    cost = np.zeros(nv)
    cost[P] = kw * ci
    cost[U] = kw * ci * r
    cost[D] = kw * ci * s
    upper = np.full(nv, np.inf)
    upper[G] = g_max
    upper[Z] = 1.0
    lower = np.zeros(nv)
    lower[Z[-1]] = 1.0
    integrality = np.zeros(nv)
    integrality[G] = 1
    integrality[Z] = 1
    res = milp(
        cost,
        constraints=LinearConstraint(a, lo, hi),
        bounds=Bounds(lower, upper),
        integrality=integrality,
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-7},
    )
    if res.status not in (0, 1) or res.x is None:  # 1: time limit, with a feasible schedule
        raise OracleError(f"HiGHS: {res.message}")
    gpus = np.rint(res.x[G]).astype(np.int64)
    finish = int(np.argmax(res.x[Z] > 0.5))
    gpus[finish + 1 :] = 0
    suspended = int(np.maximum(gpus[:finish] - gpus[1 : finish + 1], 0).sum()) if finish else 0
    optimal = res.status == 0
    bound = float(res.fun) if optimal else float(res.mip_dual_bound)
    return Plan(float(res.fun), bound, gpus, suspended, optimal)


@contextmanager
def quiet_stdout():
    """HiGHS sometimes prints debug lines to the C-level stdout, which would corrupt the benchmark's JSON:
    send file descriptor 1 to /dev/null while solving."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _solve_one(args: tuple) -> Plan:
    return solve(*args)


def solve_all(
    wl: Workloads, intensity: np.ndarray, step_hours: float, workers: int | None = None
) -> list[Plan]:
    """The optimum of every workload of a batch (each on its own window of `intensity`), solved in
    `workers` processes (default: the CPUs this process may use, at most 8)."""
    wl.check(step_hours, len(intensity))
    jobs = [
        (
            intensity[wl.arrival[i] : wl.arrival[i] + wl.steps[i]],
            float(wl.work_gpu_hours[i]),
            int(wl.max_gpus[i]),
            step_hours,
            float(wl.resume_hours[i]),
            float(wl.suspend_hours[i]),
            float(wl.power_watts[i]),
        )
        for i in range(len(wl))
    ]
    workers = workers or min(8, len(os.sched_getaffinity(0)))
    with quiet_stdout():  # forked workers inherit it
        if workers <= 1 or len(jobs) < 8:
            return [_solve_one(j) for j in jobs]
        # Longest windows first so that no worker is left with a long solve at the end.
        order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][0]))
        with ProcessPoolExecutor(workers) as pool:
            plans = list(pool.map(_solve_one, [jobs[i] for i in order], chunksize=4))
    out: list[Plan] = [None] * len(jobs)  # type: ignore[list-item]
    for i, plan in zip(order, plans, strict=True):
        out[i] = plan
    return out
