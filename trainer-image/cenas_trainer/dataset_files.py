"""Where datasets are and whether they are there: no torch, so a missing dataset fails fast."""

from __future__ import annotations

from pathlib import Path

DATASETS = ("cifar10", "digits")
PY_NAMES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
BIN_NAMES = [f"{n}.bin" for n in PY_NAMES]


class DatasetError(Exception):
    """The dataset is missing or malformed; the message says where it was looked for."""


def cifar_files(data_dir: str | None) -> tuple[str, list[Path]]:
    """The layout ("py" or "bin") and the 6 batch files of a CIFAR-10 directory."""
    if not data_dir:
        raise DatasetError("--data-dir is required for --dataset cifar10 (a mounted CIFAR-10 directory)")
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(f"CIFAR-10 directory {root} does not exist")
    for base in (root, root / "cifar-10-batches-py", root / "cifar-10-batches-bin"):
        for layout, names in (("py", PY_NAMES), ("bin", BIN_NAMES)):
            files = [base / n for n in names]
            if all(f.is_file() for f in files):
                return layout, files
    raise DatasetError(
        f"no CIFAR-10 batches under {root}: expected data_batch_1..5 and test_batch (pickle layout) or "
        "the same names with .bin (binary layout), directly or in cifar-10-batches-py/ or cifar-10-batches-bin/"
    )


def check_dataset(name: str, data_dir: str | None) -> None:
    """Fail fast (before torch is imported) when the dataset cannot be there."""
    if name not in DATASETS:
        raise DatasetError(f"--dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    if name == "cifar10":
        cifar_files(data_dir)
