"""Datasets held in memory as uint8 tensors, and deterministic batches.

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 real images, no download), for CPU
  tests and demos. Fixed stratified split: 20 % test, 10 % valid, the rest train.
- ``cifar10``: read from a mounted directory in either standard layout, the Python pickle batches
  (``data_batch_1..5``, ``test_batch``) or the binary one (``data_batch_1.bin``..., ``test_batch.bin``),
  optionally inside ``cifar-10-batches-py/`` or ``cifar-10-batches-bin/``. Valid = 5,000 images of the
  train batches (fixed), train = the other 45,000, test = ``test_batch``. Nothing is ever downloaded.

The batch at step ``s`` is a pure function of (seed, s): the epoch's permutation is drawn from a
generator seeded with (seed, epoch), the augmentation from one seeded with (seed, s). A run resumed at
any step therefore sees exactly the batches an uninterrupted run sees.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cenas_trainer.dataset_files import DatasetError, check_dataset, cifar_files

_SPLIT_SEED = 20240601  # the train/valid/test split never depends on the run's seed


def derive_seed(seed: int, *keys: object) -> int:
    """A stable 63-bit seed for (seed, *keys), independent of PYTHONHASHSEED."""
    digest = hashlib.sha256(repr((int(seed), *keys)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


@dataclass
class Split:
    x: torch.Tensor  # N, C, H, W uint8
    y: torch.Tensor  # N int64

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device: torch.device) -> Split:
        return Split(self.x.to(device), self.y.to(device))


@dataclass
class Dataset:
    name: str
    num_classes: int
    train: Split
    valid: Split
    test: Split
    scale: float  # raw value of a full-intensity pixel
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: bool  # random crop (pad 4) + horizontal flip on train batches

    @property
    def input_channels(self) -> int:
        return int(self.train.x.shape[1])

    @property
    def input_size(self) -> int:
        return int(self.train.x.shape[2])

    def to(self, device: torch.device) -> Dataset:
        return Dataset(
            self.name, self.num_classes, self.train.to(device), self.valid.to(device), self.test.to(device),
            self.scale, self.mean, self.std, self.augment,
        )

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1, 1, 1)
        mean = torch.tensor(self.mean, device=x.device).view(shape)
        std = torch.tensor(self.std, device=x.device).view(shape)
        return (x.float() / self.scale - mean) / std


def load_dataset(name: str, data_dir: str | None = None) -> Dataset:
    check_dataset(name, data_dir)
    if name == "digits":
        return _load_digits()
    return _load_cifar10(data_dir)


# ---- digits ----------------------------------------------------------------------------------------


def _stratified_split(labels: np.ndarray, fractions: tuple[float, float]) -> tuple[np.ndarray, ...]:
    rng = np.random.RandomState(_SPLIT_SEED)
    test, valid, train = [], [], []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_test, n_valid = round(len(idx) * fractions[0]), round(len(idx) * fractions[1])
        test.append(idx[:n_test])
        valid.append(idx[n_test:n_test + n_valid])
        train.append(idx[n_test + n_valid:])
    return tuple(np.sort(np.concatenate(part)) for part in (train, valid, test))


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 images (N, 8, 8, values 0..16) and labels of scikit-learn's bundled digits.

    Read straight from the CSV that scikit-learn ships (what `load_digits` reads), which skips
    importing scikit-learn and SciPy: a second less at every start. Falls back to `load_digits`.
    """
    spec = importlib.util.find_spec("sklearn")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",", dtype=np.int64)
            return table[:, :-1].reshape(-1, 8, 8), table[:, -1]
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.asarray(bunch.images), np.asarray(bunch.target)


def _load_digits() -> Dataset:
    raw_images, raw_labels = _digits_arrays()
    images = np.asarray(raw_images, dtype=np.uint8)[:, None, :, :]  # values 0..16
    labels = np.asarray(raw_labels, dtype=np.int64)
    train, valid, test = _stratified_split(labels, (0.2, 0.1))

    def split(idx: np.ndarray) -> Split:
        return Split(torch.from_numpy(images[idx].copy()), torch.from_numpy(labels[idx].copy()))

    pixels = images[train].astype(np.float64) / 16.0
    return Dataset(
        "digits", 10, split(train), split(valid), split(test), 16.0,
        (float(pixels.mean()),), (float(pixels.std()),), augment=False,
    )


# ---- CIFAR-10 --------------------------------------------------------------------------------------

class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batches only: dicts, lists and numpy arrays, nothing that can run code."""

    _ALLOWED = frozenset({
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in pickle protocol 2
    })

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR-10 batch")


def _read_py_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _BatchUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as exc:
        raise DatasetError(f"{path} is not a CIFAR-10 pickle batch: {exc}") from exc
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DatasetError(f"{path}: expected N x 3072 uint8 data and N labels, got {data.shape}")
    return data.reshape(-1, 3, 32, 32), labels


def _read_bin_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % 3073:
        raise DatasetError(f"{path}: size {raw.size} is not a multiple of 3073-byte records")
    records = raw.reshape(-1, 3073)
    return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64)


def _load_cifar10(data_dir: str | None) -> Dataset:
    layout, files = cifar_files(data_dir)
    read = _read_py_batch if layout == "py" else _read_bin_batch
    parts = [read(f) for f in files]
    x_train = np.concatenate([p[0] for p in parts[:5]])
    y_train = np.concatenate([p[1] for p in parts[:5]])
    x_test, y_test = parts[5]
    if y_train.max(initial=0) > 9 or y_test.max(initial=0) > 9:
        raise DatasetError(f"CIFAR-10 labels must be 0..9 (files under {data_dir})")
    perm = np.random.RandomState(_SPLIT_SEED).permutation(len(y_train))
    n_valid = min(5000, len(perm) // 10)
    valid_idx, train_idx = np.sort(perm[:n_valid]), np.sort(perm[n_valid:])

    def split(x: np.ndarray, y: np.ndarray) -> Split:
        return Split(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y)))

    return Dataset(
        "cifar10", 10,
        split(x_train[train_idx], y_train[train_idx]),
        split(x_train[valid_idx], y_train[valid_idx]),
        split(x_test, y_test),
        255.0, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), augment=True,
    )


# ---- batches ---------------------------------------------------------------------------------------


class BatchPlan:
    """Which examples form the batch of each step (drop-last epochs, reshuffled per epoch)."""

    def __init__(self, n: int, batch_size: int, seed: int):
        if batch_size > n:
            raise DatasetError(f"--batch-size must be at most the train split size {n}, got {batch_size}")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.steps_per_epoch = n // batch_size
        self._epoch: int | None = None
        self._perm: torch.Tensor | None = None

    def indices(self, step: int) -> torch.Tensor:
        epoch, i = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(derive_seed(self.seed, "epoch", epoch))
            self._perm, self._epoch = torch.randperm(self.n, generator=g), epoch
        assert self._perm is not None
        return self._perm[i * self.batch_size:(i + 1) * self.batch_size]


def augment(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip, per example, vectorized."""
    b, c, h, w = x.shape
    shifts = torch.randint(0, 2 * pad + 1, (2, b), generator=generator).to(x.device)
    flips = (torch.rand(b, generator=generator) < 0.5).to(x.device)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    rows = (shifts[0][:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (shifts[1][:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    out = padded[batch, chan, rows, cols]
    return torch.where(flips[:, None, None, None], out.flip(3), out)


def train_batch(
    data: Dataset, plan: BatchPlan, step: int, rank: int = 0, world: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (normalized inputs, labels) of `step`; with `world` > 1, this rank's share of it."""
    idx = plan.indices(step)[rank::world].to(data.train.y.device)
    x = data.normalize(data.train.x[idx])
    if data.augment:
        x = augment(x, torch.Generator().manual_seed(derive_seed(plan.seed, "augment", step)))
    return x, data.train.y[idx]


def eval_batches(split: Split, data: Dataset, batch_size: int):
    for start in range(0, len(split), batch_size):
        yield data.normalize(split.x[start:start + batch_size]), split.y[start:start + batch_size]
