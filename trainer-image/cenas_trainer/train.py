"""Steps and evaluation of an NB201 network or of the supernet: the `Job` the loop runs.

Everything a step consumes is a function of (seed, step) or of the saved state: the batch, the
augmentation, and for the supernet the sampled path. So a run resumed from the checkpoint of step N
computes exactly what an uninterrupted run computes from step N (bitwise on CPU).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from cenas_spaces import EDGES, OPS, Arch, from_codes
from cenas_trainer.data import BatchPlan, Dataset, derive_seed, eval_batches, train_batch


def sample_arch(seed: int, step: int) -> Arch:
    """The supernet path of a step: uniform over the 5**6 cells."""
    g = torch.Generator().manual_seed(derive_seed(seed, "path", step))
    return from_codes([int(c) for c in torch.randint(0, len(OPS), (len(EDGES),), generator=g)])


class Trainer:
    """SGD (Nesterov) with a per-step cosine schedule, as NB201 trains its cells."""

    def __init__(
        self,
        model: nn.Module,
        data: Dataset,
        *,
        seed: int,
        batch_size: int,
        total_steps: int,
        lr: float,
        weight_decay: float,
        device: torch.device,
        path_for_step: Callable[[int], Arch] | None = None,
        amp: bool = False,
        channels_last: bool = False,
        rank: int = 0,
        world: int = 1,
        forward_model: nn.Module | None = None,
    ):
        self.model = model  # the module whose state is saved (unwrapped)
        # DDP / compiled wrapper, when there is one (not `or`: bool() of a compiled module raises TypeError)
        self.forward_model = forward_model if forward_model is not None else model
        self.data = data
        self.plan = BatchPlan(len(data.train), batch_size, seed)
        self.device = device
        self.path_for_step = path_for_step
        self.amp = amp and device.type == "cuda"
        self.channels_last = channels_last
        self.rank, self.world = rank, world
        self.optimizer = torch.optim.SGD(
            model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=max(total_steps, 1))
        self.loss_fn = nn.CrossEntropyLoss()

    def _autocast(self):
        if self.amp:
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def step(self, step: int) -> torch.Tensor:
        """One optimizer step; the loss comes back as a 0-d tensor. Reading it waits for the GPU to finish
        the step, so only logged steps read it and the loop can queue the next step meanwhile."""
        self.model.train()
        x, y = train_batch(self.data, self.plan, step, self.rank, self.world)
        x = self._prepare(x)
        with self._autocast():
            if self.path_for_step is None:
                out = self.forward_model(x)
            else:
                out = self.forward_model(x, self.path_for_step(step))
            loss = self.loss_fn(out, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach()

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": {"torch": torch.get_rng_state()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        # The generator's state is a CPU ByteTensor even when the checkpoint was mapped onto a GPU.
        torch.set_rng_state(state["rng"]["torch"].cpu())


@torch.no_grad()
def evaluate(
    model: nn.Module, data: Dataset, split: str, *, arch: Arch | None = None, batch_size: int = 500,
    amp: bool = False, channels_last: bool = False,
) -> float:
    """Top-1 accuracy (0..1) on `split` ("valid" or "test"); `arch` picks the supernet path."""
    model.eval()
    part = getattr(data, split)
    correct = 0
    for x, y in eval_batches(part, data, batch_size):
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        ctx = torch.autocast("cuda", dtype=torch.bfloat16) if amp and x.device.type == "cuda" else contextlib.nullcontext()
        with ctx:
            out = model(x) if arch is None else model(x, arch)
        correct += int((out.argmax(1) == y).sum())
    return correct / max(len(part), 1)
