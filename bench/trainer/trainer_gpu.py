"""Trainer throughput and checkpoint cost: full NB201 training on CIFAR-10-shaped data.

Measures, on one device:
- images/s of our training step (cenas_trainer.train.Trainer: data resident on the device, vectorized
  crop+flip, per-step cosine LR) in several configurations: fp32, bf16 autocast, channels-last,
  torch.compile;
- images/s of a plain reference loop written the obvious way (DataLoader over a CPU TensorDataset,
  shuffle, batches copied to the device, the same model, optimizer and batch size), so the ratio shows
  what our loop costs or saves;
- seconds to save and to restore a complete checkpoint (model + optimizer + scheduler) through
  cenas_trainer.checkpoint.CheckpointStore (fsync, hash and rename included).

The data is random uint8 images of CIFAR-10's shape (throughput does not depend on pixel values).

    python bench/trainer/trainer_gpu.py --output bench/trainer/results/trainer_gpu.json      # on a GPU
    python bench/trainer/trainer_gpu.py --device cpu --channels 4 --cells-per-stage 1 --steps 3 --warmup 1 \
        --batch-size 32 --train-size 512 --configs fp32                                           # smoke test
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from cenas_spaces import Macro, network_cost, parse_arch
from cenas_trainer.checkpoint import CheckpointStore
from cenas_trainer.data import Dataset, Split
from cenas_trainer.model import NB201Network
from cenas_trainer.train import Trainer

BEST_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
CONFIGS = ("fp32", "bf16", "bf16+channels_last", "fp32+compile", "bf16+channels_last+compile")


def synthetic_cifar(n_train: int, n_test: int, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)

    def split(n: int) -> Split:
        return Split(torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8),
                     torch.randint(0, 10, (n,), generator=g))

    return Dataset("cifar10-shaped", 10, split(n_train), split(n_test // 10), split(n_test), 255.0,
                   (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), augment=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step_fn, steps: int, warmup: int, device: torch.device) -> float:
    """Seconds per step after `warmup` untimed steps."""
    for i in range(warmup):
        step_fn(i)
    sync(device)
    t0 = time.perf_counter()
    for i in range(warmup, warmup + steps):
        step_fn(i)
    sync(device)
    return (time.perf_counter() - t0) / steps


def our_loop(config: str, data: Dataset, macro: Macro, args, device: torch.device) -> float:
    torch.manual_seed(0)
    model = NB201Network(parse_arch(BEST_CELL), macro).to(device)
    channels_last = "channels_last" in config
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = torch.compile(model) if "compile" in config else model
    trainer = Trainer(model, data, seed=0, batch_size=args.batch_size, total_steps=10_000, lr=0.1,
                      weight_decay=5e-4, device=device, amp="bf16" in config, channels_last=channels_last,
                      forward_model=forward)
    return args.batch_size / time_steps(trainer.step, args.steps, args.warmup, device)


def reference_loop(data: Dataset, macro: Macro, args, device: torch.device) -> float:
    """The obvious loop: DataLoader on CPU tensors, shuffle, copy each batch, fp32."""
    torch.manual_seed(0)
    model = NB201Network(parse_arch(BEST_CELL), macro).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    mean = torch.tensor(data.mean).view(1, 3, 1, 1)
    std = torch.tensor(data.std).view(1, 3, 1, 1)
    x_all = (data.train.x.float() / 255.0 - mean) / std
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_all, data.train.y),
                                         batch_size=args.batch_size, shuffle=True, drop_last=True)
    batches = iter(loader)
    loss_fn = nn.CrossEntropyLoss()

    def step(_i: int) -> None:
        nonlocal batches
        try:
            x, y = next(batches)
        except StopIteration:
            batches = iter(loader)
            x, y = next(batches)
        x, y = x.to(device), y.to(device)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return args.batch_size / time_steps(step, args.steps, args.warmup, device)


def checkpoint_seconds(macro: Macro, device: torch.device, data: Dataset, args) -> dict:
    model = NB201Network(parse_arch(BEST_CELL), macro).to(device)
    trainer = Trainer(model, data, seed=0, batch_size=args.batch_size, total_steps=100, lr=0.1, weight_decay=5e-4,
                      device=device)
    trainer.step(0)  # optimizer state (momentum buffers) exists, as in a real checkpoint
    with tempfile.TemporaryDirectory(dir=args.checkpoint_dir) as tmp:
        store = CheckpointStore(Path(tmp) / "bench")
        saves, loads = [], []
        for i in range(args.checkpoint_repeats):
            sync(device)
            t0 = time.perf_counter()
            ref = store.save(i + 1, trainer.state_dict(), {"bench": True})
            saves.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _, state, _ = store.load_latest(device)
            trainer.load_state_dict(state)
            sync(device)
            loads.append(time.perf_counter() - t0)
        size = (ref.path / "state.pt").stat().st_size
    return {"save_seconds_median": sorted(saves)[len(saves) // 2], "restore_seconds_median": sorted(loads)[len(loads) // 2],
            "bytes": size}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells-per-stage", type=int, default=5)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--train-size", type=int, default=50_000)
    p.add_argument("--configs", default=",".join(CONFIGS))
    p.add_argument("--checkpoint-repeats", type=int, default=5)
    p.add_argument("--checkpoint-dir", default=None, help="where checkpoints are timed (default: the temp dir)")
    p.add_argument("--output", type=Path, default=None)
    args = p.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    macro = Macro(args.channels, args.cells_per_stage, 10, 3, 32)
    data_cpu = synthetic_cifar(args.train_size, 1000)
    data_dev = data_cpu.to(device)
    results = {}
    for config in args.configs.split(","):
        try:
            results[config] = round(our_loop(config, data_dev, macro, args, device), 1)
        except Exception as exc:  # e.g. torch.compile without a compiler toolchain
            results[config] = f"failed: {type(exc).__name__}: {str(exc)[:200]}"
        print(f"ours {config}: {results[config]} images/s", flush=True)
    reference = round(reference_loop(data_cpu, macro, args, device), 1)
    print(f"reference fp32: {reference} images/s", flush=True)
    numeric = {k: v for k, v in results.items() if isinstance(v, float)}
    best = max(numeric, key=numeric.get) if numeric else None
    cost = network_cost(parse_arch(BEST_CELL), macro)
    out = {
        "benchmark": "NB201 full training step, CIFAR-10-shaped data",
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.machine()})",
        "torch": torch.__version__,
        "arch": BEST_CELL, "params": cost.params, "flops_per_image": cost.flops,
        "batch_size": args.batch_size, "steps_timed": args.steps, "warmup_steps": args.warmup,
        "ours_images_per_second": results,
        "reference_images_per_second": reference,
        "best_config": best,
        "ratio_best_vs_reference": round(numeric[best] / reference, 3) if best else None,
        "ratio_fp32_vs_reference": round(numeric["fp32"] / reference, 3) if "fp32" in numeric else None,
        "checkpoint": checkpoint_seconds(macro, device, data_dev, args),
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
