"""PPO actor-critic (torch, training only) and its export to the numpy file runtime.py loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.distributions.categorical import Categorical

from .features import ACTION_FRACTIONS, FEATURES_VERSION, N_FEATURES


def layer_init(layer: nn.Linear, std: float = np.sqrt(2), bias_const: float = 0.0) -> nn.Linear:
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, hidden: int = 64):
        super().__init__()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(N_FEATURES, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, 1), std=1.0),
        )
        self.actor = nn.Sequential(
            layer_init(nn.Linear(N_FEATURES, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, len(ACTION_FRACTIONS)), std=0.01),
        )

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x)

    def get_action_and_value(self, x: torch.Tensor, action: torch.Tensor | None = None):
        logits = self.actor(x)
        probs = Categorical(logits=logits)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x)


def export_weights(agent: Agent, path: str | Path, meta: dict) -> None:
    """Write the actor as actor.<i>.weight/bias plus a JSON `meta` (features version, action set, and
    whatever the caller adds, e.g. the training arguments)."""
    linear = [m for m in agent.actor if isinstance(m, nn.Linear)]
    arrays = {}
    for i, m in enumerate(linear):
        arrays[f"actor.{i}.weight"] = m.weight.detach().cpu().numpy().astype(np.float32)
        arrays[f"actor.{i}.bias"] = m.bias.detach().cpu().numpy().astype(np.float32)
    full = {
        "features_version": FEATURES_VERSION,
        "n_features": N_FEATURES,
        "action_fractions": list(ACTION_FRACTIONS),
        "activation": "tanh",
        **meta,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:  # np.savez would append .npz to a path without it
        np.savez_compressed(fh, meta=np.array(json.dumps(full, sort_keys=True)), **arrays)
