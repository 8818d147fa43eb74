"""The torch NB201 network agrees with cenas_spaces' params/FLOPs; supernet paths behave as cells."""

import random

import pytest
import torch
from torch import nn

from cenas_spaces import Macro, all_archs, network_cost, parse_arch
from cenas_trainer.model import Cell, NB201Network, NB201SuperNet, count_params
from cenas_trainer.train import sample_arch

from .conftest import GOOD_CELL


def count_flops(model: nn.Module, x: torch.Tensor, *args) -> int:
    """Multiply-accumulates of convs and linears for one image, from the shapes seen in a forward pass."""
    total = 0

    def conv_hook(m, inp, out):
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
        total += k * m.out_channels * out.shape[2] * out.shape[3] + (m.out_channels * out.shape[2] * out.shape[3] if m.bias is not None else 0)

    def linear_hook(m, inp, out):
        nonlocal total
        total += m.in_features * m.out_features + (m.out_features if m.bias is not None else 0)

    handles = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    handles += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        model.eval()(x[:1], *args)
    for h in handles:
        h.remove()
    return total


@pytest.mark.parametrize("seed", range(3))
def test_params_and_flops_match_the_pure_count(seed):
    macro = Macro(channels=4, cells_per_stage=2, num_classes=7, input_channels=1, input_size=8)
    for arch in random.Random(seed).sample(list(all_archs()), 6):
        model = NB201Network(arch, macro)
        cost = network_cost(arch, macro)
        assert count_params(model) == cost.params, arch
        assert count_flops(model, torch.randn(1, 1, 8, 8)) == cost.flops, arch


def test_full_size_nb201_network_has_the_published_size():
    arch = parse_arch(GOOD_CELL)
    model = NB201Network(arch, Macro())
    assert count_params(model) == network_cost(arch).params
    assert count_flops(model, torch.randn(1, 3, 32, 32)) == network_cost(arch).flops
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_all_none_cell_outputs_zeros():
    cell = Cell(parse_arch("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), 4)
    assert torch.count_nonzero(cell(torch.randn(2, 4, 8, 8))) == 0


def test_supernet_path_computes_the_same_function_as_the_cell_with_its_weights():
    torch.manual_seed(0)
    macro = Macro(channels=4, cells_per_stage=1, num_classes=10, input_channels=1, input_size=8)
    supernet = NB201SuperNet(macro)
    arch = parse_arch(GOOD_CELL)
    net = NB201Network(arch, macro)
    # copy the path's weights into the stand-alone network (BN in train mode: batch statistics in both)
    sd = {}
    for name, tensor in supernet.state_dict().items():
        parts = name.split(".")
        if parts[0] == "layers" and parts[2] == "edges":
            edge, op = int(parts[3]), int(parts[4])
            if op != arch.codes[edge]:
                continue
            name = ".".join(parts[:4] + parts[5:])
        sd[name] = tensor
    missing = net.load_state_dict(sd, strict=False)
    assert not [k for k in missing.missing_keys if "running" not in k and "num_batches" not in k]
    x = torch.randn(16, 1, 8, 8)
    net.train()
    supernet.train()
    assert torch.allclose(net(x), supernet(x, arch), atol=1e-5)


def test_supernet_holds_every_op_once_per_edge():
    macro = Macro(channels=4, cells_per_stage=1, num_classes=10, input_channels=1, input_size=8)
    supernet = NB201SuperNet(macro)
    conv3 = parse_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    conv1 = parse_arch("|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|")
    empty = parse_arch("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    expected = network_cost(conv3, macro).params + network_cost(conv1, macro).params - network_cost(empty, macro).params
    assert count_params(supernet) == expected


def test_sampled_paths_are_deterministic_and_cover_the_ops():
    paths = [sample_arch(3, s) for s in range(200)]
    assert paths == [sample_arch(3, s) for s in range(200)]
    assert paths != [sample_arch(4, s) for s in range(200)]
    used = {op for p in paths for op in p.ops}
    assert len(used) == 5
