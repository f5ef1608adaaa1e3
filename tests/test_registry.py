"""The op registry is complete: every primitive has its rules, an OpInfo row, and (when
elementwise) a scalar expression that agrees with its forward."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from deepseek.ops import REGISTRY, verify_registry
from deepseek.ops import _scalar
from opinfo import all_rows

# attrs an elementwise op needs to be evaluated, and input domains where it is finite
ATTRS = {"_to_copy": {"dtype": np.dtype(np.float64)}, "round": {"decimals": 0},
         "logit": {"eps": None}, "nan_to_num": {"nan": 0.0, "posinf": None, "neginf": None},
         "hardtanh": {"min_val": -1.0, "max_val": 1.0}, "leaky_relu": {"negative_slope": 0.01},
         "elu": {"alpha": 1.0, "scale": 1.0, "input_scale": 1.0},
         "softplus": {"beta": 1.0, "threshold": 20.0}, "softshrink": {"lambd": 0.5},
         "hardshrink": {"lambd": 0.5}, "threshold": {"threshold": 0.5, "value": -1.0}}
# ops whose expr has a branch per value of an attribute: each branch is checked
VARIANTS = {"gelu": [{"approximate": "none"}, {"approximate": "tanh"}],
            "gelu_backward": [{"approximate": "none"}, {"approximate": "tanh"}]}
DOMAIN = {"log": (0.1, 3), "log2": (0.1, 3), "log10": (0.1, 3), "log1p": (-0.5, 3),
          "sqrt": (0.1, 3), "rsqrt": (0.1, 3), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9),
          "logit": (0.05, 0.95), "erfinv": (-0.9, 0.9), "reciprocal": (0.2, 3),
          "div": (0.5, 3), "xlogy": (0.2, 3), "pow": (0.5, 2), "fmod": (0.5, 3), "remainder": (0.5, 3),
          "floor_divide": (0.5, 3)}
INTEGER_ONLY = ("bitwise_",)


def test_every_op_has_its_rules():
    assert verify_registry() == []


def test_every_op_has_an_opinfo_row():
    covered = {name for row in all_rows() for name in (row.ops or (row.name,))}
    missing = sorted(set(REGISTRY) - covered)
    assert not missing, f"ops without an OpInfo row: {missing}"


def _arity(op) -> int:
    return max(int(i) for i in re.findall(r"\{(\d+)\}", op.expr)) + 1


@pytest.mark.parametrize("name, attrs", [
    (n, attrs) for n, op in sorted(REGISTRY.items()) if op.kind == "elementwise"
    for attrs in VARIANTS.get(n, [ATTRS.get(n, {})])])
def test_expr_matches_forward(name, attrs):
    op = REGISTRY[name]
    rng = np.random.default_rng(0)
    lo, hi = DOMAIN.get(name, (-2, 2))
    env = {"math": math, "_scalar": _scalar, "abs": abs, "min": min, "max": max,
           "round": round}
    for _ in range(5):
        if name.startswith(INTEGER_ONLY):
            values = [int(v) for v in rng.integers(-8, 8, _arity(op))]
            arrays = [np.asarray(v, dtype=np.int64) for v in values]
        else:
            values = [float(v) for v in rng.uniform(lo, hi, _arity(op))]
            if name == "where":
                values[0] = values[0] > 0
            arrays = [np.asarray(v, dtype=np.bool_ if isinstance(v, bool) else np.float64)
                      for v in values]
        want = op.forward(np, *arrays, **attrs)
        text = op.expr.format(*(repr(v) for v in values), **{k: repr(v) for k, v in
                                                             attrs.items()})
        got = eval(text, env)  # noqa: S307  (our own registry's expressions)
        if np.asarray(want).dtype == np.bool_:
            assert bool(got) == bool(want), f"{name}: expr {text} -> {got}, forward {want}"
        else:
            np.testing.assert_allclose(float(got), float(want), rtol=1e-12, atol=1e-12,
                                       err_msg=f"{name}: expr {text!r}")
