"""ds.nn.fuse_layers: eval-mode Conv/Linear→BatchNorm folding, against the unfused model and
against torch.nn.utils.fusion on the same weights."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

import deepseek as ds
from deepseek.nn.utils import fusion

nn = ds.nn
TOL = {"float32": 1e-5, "float64": 1e-12}


def _randomize_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random running statistics and affine parameters, so the folding is not the identity."""
    rng = np.random.default_rng(seed)
    with ds.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) and \
                    m.running_mean is not None:
                n = m.num_features
                dtype = m.running_mean.dtype
                m.running_mean.copy_(ds.tensor(rng.standard_normal(n)).to(dtype))
                m.running_var.copy_(ds.tensor(rng.uniform(0.2, 3.0, n)).to(dtype))
                if m.weight is not None:
                    m.weight.copy_(ds.tensor(rng.standard_normal(n)).to(dtype))
                    m.bias.copy_(ds.tensor(rng.standard_normal(n)).to(dtype))
    return model.eval()


class _Block(nn.Module):
    """A Sequential nested in a plain module, as a ResNet shortcut."""

    def __init__(self) -> None:
        super().__init__()
        self.short = nn.Sequential(nn.Conv2d(4, 6, 1, bias=False), nn.BatchNorm2d(6))
        self.main = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1, groups=2), nn.BatchNorm2d(6),
                                  nn.ReLU())

    def forward(self, x):
        return self.main(x) + self.short(x)


CASES = {
    "conv1d": (lambda: nn.Sequential(nn.Conv1d(3, 5, 3), nn.BatchNorm1d(5), nn.ReLU()),
               (2, 3, 9), 1),
    "conv2d-no-bias": (lambda: nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, bias=False),
                                             nn.BatchNorm2d(4, affine=False)), (2, 3, 8, 8), 1),
    "conv3d": (lambda: nn.Sequential(nn.Conv3d(2, 3, 2), nn.BatchNorm3d(3)), (1, 2, 4, 4, 4), 1),
    "linear": (lambda: nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(),
                                     nn.Linear(5, 4, bias=False), nn.BatchNorm1d(4)), (7, 6), 2),
    "nested": (lambda: nn.Sequential(_Block(), nn.Sequential(nn.Conv2d(6, 3, 1),
                                                             nn.BatchNorm2d(3))), (2, 4, 5, 5), 3),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_match_the_unfused_model(case: str, dtype: str) -> None:
    build, shape, count = CASES[case]
    model = _randomize_norms(build().to(getattr(ds, dtype)))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    fused = ds.nn.fuse_layers(model)

    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    assert sum(isinstance(m, norms) for m in fused.modules()) == \
        sum(isinstance(m, norms) for m in model.modules()) - count
    assert sum(isinstance(m, nn.Identity) for m in fused.modules()) == count
    assert sum(isinstance(m, nn.ReLU) for m in fused.modules()) == \
        sum(isinstance(m, nn.ReLU) for m in model.modules())
    x = ds.tensor(np.random.default_rng(1).standard_normal(shape).astype(dtype))
    with ds.no_grad():
        ours, reference = fused(x), model(x)
    assert ours.dtype == reference.dtype == getattr(ds, dtype)
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=TOL[dtype],
                               atol=TOL[dtype], err_msg=f"fuse_layers {case} {dtype}")
    for k, v in model.state_dict().items():  # the input model is untouched
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


@pytest.mark.parametrize("kind", ["conv", "conv-nobias", "conv-transpose", "linear",
                                  "linear-one-feature"])
def test_matches_torch_fusion(kind: str) -> None:
    """fuse_layers and ds.nn.utils.fusion's functions against torch.nn.utils.fusion's: values,
    shapes, dtypes and which parameters require gradients."""
    layers = {
        "conv": lambda nn: (nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)),
        "conv-nobias": lambda nn: (nn.Conv1d(3, 4, 3, bias=False), nn.BatchNorm1d(4)),
        "conv-transpose": lambda nn: (nn.ConvTranspose2d(3, 4, 3), nn.BatchNorm2d(4)),
        "linear": lambda nn: (nn.Linear(3, 4), nn.BatchNorm1d(4)),
        "linear-one-feature": lambda nn: (nn.Linear(3, 4), nn.BatchNorm1d(1)),
    }[kind]
    ours = _randomize_norms(ds.nn.Sequential(*layers(ds.nn)))
    theirs = torch.nn.Sequential(*layers(torch.nn)).eval()
    theirs.load_state_dict({k: torch.tensor(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    linear = kind.startswith("linear")
    ours_fuse, torch_fuse = ((fusion.fuse_linear_bn_eval, fuse_linear_bn_eval) if linear else
                             (fusion.fuse_conv_bn_eval, fuse_conv_bn_eval))
    extra = {"transpose": True} if kind == "conv-transpose" else {}
    expected = torch_fuse(theirs[0], theirs[1], **extra)
    candidates = [ours_fuse(ours[0], ours[1], **extra)]
    if kind in ("conv", "linear"):
        candidates.append(ds.nn.fuse_layers(ours)[0])
    for fused in candidates:
        for name in ("weight", "bias"):
            a, b = getattr(fused, name), getattr(expected, name)
            assert tuple(a.shape) == tuple(b.shape) and str(a.dtype).split(".")[-1] == str(
                b.dtype).split(".")[-1]
            assert a.requires_grad == b.requires_grad, name
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6,
                                       atol=1e-6, err_msg=name)
    assert ours[0].weight is not candidates[0].weight  # a copy: the original is untouched


def test_fusion_functions_refuse_training_mode() -> None:
    conv, bn = ds.nn.Conv2d(2, 2, 1), ds.nn.BatchNorm2d(2)
    with pytest.raises(AssertionError, match="Fusion only for eval"):
        fusion.fuse_conv_bn_eval(conv, bn)
    with pytest.raises(AssertionError, match="bn.num_features must be 1"):
        fusion.fuse_linear_bn_eval(ds.nn.Linear(2, 3).eval(), ds.nn.BatchNorm1d(2).eval())


def test_left_alone() -> None:
    """Not foldable: BatchNorm first, BatchNorm without running statistics, a ConvTranspose,
    and a Conv/BatchNorm pair that is not inside a Sequential."""
    model = _randomize_norms(nn.Sequential(
        nn.BatchNorm1d(3), nn.Conv1d(3, 3, 1), nn.BatchNorm1d(3, track_running_stats=False),
        nn.ConvTranspose1d(3, 3, 1), nn.BatchNorm1d(3)))
    fused = ds.nn.fuse_layers(model)
    assert [type(m).__name__ for m in fused] == [type(m).__name__ for m in model]
    block = _Block()
    block.extra = nn.Conv2d(6, 6, 1)
    block.extra_norm = nn.BatchNorm2d(6)
    fused = ds.nn.fuse_layers(_randomize_norms(block))
    assert isinstance(fused.extra_norm, nn.BatchNorm2d)
    assert isinstance(fused.main[1], nn.Identity) and isinstance(fused.short[1], nn.Identity)


def test_training_mode_is_refused() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with pytest.raises(RuntimeError, match=r"Sequential is in training mode; call model\.eval"):
        ds.nn.fuse_layers(model)
    model.eval()
    model[1].train()
    with pytest.raises(RuntimeError, match="1 is in training mode"):
        ds.nn.fuse_layers(model)
    with pytest.raises(TypeError, match="expected a Module"):
        ds.nn.fuse_layers([model])
    assert ds.nn.utils.fuse_layers is ds.nn.fuse_layers


def test_docstring_example() -> None:
    failures, _ = doctest.testmod(fusion, extraglobs={"ds": ds}, report=True)
    assert failures == 0
