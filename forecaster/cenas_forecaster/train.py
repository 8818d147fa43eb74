"""Train the forecaster on the shipped CarbonCast traces, reproducibly (bit for bit from the seed, on CPU).

    python -m cenas_forecaster train --out forecaster/cenas_forecaster/weights/forecaster.pt

Every hour before `train_end` whose 96 h target also ends before it is a training sample (issue hours of all
days, all regions, one model). The validation score is the scoring protocol (00:00 UTC issues, Day 1-4 MAPE)
on `val_start .. val_end`; with the default `train_end` = `val_end`, validation days are also training days,
which is how the shipped weights are made (the epochs were chosen on a 2020-only run, see docs/FORECASTER.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .features import CONTEXT_HOURS, make_windows, normalised_targets
from .model import ForecastTransformer, ModelConfig, pinball_loss
from .predictor import Predictor
from .scoring import HORIZON_HOURS, Summary, block_mape, issue_times
from .series import HourlySeries, parse_time
from .traces import CARBONCAST_REGIONS, load_shipped


@dataclass
class Args:
    seed: int = 1
    """seed of every random choice (initialisation, sample order, dropout)"""
    regions: tuple[str, ...] = CARBONCAST_REGIONS
    """shipped CarbonCast regions to train on"""
    train_end: str = "2021-07-01"
    """no target hour at or after this UTC date is used for training"""
    val_start: str = "2021-01-01"
    """first validation issue day"""
    val_end: str = "2021-06-26"
    """last validation issue day (its 96 h end before 2021-07-01)"""
    members: int = 3
    """ensemble size: members are trained alike with seeds seed, seed+1, ...; forecasts average them"""
    epochs: int = 3
    """epochs per member (chosen on the 2020-only validation run, see docs/FORECASTER.md)"""
    samples_per_epoch: int = 65_536
    """samples drawn (without replacement) per epoch from all issue hours"""
    batch_size: int = 256
    lr: float = 2e-3
    """peak learning rate of the one-cycle schedule"""
    weight_decay: float = 0.01
    log_scale_loss: bool = True
    """weight each window's loss by its log-intensity std, so the loss is on log intensity (~ relative error)"""
    threads: int = 1
    """torch CPU threads; results are bit-for-bit only for the same count"""
    d_model: int = 64
    layers: int = 3
    heads: int = 4
    feedforward: int = 128
    dropout: float = 0.1
    seasonal_prior: bool = True
    """learn a correction to a fixed seasonal-naive forecast (see model.seasonal_naive_matrix)"""
    out: str = ""
    """where to write the weights (.pt) and their metadata (.json beside it); empty: don't write"""


@dataclass(frozen=True)
class Samples:
    past: np.ndarray
    calendar: np.ndarray
    target: np.ndarray
    log_std: np.ndarray  # the window's scale: weighting the loss by it makes it a loss on log intensity


def training_samples(series: HourlySeries, train_end_seconds: int) -> Samples:
    last_issue = series.index_of(train_end_seconds) - HORIZON_HOURS if train_end_seconds < series.end_seconds else (
        len(series) - HORIZON_HOURS
    )
    index = np.arange(CONTEXT_HOURS, last_issue + 1)
    w = make_windows(series.values, series.start_seconds, index)
    return Samples(w.past, w.calendar, normalised_targets(series.values, index, w.scale),
                   w.scale[:, 1].astype(np.float32))


def validate(predictor: Predictor, regions: tuple[str, ...], start: int, end: int) -> dict[str, list[float]]:
    out = {}
    for region in regions:
        s = load_shipped(region)
        idx = np.array([s.index_of(int(t)) for t in issue_times(start, end)])
        q = predictor.quantiles(s, idx)
        actual = s.values[idx[:, None] + np.arange(HORIZON_HOURS)]
        observed = ~s.filled[idx[:, None] + np.arange(HORIZON_HOURS)]
        out[region] = Summary.of(block_mape(actual, q[..., predictor.median_index], observed)).mean
    return out


def train(args: Args, log=print) -> tuple[list[ForecastTransformer], dict]:
    """Train the ensemble; returns its members and the metadata to store beside the weights."""
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    started = time.perf_counter()
    end = parse_time(args.train_end)
    parts = [training_samples(load_shipped(r), end) for r in args.regions]
    fields = ("past", "calendar", "target", "log_std")
    data = Samples(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))
    log(f"{len(data.target)} training samples from {len(args.regions)} regions")
    members, histories = [], []
    for m in range(args.members):
        model, history = train_member(args, data, args.seed + m, log)
        members.append(model)
        histories.append(history)
    val = validate(Predictor(members), args.regions, parse_time(args.val_start), parse_time(args.val_end))
    mean_by_day = [round(float(np.mean([v[d] for v in val.values()])), 3) for d in range(4)]
    log(f"ensemble of {args.members}: val MAPE by day {mean_by_day} ({time.perf_counter() - started:.0f} s)")
    meta = {
        "args": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(args).items()},
        "model": members[0].config.as_dict(),
        "members": histories,
        "ensemble_val_mape_by_day": mean_by_day,
        "train_seconds": round(time.perf_counter() - started, 1),
        "torch": torch.__version__,
    }
    return members, meta


def train_member(args: Args, data: Samples, seed: int, log) -> tuple[ForecastTransformer, list[dict]]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    n = len(data.target)
    steps_per_epoch = min(args.samples_per_epoch, n) // args.batch_size
    config = ModelConfig(args.d_model, args.heads, args.layers, args.feedforward, args.dropout,
                         seasonal_prior=args.seasonal_prior)
    model = ForecastTransformer(config)
    quantiles = torch.tensor(config.quantiles)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.epochs * steps_per_epoch)
    history = []
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(n)[: steps_per_epoch * args.batch_size].reshape(steps_per_epoch, args.batch_size)
        total = 0.0
        for batch in order:
            pred = model(torch.from_numpy(data.past[batch]), torch.from_numpy(data.calendar[batch]))
            weight = torch.from_numpy(data.log_std[batch]) if args.log_scale_loss else None
            loss = pinball_loss(pred, torch.from_numpy(data.target[batch]), quantiles, weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += loss.item()
        model.eval()
        val = validate(Predictor(model), args.regions, parse_time(args.val_start), parse_time(args.val_end))
        mean_by_day = [round(float(np.mean([v[d] for v in val.values()])), 3) for d in range(4)]
        history.append({"seed": seed, "epoch": epoch + 1, "loss": round(total / steps_per_epoch, 6),
                        "val_mape_by_day": mean_by_day})
        log(f"seed {seed} epoch {epoch + 1}: loss {total / steps_per_epoch:.4f} val MAPE by day {mean_by_day} "
            f"({time.perf_counter() - started:.0f} s)")
    return model, history


def save(members: list[ForecastTransformer], meta: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    states = [{k: v.contiguous() for k, v in m.state_dict().items()} for m in members]
    torch.save({"model": members[0].config.as_dict(), "members": states}, path)
    meta = dict(meta, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(prog="cenas_forecaster train", description=__doc__.splitlines()[0])
    for f in dataclasses.fields(Args):
        default = f.default
        if isinstance(default, tuple):
            parser.add_argument(f"--{f.name.replace('_', '-')}", nargs="+", default=list(default))
        elif isinstance(default, bool):
            parser.add_argument(f"--{f.name.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=default)
        else:
            parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(default), default=default)
    ns = parser.parse_args(argv)
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in vars(ns).items()}
    return Args(**values)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    members, meta = train(args)
    if args.out:
        save(members, meta, Path(args.out))
        print(f"wrote {args.out} (sha256 in {Path(args.out).with_suffix('.json')})")
    return 0

