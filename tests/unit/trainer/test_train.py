import copy

import torch

from cenas_spaces import Macro, parse_arch
from cenas_trainer.data import load_dataset
from cenas_trainer.model import NB201Network
from cenas_trainer.train import Trainer

from .conftest import GOOD_CELL


def _trainer(*, compiled: bool = False) -> Trainer:
    model = NB201Network(parse_arch(GOOD_CELL), Macro(channels=4, cells_per_stage=1, input_channels=1, input_size=8))
    return Trainer(model, load_dataset("digits", None), seed=0, batch_size=8, total_steps=4, lr=0.1,
                   weight_decay=5e-4, device=torch.device("cpu"),
                   forward_model=torch.compile(model) if compiled else None)


def test_a_compiled_forward_model_is_used_not_truth_tested():
    # bool() of a torch.compile wrapper raises TypeError ("does not support len()"): --compile crashed at start.
    trainer = _trainer(compiled=True)
    assert trainer.forward_model is not trainer.model
    assert trainer.forward_model._orig_mod is trainer.model  # the compiled wrapper of the saved module


def test_restoring_a_state_replays_the_same_steps():
    trainer = _trainer()
    trainer.step(0)
    saved = copy.deepcopy(trainer.state_dict())  # state_dict() returns live tensors
    first = [float(trainer.step(s)) for s in (1, 2)]
    trainer.load_state_dict(saved)
    assert [float(trainer.step(s)) for s in (1, 2)] == first
