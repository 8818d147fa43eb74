"""Datasets (digits, both CIFAR-10 layouts on small synthetic files) and deterministic batches."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from cenas_trainer.data import BatchPlan, DatasetError, _stratified_split, augment, load_dataset, train_batch


def test_digits_split_is_fixed_disjoint_and_stratified():
    a, b = load_dataset("digits"), load_dataset("digits")
    n = len(a.train) + len(a.valid) + len(a.test)
    assert n == 1797
    assert abs(len(a.test) / n - 0.2) < 0.01 and abs(len(a.valid) / n - 0.1) < 0.01
    assert torch.equal(a.test.x, b.test.x) and torch.equal(a.train.y, b.train.y)
    train, valid, test = _stratified_split(np.asarray(load_digits().target), (0.2, 0.1))
    assert len(set(train) | set(valid) | set(test)) == n
    counts = torch.bincount(a.test.y, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38  # every class ~20 % of its ~180 images
    x = a.normalize(a.train.x)
    assert abs(float(x.mean())) < 1e-3 and abs(float(x.std()) - 1) < 1e-2


def _fake_cifar(tmp_path, layout: str, n: int = 20):
    rng = np.random.RandomState(0)
    files = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.randint(0, 256, (n, 3072)).astype(np.uint8)
        labels = rng.randint(0, 10, n)
        files[name] = (data, labels)
        if layout == "py":
            with open(tmp_path / name, "wb") as f:
                pickle.dump({b"data": data, b"labels": labels.tolist()}, f, protocol=2)
        else:
            records = np.concatenate([labels.astype(np.uint8)[:, None], data], axis=1)
            records.tofile(tmp_path / f"{name}.bin")
    return files


@pytest.mark.parametrize("layout", ["py", "bin"])
def test_cifar10_reads_both_standard_layouts(tmp_path, layout):
    sub = tmp_path / ("cifar-10-batches-py" if layout == "py" else "cifar-10-batches-bin")
    sub.mkdir()
    files = _fake_cifar(sub, layout)
    ds = load_dataset("cifar10", str(tmp_path))
    assert len(ds.train) + len(ds.valid) == 100 and len(ds.test) == 20
    assert ds.train.x.shape[1:] == (3, 32, 32) and ds.train.x.dtype == torch.uint8
    test_data, test_labels = files["test_batch"]
    assert torch.equal(ds.test.x, torch.from_numpy(test_data.reshape(-1, 3, 32, 32)))
    assert ds.test.y.tolist() == test_labels.tolist()


def test_cifar10_missing_or_malformed_fails_with_where_it_looked(tmp_path):
    with pytest.raises(DatasetError, match="--data-dir is required"):
        load_dataset("cifar10", None)
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset("cifar10", str(tmp_path / "nope"))
    with pytest.raises(DatasetError, match="no CIFAR-10 batches under"):
        load_dataset("cifar10", str(tmp_path))
    _fake_cifar(tmp_path, "bin")
    (tmp_path / "test_batch.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(DatasetError, match="3073-byte records"):
        load_dataset("cifar10", str(tmp_path))


def test_cifar10_pickle_that_would_run_code_is_refused(tmp_path):
    _fake_cifar(tmp_path, "py")

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    (tmp_path / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(DatasetError, match=r"refusing to load builtins\.print"):
        load_dataset("cifar10", str(tmp_path))


def test_batch_plan_is_a_pure_function_of_seed_and_step():
    plan, again = BatchPlan(100, 32, seed=5), BatchPlan(100, 32, seed=5)
    assert plan.steps_per_epoch == 3
    epoch0 = torch.cat([plan.indices(s) for s in range(3)])
    assert len(set(epoch0.tolist())) == 96  # no repeats inside an epoch
    assert torch.equal(again.indices(4), plan.indices(4))  # random access = sequential access
    assert not torch.equal(plan.indices(0), plan.indices(3))  # reshuffled per epoch
    assert not torch.equal(BatchPlan(100, 32, seed=6).indices(0), plan.indices(0))
    with pytest.raises(DatasetError):
        BatchPlan(10, 32, seed=0)


def test_ranks_split_the_global_batch():
    ds = load_dataset("digits")
    plan = BatchPlan(len(ds.train), 64, seed=1)
    _, whole_y = train_batch(ds, plan, 7)
    parts = [train_batch(ds, plan, 7, rank=r, world=2) for r in range(2)]
    assert sorted(torch.cat([p[1] for p in parts]).tolist()) == sorted(whole_y.tolist())
    assert parts[0][0].shape[0] == 32


def test_augment_crops_and_flips_deterministically():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    a = augment(x, torch.Generator().manual_seed(1), pad=2)
    b = augment(x, torch.Generator().manual_seed(1), pad=2)
    assert a.shape == x.shape and torch.equal(a, b)
    # each output is a shifted (maybe mirrored) window of its own input: its values come from that image
    for i in range(2):
        nonzero = a[i][a[i] != 0]
        assert set(nonzero.tolist()) <= set(x[i].flatten().tolist())


def test_digits_are_read_from_scikit_learns_bundled_file_unchanged():
    from cenas_trainer.data import _digits_arrays

    images, labels = _digits_arrays()
    bunch = load_digits()
    assert np.array_equal(images, bunch.images) and np.array_equal(labels, bunch.target)


def test_a_cifar10_directory_trains_end_to_end(tmp_path):
    from cenas_spaces import Macro, parse_arch
    from cenas_trainer.model import NB201Network
    from cenas_trainer.train import Trainer, evaluate

    _fake_cifar(tmp_path, "bin", n=16)
    ds = load_dataset("cifar10", str(tmp_path))
    assert ds.augment and ds.input_size == 32
    arch = parse_arch("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|skip_connect~2|")
    model = NB201Network(arch, Macro(channels=4, cells_per_stage=1))
    trainer = Trainer(model, ds, seed=0, batch_size=8, total_steps=4, lr=0.1, weight_decay=5e-4,
                      device=torch.device("cpu"))
    losses = [float(trainer.step(s)) for s in range(4)]
    assert all(np.isfinite(losses))
    assert 0.0 <= evaluate(model, ds, "test") <= 1.0
