import json

import numpy as np
import pytest
import torch

from cenas_operator.policy import features
from cenas_operator.policy.agent import Agent, export_weights
from cenas_operator.policy.runtime import DEFAULT_WEIGHTS, PolicyRuntime, WeightsError


@pytest.fixture
def exported(tmp_path):
    torch.manual_seed(3)
    agent = Agent(hidden=32)
    with torch.no_grad():  # larger output weights than the init, so argmax ties cannot hide a mismatch
        agent.actor[-1].weight.mul_(300)
    path = tmp_path / "w.npz"
    export_weights(agent, path, {"args": {"seed": 3}})
    return agent, path


def test_numpy_runtime_matches_torch(exported):
    agent, path = exported
    runtime = PolicyRuntime.load(path)
    obs = np.random.default_rng(0).normal(0, 1.5, (500, features.N_FEATURES)).astype(np.float32)
    with torch.no_grad():
        expected = agent.actor(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(runtime.logits(obs), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(runtime.act(obs), expected.argmax(axis=1))
    assert len(set(runtime.act(obs).tolist())) > 1
    assert runtime.meta["args"] == {"seed": 3}
    assert runtime.version.startswith("ppo-")


def test_shipped_weights_load_and_record_their_training():
    runtime = PolicyRuntime.load(DEFAULT_WEIGHTS)
    assert runtime.meta["features_version"] == features.FEATURES_VERSION
    assert runtime.meta["args"]["total_timesteps"] > 0


def rewrite_meta(src, dst, **changes):
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays.pop("meta")))
    meta.update(changes)
    np.savez(dst, meta=np.array(json.dumps(meta)), **arrays)


def test_refuses_weights_for_another_features_version(exported, tmp_path):
    _, path = exported
    rewrite_meta(path, tmp_path / "old.npz", features_version="cenas-policy-features/v0")
    with pytest.raises(WeightsError, match="trained on features 'cenas-policy-features/v0'"):
        PolicyRuntime.load(tmp_path / "old.npz")
    rewrite_meta(path, tmp_path / "acts.npz", action_fractions=[0.0, 1.0])
    with pytest.raises(WeightsError, match="action set"):
        PolicyRuntime.load(tmp_path / "acts.npz")


def test_refuses_corrupt_or_foreign_files(exported, tmp_path):
    _, path = exported
    truncated = tmp_path / "cut.npz"
    truncated.write_bytes(path.read_bytes()[:200])
    garbage = tmp_path / "junk.npz"
    garbage.write_bytes(b"not a weights file at all")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    for bad, message in ((truncated, "not a readable"), (garbage, "not a readable"), (foreign, "no 'meta'")):
        with pytest.raises(WeightsError, match=message):
            PolicyRuntime.load(bad)
    with pytest.raises(WeightsError, match="not a readable"):
        PolicyRuntime.load(tmp_path / "missing.npz")


def test_refuses_layers_that_do_not_fit_the_observation(exported, tmp_path):
    _, path = exported
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["actor.0.weight"] = arrays["actor.0.weight"][:, :-1]
    np.savez(tmp_path / "narrow.npz", **arrays)
    with pytest.raises(WeightsError, match="do not chain"):
        PolicyRuntime.load(tmp_path / "narrow.npz")
    arrays = {k: npz_v for k, npz_v in np.load(path).items()}
    arrays["actor.1.bias"] = np.full_like(arrays["actor.1.bias"], np.nan)
    np.savez(tmp_path / "nan.npz", **arrays)
    with pytest.raises(WeightsError, match="non-finite"):
        PolicyRuntime.load(tmp_path / "nan.npz")
