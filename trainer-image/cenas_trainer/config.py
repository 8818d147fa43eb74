"""Command-line configuration: one `Config` for the three modes, and the argument parser.

Parsing and validation need neither torch nor the dataset in memory, so a bad architecture or a
missing dataset fails in well under a second with exit code 2.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from cenas_spaces import Arch, ArchError, Macro, parse_arch
from cenas_trainer.dataset_files import DATASETS, DatasetError, check_dataset

MODES = ("train", "supernet", "score")
EXIT_CONFIG = 2  # bad arguments, architecture, dataset or checkpoint: a human must fix something


class ConfigError(Exception):
    """Something the user must fix; exit code 2."""


@dataclass(frozen=True)
class Config:
    mode: str
    """train (one architecture), supernet (the weight-sharing supernet) or score (candidates on a supernet)."""
    dataset: str
    """cifar10 (read from --data-dir) or digits (scikit-learn's bundled 8x8 digits)."""
    data_dir: str | None
    """The mounted CIFAR-10 directory (pickle or binary layout)."""
    trial: str
    """The NASTrial name: checkpoints go to <checkpoint-dir>/<trial>/, reports to this NASTrial."""
    checkpoint_dir: Path
    """The checkpoint volume."""
    seed: int
    """Seeds the initial weights, the data order, the augmentation and the supernet paths."""
    epochs: int
    """Training epochs (train, supernet); the trial runs epochs x (train examples // batch) steps."""
    arch: Arch | None
    """train: the architecture."""
    candidates: tuple[Arch, ...]
    """score: the architectures to score, in order."""
    supernet_trial: str | None
    """score: the supernet trial whose newest complete checkpoint provides the weights."""
    output: Path | None
    """score: the JSON-lines predictions file (default <checkpoint-dir>/<trial>/scores.jsonl)."""
    macro_channels: int
    """Channels of the first stage (NB201: 16)."""
    cells_per_stage: int
    """Cells per stage (NB201: 5)."""
    batch_size: int
    lr: float
    weight_decay: float
    checkpoint_every_steps: int
    """Save every N steps (0: off)."""
    checkpoint_every_seconds: float
    """Save when this much time passed since the last save (0: off)."""
    keep_checkpoints: int
    report: str
    """nastrial: patch the trial's NASTrial status; none: standalone."""
    namespace: str | None
    kubeconfig: Path | None
    """Use this kubeconfig instead of the pod's service account (tests, standalone runs)."""
    report_interval_seconds: float
    """Minimum time between progress reports (checkpoints and the end are reported at once)."""
    pod_name: str | None
    device: str
    amp: bool | None
    """bfloat16 autocast on CUDA (default: on with CUDA)."""
    channels_last: bool
    compile: bool
    power_watts: float
    """Per-device power used for the energy estimate when NVML is unavailable."""
    metrics_port: int
    """Serve Prometheus /metrics on this port (0: off)."""
    termination_log: Path | None
    threads: int
    """torch intra-op threads (0: torch's default)."""
    log_every_steps: int
    nproc_per_node: int
    """>1: launch that many data-parallel workers (one per GPU) and wait for them."""

    def macro(self, num_classes: int, input_channels: int, input_size: int) -> Macro:
        return Macro(self.macro_channels, self.cells_per_stage, num_classes, input_channels, input_size)

    @property
    def trial_dir(self) -> Path:
        return self.checkpoint_dir / self.trial


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cenas_trainer",
        description="Train an NB201 cell, train the NB201 supernet, or score candidates with it.",
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    for mode in MODES:
        p = sub.add_parser(mode, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        p.add_argument("--dataset", required=True, choices=DATASETS)
        p.add_argument("--data-dir", default=None, help="CIFAR-10 directory (pickle or binary batches)")
        p.add_argument("--checkpoint-dir", required=True, type=Path)
        p.add_argument("--trial", required=True, help="NASTrial name; also the checkpoint subdirectory")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--report", choices=("nastrial", "none"), default="none")
        p.add_argument("--namespace", default=None, help="NASTrial namespace (default: the pod's)")
        p.add_argument("--kubeconfig", type=Path, default=None)
        p.add_argument("--report-interval-seconds", type=float, default=30.0)
        p.add_argument("--pod-name", default=os.environ.get("POD_NAME") or os.environ.get("HOSTNAME"))
        p.add_argument("--channels", type=int, default=16, dest="macro_channels")
        p.add_argument("--cells-per-stage", type=int, default=5)
        p.add_argument("--batch-size", type=int, default=None, help="default: 256 (cifar10), 64 (digits)")
        p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
        p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None)
        p.add_argument("--channels-last", action="store_true")
        p.add_argument("--power-watts", type=float, default=400.0)
        p.add_argument("--metrics-port", type=int, default=_env_int("CENAS_METRICS_PORT", 0))
        p.add_argument("--termination-log", type=Path, default=Path("/dev/termination-log"))
        p.add_argument("--threads", type=int, default=0)
        p.add_argument("--log-every-steps", type=int, default=0, help="0: once per epoch")
        if mode in ("train", "supernet"):
            p.add_argument("--epochs", type=int, required=True)
            p.add_argument("--lr", type=float, default=None, help="default: 0.1 (cifar10), 0.05 (digits)")
            p.add_argument("--weight-decay", type=float, default=5e-4)
            p.add_argument("--checkpoint-every-steps", type=int, default=0)
            p.add_argument("--checkpoint-every-seconds", type=float, default=300.0)
            p.add_argument("--keep-checkpoints", type=int, default=2)
            p.add_argument("--nproc-per-node", type=int, default=1)
        if mode == "train":
            p.add_argument("--arch", required=True, help="NB201 arch string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|")
            p.add_argument("--compile", action="store_true", help="torch.compile the model")
        if mode == "score":
            p.add_argument("--arch", action="append", default=[], help="a candidate (repeatable)")
            p.add_argument("--candidates-file", type=Path, default=None, help="one arch string per line")
            p.add_argument("--supernet-trial", required=True)
            p.add_argument("--output", type=Path, default=None)
    return parser


def _positive(name: str, value: float, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, got {value}")


def _trial_name(name: str, flag: str) -> str:
    if not name or "/" in name or name in (".", "..") or len(name) > 253:
        raise ConfigError(f"{flag} must be a NASTrial name (no '/'), got {name!r}")
    return name


def _read_candidates(args: argparse.Namespace) -> tuple[Arch, ...]:
    texts = list(args.arch)
    if args.candidates_file is not None:
        try:
            lines = args.candidates_file.read_text().splitlines()
        except OSError as exc:
            raise ConfigError(f"--candidates-file {args.candidates_file}: {exc.strerror}") from exc
        texts += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not texts:
        raise ConfigError("score needs candidates: --arch (repeatable) or --candidates-file")
    archs = []
    for i, text in enumerate(texts):
        try:
            archs.append(parse_arch(text))
        except ArchError as exc:
            raise ConfigError(f"candidate {i + 1} {text!r}: {exc}") from exc
    return tuple(archs)


def parse(argv: list[str] | None = None) -> Config:
    """Parse and validate; raises ConfigError (argparse itself exits 2 on syntax errors)."""
    args = build_parser().parse_args(argv)
    mode = args.mode
    arch = None
    if mode == "train":
        try:
            arch = parse_arch(args.arch)
        except ArchError as exc:
            raise ConfigError(f"--arch {args.arch!r}: {exc}") from exc
    try:
        check_dataset(args.dataset, args.data_dir)
    except DatasetError as exc:
        raise ConfigError(str(exc)) from exc
    candidates = _read_candidates(args) if mode == "score" else ()
    digits = args.dataset == "digits"
    epochs = getattr(args, "epochs", 0)
    if mode != "score":
        _positive("--epochs", epochs)
    cfg = Config(
        mode=mode,
        dataset=args.dataset,
        data_dir=args.data_dir,
        trial=_trial_name(args.trial, "--trial"),
        checkpoint_dir=args.checkpoint_dir,
        seed=args.seed,
        epochs=epochs,
        arch=arch,
        candidates=candidates,
        supernet_trial=_trial_name(args.supernet_trial, "--supernet-trial") if mode == "score" else None,
        output=getattr(args, "output", None),
        macro_channels=args.macro_channels,
        cells_per_stage=args.cells_per_stage,
        batch_size=args.batch_size or (64 if digits else 256),
        lr=getattr(args, "lr", None) or (0.05 if digits else 0.1),
        weight_decay=getattr(args, "weight_decay", 5e-4),
        checkpoint_every_steps=getattr(args, "checkpoint_every_steps", 0),
        checkpoint_every_seconds=getattr(args, "checkpoint_every_seconds", 0.0),
        keep_checkpoints=getattr(args, "keep_checkpoints", 2),
        report=args.report,
        namespace=args.namespace,
        kubeconfig=args.kubeconfig,
        report_interval_seconds=args.report_interval_seconds,
        pod_name=args.pod_name,
        device=args.device,
        amp=args.amp,
        channels_last=args.channels_last,
        compile=getattr(args, "compile", False),
        power_watts=args.power_watts,
        metrics_port=args.metrics_port,
        termination_log=args.termination_log,
        threads=args.threads,
        log_every_steps=args.log_every_steps,
        nproc_per_node=getattr(args, "nproc_per_node", 1),
    )
    for name in ("macro_channels", "cells_per_stage", "batch_size", "keep_checkpoints", "nproc_per_node"):
        _positive(f"--{name.replace('macro_', '').replace('_', '-')}", getattr(cfg, name))
    for name in ("checkpoint_every_steps", "checkpoint_every_seconds", "threads", "log_every_steps",
                 "metrics_port", "power_watts", "report_interval_seconds"):
        _positive(f"--{name.replace('_', '-')}", getattr(cfg, name), allow_zero=True)
    _positive("--lr", cfg.lr)
    return cfg
