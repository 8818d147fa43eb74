"""PPO inference with numpy only: what the operator runs. Loads the exported actor and refuses weights
made for another observation (features version, feature count, action set) instead of guessing."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .features import ACTION_FRACTIONS, FEATURES_VERSION, N_FEATURES, PolicyInput, gpus_for_action, observe

DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "ppo.npz"


class WeightsError(ValueError):
    """The weights file is unreadable, corrupt, or made for another observation/action interface."""


@dataclass(frozen=True)
class PolicyRuntime:
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (weight (out, in), bias (out,)), tanh between layers
    meta: dict
    version: str  # "ppo-" + digest of the file: what status.lastDecision.policyVersion records

    @classmethod
    def load(cls, path: str | Path = DEFAULT_WEIGHTS) -> PolicyRuntime:
        path = Path(path)
        try:
            raw = path.read_bytes()
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
            raise WeightsError(f"{path}: not a readable weights file: {err}") from err
        if "meta" not in arrays:
            raise WeightsError(f"{path}: no 'meta' entry: not a cenas policy weights file")
        try:
            meta = json.loads(str(arrays["meta"]))
        except json.JSONDecodeError as err:
            raise WeightsError(f"{path}: corrupt metadata: {err}") from err
        if meta.get("features_version") != FEATURES_VERSION:
            raise WeightsError(
                f"{path}: trained on features {meta.get('features_version')!r}, this operator computes "
                f"{FEATURES_VERSION!r}: retrain or ship matching weights"
            )
        if (
            meta.get("n_features") != N_FEATURES
            or tuple(meta.get("action_fractions", ())) != ACTION_FRACTIONS
        ):
            raise WeightsError(f"{path}: feature count or action set does not match {FEATURES_VERSION}")
        layers = []
        i = 0
        while f"actor.{i}.weight" in arrays:
            w, b = arrays[f"actor.{i}.weight"], arrays.get(f"actor.{i}.bias")
            if b is None or w.ndim != 2 or b.shape != (w.shape[0],):
                raise WeightsError(f"{path}: layer {i} is malformed")
            layers.append((w.astype(np.float32), b.astype(np.float32)))
            i += 1
        dims = [N_FEATURES] + [w.shape[0] for w, _ in layers]
        if not layers or any(w.shape[1] != d for (w, _), d in zip(layers, dims, strict=False)):
            raise WeightsError(f"{path}: layer shapes do not chain from {N_FEATURES} inputs")
        if dims[-1] != len(ACTION_FRACTIONS):
            raise WeightsError(f"{path}: {dims[-1]} outputs, the action set has {len(ACTION_FRACTIONS)}")
        if not all(np.isfinite(w).all() and np.isfinite(b).all() for w, b in layers):
            raise WeightsError(f"{path}: non-finite weights")
        return cls(tuple(layers), meta, "ppo-" + hashlib.sha256(raw).hexdigest()[:12])

    def logits(self, obs: np.ndarray) -> np.ndarray:
        h = np.asarray(obs, dtype=np.float32)
        if h.ndim != 2 or h.shape[1] != N_FEATURES:
            raise ValueError(f"observation must be (batch, {N_FEATURES}), got {h.shape}")
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                h = np.tanh(h)
        return h

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The most probable action per row (deterministic: the operator never samples)."""
        return np.argmax(self.logits(obs), axis=1)

    def __call__(self, x: PolicyInput) -> np.ndarray:
        """As a simulator policy: proposed GPUs."""
        return gpus_for_action(self.act(observe(x)), x.max_gpus)
