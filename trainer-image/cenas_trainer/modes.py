"""The three modes: each loads what it needs, runs the resumable loop and returns its summary."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cenas_spaces import Arch, Macro, is_degenerate, network_cost, parse_arch
from cenas_trainer import loop
from cenas_trainer import nastrial_status as fields
from cenas_trainer.checkpoint import CheckpointStore, rfc3339
from cenas_trainer.config import Config, ConfigError
from cenas_trainer.data import Dataset, derive_seed, load_dataset
from cenas_trainer.dist import DistInfo, any_rank
from cenas_trainer.model import NB201Network, NB201SuperNet
from cenas_trainer.session import TrialSession
from cenas_trainer.train import Trainer, evaluate, sample_arch

log = logging.getLogger(__name__)
SUPERNET_EVAL_PATHS = 10  # paths whose mean valid accuracy is the supernet's reported accuracy


def _identity(cfg: Config, steps_per_epoch: int) -> dict[str, Any]:
    return {
        "format": 1, "mode": cfg.mode, "arch": str(cfg.arch) if cfg.arch else None, "dataset": cfg.dataset,
        "seed": cfg.seed, "channels": cfg.macro_channels, "cells_per_stage": cfg.cells_per_stage,
        "batch_size": cfg.batch_size, "epochs": cfg.epochs, "steps_per_epoch": steps_per_epoch,
        "lr": cfg.lr, "weight_decay": cfg.weight_decay,
    }


def _macro(cfg: Config, data: Dataset) -> Macro:
    return cfg.macro(data.num_classes, data.input_channels, data.input_size)


def _log_step(cfg: Config, steps_per_epoch: int, total: int) -> Callable[[int, torch.Tensor], bool]:
    every = cfg.log_every_steps or steps_per_epoch

    def should_log(step: int, loss: torch.Tensor) -> bool:
        if step % every == 0 or step == total:
            log.info("step %d/%d epoch %.2f loss %.4f", step, total, step / steps_per_epoch, float(loss))
            return True
        return False

    return should_log


def _run_loop(cfg: Config, session: TrialSession, trainer: Trainer, identity: dict, dist: DistInfo,
              device: torch.device, stop) -> loop.LoopResult:
    total = cfg.epochs * trainer.plan.steps_per_epoch
    session.start(total)
    state = session.restore(identity, device)
    start = 0
    if state is not None:
        trainer.load_state_dict(state)
        start = session.resumed_from_step or 0
    session.report_start(start)
    log_step = _log_step(cfg, trainer.plan.steps_per_epoch, total)

    def on_step(step: int, loss: torch.Tensor) -> None:
        session.on_step(step)
        log_step(step, loss)

    return loop.run(
        trainer,
        start_step=start,
        total_steps=total,
        should_stop=lambda: any_rank(dist, stop.is_set(), device),
        save=lambda step: session.save(step, trainer.state_dict(), identity),
        every_steps=cfg.checkpoint_every_steps,
        every_seconds=cfg.checkpoint_every_seconds,
        on_step=on_step,
        agree=lambda due: any_rank(dist, due, device),
    )


def _seed_init(cfg: Config) -> None:
    torch.manual_seed(derive_seed(cfg.seed, "init") % (2**63))


def _wrap(model: nn.Module, dist: DistInfo, device: torch.device, find_unused: bool) -> nn.Module:
    if not dist.enabled:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=find_unused)


def run_train(cfg: Config, session: TrialSession, dist: DistInfo, device: torch.device, stop) -> dict:
    assert cfg.arch is not None
    data = load_dataset(cfg.dataset, cfg.data_dir).to(device)
    macro = _macro(cfg, data)
    _seed_init(cfg)
    model = NB201Network(cfg.arch, macro).to(device)
    amp = cfg.amp if cfg.amp is not None else device.type == "cuda"
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = _wrap(model, dist, device, find_unused=False)
    if cfg.compile:
        forward = torch.compile(forward)
    trainer = Trainer(
        model, data, seed=cfg.seed, batch_size=cfg.batch_size, total_steps=cfg.epochs * (len(data.train) // cfg.batch_size),
        lr=cfg.lr, weight_decay=cfg.weight_decay, device=device, amp=amp, channels_last=cfg.channels_last,
        rank=dist.rank, world=dist.world, forward_model=forward,
    )
    identity = _identity(cfg, trainer.plan.steps_per_epoch)
    result = _run_loop(cfg, session, trainer, identity, dist, device, stop)
    cost = network_cost(cfg.arch, macro)
    summary = {**session.base_summary(), "arch": str(cfg.arch), "params": cost.params, "flops": cost.flops,
               "step": result.step, "total_steps": session.total_steps, "interrupted": result.interrupted,
               "accuracy": None}
    if result.interrupted:
        session.finish(result.step, None)
        return summary
    accuracy = evaluate(model, data, "test", amp=amp, channels_last=cfg.channels_last)
    valid = evaluate(model, data, "valid", amp=amp, channels_last=cfg.channels_last)
    summary.update(accuracy=round(accuracy, 6), valid_accuracy=round(valid, 6))
    summary["reported"] = session.finish(result.step, fields.training_result(accuracy, cost.params, cost.flops))
    summary.update(energy_joules=round(session.energy_joules(), 3), elapsed_seconds=round(session.elapsed_seconds(), 3))
    return summary


def eval_paths(seed: int, n: int) -> list[Arch]:
    """`n` distinct non-degenerate paths to summarise a supernet (fixed by the seed)."""
    paths: list[Arch] = []
    i = 0
    while len(paths) < n:
        arch = sample_arch(derive_seed(seed, "eval-paths"), i)
        i += 1
        if not is_degenerate(arch) and arch not in paths:
            paths.append(arch)
    return paths


def run_supernet(cfg: Config, session: TrialSession, dist: DistInfo, device: torch.device, stop) -> dict:
    data = load_dataset(cfg.dataset, cfg.data_dir).to(device)
    macro = _macro(cfg, data)
    _seed_init(cfg)
    model = NB201SuperNet(macro).to(device)
    amp = cfg.amp if cfg.amp is not None else device.type == "cuda"
    forward = _wrap(model, dist, device, find_unused=True)
    trainer = Trainer(
        model, data, seed=cfg.seed, batch_size=cfg.batch_size, total_steps=cfg.epochs * (len(data.train) // cfg.batch_size),
        lr=cfg.lr, weight_decay=cfg.weight_decay, device=device, amp=amp, channels_last=cfg.channels_last,
        rank=dist.rank, world=dist.world, forward_model=forward,
        path_for_step=lambda step: sample_arch(cfg.seed, step),
    )
    identity = {**_identity(cfg, trainer.plan.steps_per_epoch), "num_classes": data.num_classes,
                "input_channels": data.input_channels, "input_size": data.input_size}
    result = _run_loop(cfg, session, trainer, identity, dist, device, stop)
    summary = {**session.base_summary(), "step": result.step, "total_steps": session.total_steps,
               "interrupted": result.interrupted, "accuracy": None}
    if result.interrupted:
        session.finish(result.step, None)
        return summary
    accs = [evaluate(model, data, "valid", arch=a, amp=amp) for a in eval_paths(cfg.seed, SUPERNET_EVAL_PATHS)]
    summary["accuracy"] = round(sum(accs) / len(accs), 6)
    summary["reported"] = session.finish(result.step, None)
    summary.update(energy_joules=round(session.energy_joules(), 3), elapsed_seconds=round(session.elapsed_seconds(), 3))
    return summary


# ---- score -------------------------------------------------------------------------------------


def load_supernet(checkpoint_dir: Path, trial: str, dataset: str, device: torch.device) -> tuple[NB201SuperNet, Macro, int]:
    """The newest complete checkpoint of a supernet trial: (model, macro, step)."""
    store = CheckpointStore(checkpoint_dir / trial)
    loaded = store.load_latest(device)
    if loaded is None:
        raise ConfigError(f"no complete checkpoint of supernet trial {trial!r} under {store.root}")
    ref, state, meta = loaded
    ident = meta.get("identity", {})
    if ident.get("mode") != "supernet":
        raise ConfigError(f"{ref.path} is a {ident.get('mode')!r} checkpoint, not a supernet's")
    if ident.get("dataset") != dataset:
        raise ConfigError(f"supernet {trial!r} was trained on {ident.get('dataset')!r}, not {dataset!r}")
    macro = Macro(ident["channels"], ident["cells_per_stage"], ident["num_classes"], ident["input_channels"],
                  ident["input_size"])
    model = NB201SuperNet(macro).to(device)
    model.load_state_dict(state["model"])
    return model, macro, ref.step


def _recover_scores(path: Path, candidates: tuple[Arch, ...]) -> dict[str, dict]:
    """Scores already written by an earlier attempt. The file is rewritten with just those rows, so a
    line torn by a kill does not corrupt the lines appended after it."""
    done: dict[str, dict] = {}
    if not path.exists():
        return done
    wanted = {str(a) for a in candidates}
    for text in path.read_text().splitlines():
        try:
            row = json.loads(text)
            arch = str(parse_arch(row["architecture"]))
        except (ValueError, KeyError, TypeError):
            continue
        if arch in wanted:
            done[arch] = row
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in done.values()))
    os.replace(tmp, path)
    return done


def run_score(cfg: Config, session: TrialSession, dist: DistInfo, device: torch.device, stop) -> dict:
    assert cfg.supernet_trial is not None
    model, macro, supernet_step = load_supernet(cfg.checkpoint_dir, cfg.supernet_trial, cfg.dataset, device)
    data = load_dataset(cfg.dataset, cfg.data_dir).to(device)
    output = cfg.output or cfg.trial_dir / "scores.jsonl"
    output.parent.mkdir(parents=True, exist_ok=True)
    done = _recover_scores(output, cfg.candidates)
    total = len(cfg.candidates)
    session.start(total)
    if done:
        session.resumed_from_step = len(done)
    session.report_start(len(done))
    interrupted = False
    with open(output, "a") as out:
        for i, arch in enumerate(cfg.candidates):
            if str(arch) in done:
                continue
            if stop.is_set():
                interrupted = True
                break
            t0 = time.perf_counter()
            acc = evaluate(model, data, "valid", arch=arch)
            cost = network_cost(arch, macro)
            row = {"architecture": str(arch), "accuracy": round(acc, 6), "params": cost.params, "flops": cost.flops,
                   "seconds": round(time.perf_counter() - t0, 4)}
            out.write(json.dumps(row, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
            done[str(arch)] = row
            session.on_step(len(done))
            log.info("scored %d/%d %s: %.4f", i + 1, total, arch, acc)
    scored = [done[str(a)] for a in cfg.candidates if str(a) in done]
    stamp = rfc3339(datetime.now(UTC))
    session.reporter.checkpoint(len(scored), stamp, session.relative(output))
    summary = {**session.base_summary(), "step": len(scored), "total_steps": total, "interrupted": interrupted,
               "supernet_step": supernet_step, "output": str(output), "checkpoint": session.relative(output),
               "accuracy": None, "scores": [[r["architecture"], r["accuracy"]] for r in scored]}
    if interrupted:
        session.finish(len(scored), None)
        return summary
    summary["accuracy"] = max(r["accuracy"] for r in scored)
    result = fields.scoring_result([(r["architecture"], r["accuracy"]) for r in scored[: fields.MAX_SCORES]])
    summary["reported"] = session.finish(len(scored), result)
    return summary


MODES = {"train": run_train, "supernet": run_supernet, "score": run_score}
