"""The simulation's cost model: GPU-seconds of every kind of work, from the cell's FLOPs.

One GPU runs one trial at a time (`gpusPerTrial: 1`); the supernet trains data-parallel over the sampling
pool. Per-epoch time of full training is affine in the network's forward FLOPs per image:

    epoch_seconds(F) = epoch_overhead_seconds + seconds_per_gflop_image * F[GFLOPs] * train_images

The overhead is data loading, augmentation, optimizer and kernel-launch time that small NB201 networks
cannot hide; the slope is one image's forward + backward (about 3x the forward FLOPs) at an effective
throughput well below peak, as small convolutions get. The defaults are calibrated to NAS-Bench-201's own
logged times (cifar10-valid, 25,000 training images, 1080 Ti-class GPU): a mean of about 9.1 s per epoch
over the space (mean 55 MFLOPs) and 10.85 s for NB201's 114 MFLOPs example cell, i.e. about 18.3 s and
21.7 s for the 50,000 images of full CIFAR-10 training here. The two points give 15 s + 1.2e-3 s per image
per GFLOP: one 200-epoch full training costs 0.86 to 1.6 GPU-hours (mean 1.0). Replace
them with the trainer's GPU benchmark (bench/trainer_gpu.py) when it is measured on the target GPUs; the
benchmark CLI takes the two numbers as flags.

Supernet training (uniform single-path sampling) costs one mean-FLOPs epoch per epoch times a
weight-sharing overhead factor. Scoring a candidate with inherited weights = BN recalibration on 5,000
training images + one forward pass over 10,000 validation images (each image pays the data pipeline's
per-image time and a forward pass) + a fixed set-up time: about 7 s, i.e. some 500 candidates per GPU-hour.
Trial start (pod start, data load), checkpoint save on suspension and restore on resumption cost GPU time
too; they are charged like everything else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CostModel:
    full_training_epochs: int = 200
    """Epochs of a full training (NASSearch spec.trainer.fullTrainingEpochs)."""
    supernet_epochs: int = 50
    """Epochs of supernet training (spec.trainer.supernetEpochs)."""
    train_images: int = 50_000
    """Images per training epoch (CIFAR-10 train split)."""
    validation_images: int = 10_000
    """Images one candidate is scored on."""
    recalibration_images: int = 5_000
    """Training images forwarded to re-estimate batch-norm statistics before scoring a candidate."""
    epoch_overhead_seconds: float = 15.0
    """Per-epoch time that does not scale with FLOPs (data pipeline, optimizer, launches)."""
    seconds_per_gflop_image: float = 1.2e-3
    """Training seconds per image per GFLOP of forward compute (forward + backward at effective throughput)."""
    supernet_overhead: float = 1.3
    """Supernet epoch time / mean-cell epoch time (larger weights, path sampling)."""
    score_setup_seconds: float = 2.0
    """Fixed time to set up one candidate's path in the supernet."""
    trial_start_seconds: float = 60.0
    """Pod start-up + data loading of a new trial (full training, supernet, scoring batch)."""
    suspend_seconds: float = 20.0
    """Checkpoint save when a running trial is suspended."""
    resume_seconds: float = 60.0
    """Pod start-up + checkpoint restore when a suspended trial resumes."""
    supernet_parallel_efficiency: float = 0.9
    """Data-parallel efficiency of supernet training on k > 1 GPUs (speed-up = 1 + (k - 1) * eff)."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"cost model {name} must be finite and >= 0, got {value!r}")
        if self.full_training_epochs < 1 or self.train_images < 1:
            raise ValueError("full_training_epochs and train_images must be >= 1")
        if not 0 < self.supernet_parallel_efficiency <= 1:
            raise ValueError("supernet_parallel_efficiency must be in (0, 1]")

    def epoch_seconds(self, flops_m) -> np.ndarray:
        """One full-training epoch of a cell with `flops_m` MFLOPs per image."""
        return self.epoch_overhead_seconds + self.seconds_per_gflop_image * np.asarray(flops_m) / 1000.0 * self.train_images

    def full_training_seconds(self, flops_m) -> np.ndarray:
        return self.full_training_epochs * self.epoch_seconds(flops_m)

    def supernet_seconds(self, mean_flops_m: float) -> float:
        """GPU-seconds of supernet training on one GPU."""
        return float(self.supernet_epochs * self.supernet_overhead * self.epoch_seconds(mean_flops_m))

    def supernet_speedup(self, gpus: int) -> float:
        return 1.0 + max(gpus - 1, 0) * self.supernet_parallel_efficiency

    def score_seconds(self, flops_m) -> np.ndarray:
        """GPU-seconds to score one candidate: every image pays the data pipeline's per-image time, and
        its forward pass costs about 1/3 of a training step."""
        data = self.epoch_overhead_seconds / self.train_images
        forward = self.seconds_per_gflop_image * np.asarray(flops_m) / 1000.0 / 3.0
        images = self.validation_images + self.recalibration_images
        return self.score_setup_seconds + (data + forward) * images
