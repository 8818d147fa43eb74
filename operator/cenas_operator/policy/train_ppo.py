"""Train the GPU-allocation policy with PPO (after CleanRL's ppo.py: one file, one Args, read top-down).

    python -m cenas_operator.policy train --total-timesteps 3000000

Train on 2020, select the checkpoint on 2021-01..06 (the benchmark suite, lower emissions wins), and never
look at the report periods (2021-07..12, Electricity Maps 2021-2022). Logs use TensorBoard tag names in
runs/<run>/scalars.jsonl; the selected actor is exported for runtime.py with these Args in its metadata.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn, optim

from .agent import Agent, export_weights
from .baselines import greedy_forecast
from .env import JobSampler, TraceSet, VecEnv, lower_bound_grams, simulate
from .forecasts import FORECAST_SOURCES, issue_forecasts
from .runtime import DEFAULT_WEIGHTS, PolicyRuntime
from .suite import make_suite
from .traces import load_trace

REPO = Path(__file__).resolve().parents[3]
REGIONS = ("CISO", "PJM", "ERCO", "ISNE", "FPL", "BPAT", "SE", "DE", "NL", "PL")


@dataclass
class Args:
    exp_name: str = "ppo"
    """the name of this experiment (the run folder is <exp_name>__<seed>__<unix time>)"""
    seed: int = 1
    """seed of the job sampler, torch and the action sampling"""
    torch_threads: int = 1
    """torch CPU threads (the machine is shared)"""
    traces_dir: str = str(REPO / "forecaster/cenas_forecaster/data/traces/carboncast")
    """folder of <REGION>.csv.gz CarbonCast traces (hourly, 2020-2021)"""
    regions: tuple[str, ...] = REGIONS
    """regions trained and selected on"""
    column: str = "ci_direct"
    """intensity column of the traces"""
    forecasts: str = "history"
    """what the policy sees in training and selection: history (the shipped weights) or model (the
    forecaster's, which trained on these regions up to 2021-06: its forecasts here are in-sample)"""
    train_start: str = "2020-01-01"
    """first day of the training period (jobs lie entirely inside it)"""
    train_end: str = "2020-12-31"
    """last day of the training period"""
    select_start: str = "2021-01-01"
    """first day of the checkpoint-selection period"""
    select_end: str = "2021-06-30"
    """last day of the checkpoint-selection period"""
    total_timesteps: int = 6_000_000
    """total decisions simulated"""
    learning_rate: float = 3e-4
    """Adam learning rate"""
    num_envs: int = 256
    """jobs simulated in parallel"""
    num_steps: int = 64
    """decisions per job per rollout"""
    anneal_lr: bool = True
    """linearly anneal the learning rate to 0"""
    gamma: float = 1.0
    """discount: 1 because an episode is one job and its total emissions are the objective"""
    gae_lambda: float = 0.95
    """lambda of generalized advantage estimation"""
    num_minibatches: int = 4
    """minibatches per epoch"""
    update_epochs: int = 4
    """epochs per rollout"""
    norm_adv: bool = True
    """normalize advantages per minibatch"""
    clip_coef: float = 0.2
    """surrogate clipping coefficient"""
    clip_vloss: bool = True
    """clip the value loss like the policy loss"""
    ent_coef: float = 0.01
    """entropy bonus"""
    vf_coef: float = 0.5
    """value loss coefficient"""
    max_grad_norm: float = 0.5
    """gradient clipping norm"""
    target_kl: float | None = None
    """stop an update early past this approximate KL (None: never)"""
    hidden: int = 64
    """width of the two hidden layers of actor and critic"""
    miss_penalty: float = 1.0
    """reward lost per share of work left at a missed deadline"""
    cost_curriculum: float = 0.3
    """share of training over which restart/checkpoint costs grow from 0 to their full range: with full
    costs from the start, a random policy's flapping is so expensive that PPO settles on "always run"
    before it learns when waiting pays"""
    shaping: bool = True
    """add potential-based shaping with the forecast plan's cost-to-go (env.VecEnv)"""
    eval_every: int = 10
    """iterations between checkpoint-selection runs (and at the end)"""
    output: str = str(DEFAULT_WEIGHTS)
    """where the selected actor is exported"""
    run_dir: str = "runs"
    """folder of the run logs"""
    batch_size: int = field(default=0, init=False)
    """num_envs * num_steps (computed)"""
    minibatch_size: int = field(default=0, init=False)
    """batch_size // num_minibatches (computed)"""
    num_iterations: int = field(default=0, init=False)
    """total_timesteps // batch_size (computed)"""


def field_docs() -> dict[str, str]:
    """The docstring under each Args field, for --help."""
    tree = ast.parse(inspect.getsource(Args))
    body = tree.body[0].body
    docs = {}
    for node, nxt in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
        ):
            docs[node.target.id] = str(nxt.value.value)
    return docs


def parse_args(argv: list[str] | None) -> Args:
    parser = argparse.ArgumentParser(
        prog="python -m cenas_operator.policy train", description=__doc__.split("\n")[0]
    )
    docs = field_docs()
    for f in dataclasses.fields(Args):
        if not f.init:
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool",):
            parser.add_argument(
                flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=f.default, help=docs[f.name]
            )
        elif f.name == "regions":
            parser.add_argument(flag, nargs="+", default=f.default, help=docs[f.name])
        elif f.name == "forecasts":
            parser.add_argument(flag, choices=FORECAST_SOURCES, default=f.default, help=docs[f.name])
        elif f.name == "target_kl":
            parser.add_argument(flag, type=float, default=f.default, help=docs[f.name])
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            parser.add_argument(flag, type=kind, default=f.default, help=docs[f.name])
    ns = parser.parse_args(argv)
    args = Args(**{k: (tuple(v) if k == "regions" else v) for k, v in vars(ns).items()})
    args.batch_size = args.num_envs * args.num_steps
    args.minibatch_size = args.batch_size // args.num_minibatches
    args.num_iterations = max(1, args.total_timesteps // args.batch_size)
    return args


def day_index(trace, day: str, end_of_day: bool = False) -> int:
    when = np.datetime64(day, "m") + (np.timedelta64(1, "D") if end_of_day else np.timedelta64(0, "m"))
    return int((when - trace.start) // np.timedelta64(trace.step_minutes, "m"))


def load_period_data(args: Args):
    """Per region: trace, forecasts, and the interval ranges of the training and selection periods."""
    out = []
    for region in args.regions:
        trace = load_trace(Path(args.traces_dir) / f"{region}.csv.gz", args.column)
        lo, hi = max(0, day_index(trace, args.train_start)), day_index(trace, args.select_end, True)
        forecasts, _ = issue_forecasts(args.forecasts, trace, trace, lo, min(hi, len(trace)))
        first_issued = int(np.flatnonzero(~np.isnan(forecasts.values[:, 0, 0]))[0])
        train = (
            max(first_issued, day_index(trace, args.train_start)),
            day_index(trace, args.train_end, True),
        )
        select = (
            max(first_issued, day_index(trace, args.select_start)),
            day_index(trace, args.select_end, True),
        )
        out.append((region, trace, forecasts, train, select))
    return out


def selection_score(policy, selection) -> float:
    """Mean over regions of (policy emissions / lower bound) on the selection suites; lower is better."""
    ratios = []
    for wl, trace, forecasts, lb in selection:
        s = simulate(policy, wl, trace.intensity, forecasts, trace.step_hours)
        ratios.append(s.emissions_grams.sum() / lb.sum())
    return float(np.mean(ratios))


def to_runtime(agent: Agent) -> PolicyRuntime:
    linear = [m for m in agent.actor if isinstance(m, nn.Linear)]
    layers = tuple((m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in linear)
    return PolicyRuntime(layers, {}, "ppo-unsaved")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_name = f"{args.exp_name}__{args.seed}__{int(time.time())}"
    run_path = Path(args.run_dir) / run_name
    run_path.mkdir(parents=True, exist_ok=True)
    log_path = run_path / "scalars.jsonl"

    def write(tag: str, value: float, step: int) -> None:
        with log_path.open("a") as log:
            log.write(json.dumps({"tag": tag, "value": float(value), "step": step}) + "\n")

    # Seeding
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.torch_threads)
    started = time.time()

    # Data: training jobs from 2020, selection suites from 2021-01..06
    data = load_period_data(args)
    step_hours = data[0][1].step_hours
    train = TraceSet.concat([(t.intensity, f, *tr) for _, t, f, tr, _ in data], step_hours)
    selection = []
    for _, trace, forecasts, _, (first, stop) in data:
        wl, _ = make_suite(first, stop, step_hours)
        selection.append((wl, trace, forecasts, lower_bound_grams(wl, trace.intensity, step_hours)))
    greedy_score = selection_score(greedy_forecast, selection)
    print(
        f"data ready in {time.time() - started:.0f} s; greedy_forecast selection score {greedy_score:.4f}",
        flush=True,
    )

    # Env and agent
    envs = VecEnv(
        train,
        args.num_envs,
        JobSampler(),
        seed=args.seed,
        miss_penalty=args.miss_penalty,
        shaping=args.shaping,
    )
    agent = Agent(args.hidden)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    # Rollout storage
    n_obs = envs.observe().shape[1]
    obs = torch.zeros((args.num_steps, args.num_envs, n_obs))
    actions = torch.zeros((args.num_steps, args.num_envs), dtype=torch.long)
    logprobs = torch.zeros((args.num_steps, args.num_envs))
    rewards = torch.zeros((args.num_steps, args.num_envs))
    dones = torch.zeros((args.num_steps, args.num_envs))
    values = torch.zeros((args.num_steps, args.num_envs))

    global_step = 0
    next_obs = torch.from_numpy(envs.observe())
    next_done = torch.zeros(args.num_envs)
    best = (np.inf, 0)
    best_state = None
    for iteration in range(1, args.num_iterations + 1):
        envs.sampler = dataclasses.replace(
            envs.sampler,
            cost_scale=min(1.0, (iteration - 1) / max(1.0, args.cost_curriculum * args.num_iterations)),
        )
        if args.anneal_lr:
            frac = 1.0 - (iteration - 1.0) / args.num_iterations
            optimizer.param_groups[0]["lr"] = frac * args.learning_rate

        # Rollout
        finished = []
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            dones[step] = next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
            values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob
            o, r, d, ended = envs.step(action.numpy())
            rewards[step] = torch.from_numpy(r)
            next_obs, next_done = torch.from_numpy(o), torch.from_numpy(d.astype(np.float32))
            finished.extend(ended[~np.isnan(ended)].tolist())
        if finished:
            write("charts/episodic_return", np.mean(finished), global_step)

        # Generalized advantage estimation (episodes end for real: no bootstrapping past a done)
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(args.num_steps)):
                if t == args.num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = (
                    delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
                )
            returns = advantages + values

        # Flatten the batch
        b_obs = obs.reshape((-1, n_obs))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)

        # Optimize the policy and value network
        b_inds = np.arange(args.batch_size)
        clipfracs = []
        for _epoch in range(args.update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, args.batch_size, args.minibatch_size):
                mb_inds = b_inds[start : start + args.minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb_inds], b_actions[mb_inds]
                )
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > args.clip_coef).float().mean().item()]
                mb_advantages = b_advantages[mb_inds]
                if args.norm_adv:
                    mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                newvalue = newvalue.view(-1)
                if args.clip_vloss:
                    v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                    v_clipped = b_values[mb_inds] + torch.clamp(
                        newvalue - b_values[mb_inds], -args.clip_coef, args.clip_coef
                    )
                    v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                    v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                else:
                    v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()
            if args.target_kl is not None and approx_kl > args.target_kl:
                break

        y_pred, y_true = b_values.numpy(), b_returns.numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        sps = int(global_step / (time.time() - started))
        for tag, value in (
            ("charts/learning_rate", optimizer.param_groups[0]["lr"]),
            ("losses/value_loss", v_loss.item()),
            ("losses/policy_loss", pg_loss.item()),
            ("losses/entropy", entropy_loss.item()),
            ("losses/approx_kl", approx_kl.item()),
            ("losses/clipfrac", np.mean(clipfracs)),
            ("losses/explained_variance", explained_var),
            ("charts/SPS", sps),
        ):
            write(tag, value, global_step)

        # Checkpoint selection on 2021-01..06
        if iteration % args.eval_every == 0 or iteration == args.num_iterations:
            score = selection_score(to_runtime(agent), selection)
            write("charts/selection_score", score, global_step)
            if score < best[0]:
                best = (score, iteration)
                best_state = {k: v.clone() for k, v in agent.state_dict().items()}
            ret = np.mean(finished) if finished else float("nan")
            print(
                f"iter {iteration}/{args.num_iterations} step {global_step} return {ret:.4f} "
                f"selection {score:.4f} (greedy {greedy_score:.4f}, best {best[0]:.4f}@{best[1]}) "
                f"entropy {entropy_loss.item():.3f} SPS {sps}",
                flush=True,
            )

    agent.load_state_dict(best_state)
    meta = {
        "args": {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(args).items()
            if k not in ("traces_dir", "output", "run_dir")
        },
        "selection_score": best[0],
        "selection_iteration": best[1],
        "greedy_selection_score": greedy_score,
        "training_seconds": round(time.time() - started, 1),
    }
    export_weights(agent, args.output, meta)
    print(
        f"exported iteration {best[1]} (selection {best[0]:.4f}) to {args.output} in {meta['training_seconds']} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
