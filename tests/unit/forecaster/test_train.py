import json

import torch

from cenas_forecaster.__main__ import main
from cenas_forecaster.predictor import Predictor
from cenas_forecaster.train import Args, train

TINY = dict(regions=("FPL",), members=1, epochs=1, samples_per_epoch=512, batch_size=128, d_model=16, heads=2, layers=1,
            feedforward=32, val_start="2021-06-01", val_end="2021-06-05")


def test_training_is_bit_for_bit_reproducible_from_the_seed():
    [a], _ = train(Args(seed=3, **TINY), log=lambda _: None)
    [b], _ = train(Args(seed=3, **TINY), log=lambda _: None)
    [c], _ = train(Args(seed=4, **TINY), log=lambda _: None)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name
    assert any(not torch.equal(x, z) for x, z in zip(a.state_dict().values(), c.state_dict().values(), strict=True))


def test_train_cli_writes_weights_the_predictor_loads(tmp_path):
    out = tmp_path / "w.pt"
    argv = ["train", "--out", str(out), "--regions", "FPL", "--members", "2", "--epochs", "1", "--samples-per-epoch", "256",
            "--batch-size", "128", "--d-model", "16", "--heads", "2", "--layers", "1", "--feedforward", "32",
            "--val-start", "2021-06-01", "--val-end", "2021-06-02"]
    assert main(argv) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["args"]["regions"] == ["FPL"]
    assert [h[0]["seed"] for h in meta["members"]] == [1, 2]
    predictor = Predictor.load(out)
    assert len(predictor.members) == 2
    assert predictor.quantile_levels[predictor.median_index] == 0.5
