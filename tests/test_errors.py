"""Bad inputs raise PyTorch's exception class, with a message that names the op."""

from __future__ import annotations

import pytest
import torch

import deepseek as ds

# name: (op named in the message, fn(lib)) — fn runs on deepseek and on torch
CASES = {
    "add_shapes": ("add", lambda lib: lib.ones(2, 3) + lib.ones(4)),
    "mul_shapes": ("mul", lambda lib: lib.mul(lib.ones(3), lib.ones(2))),
    "matmul_shapes": ("matmul", lambda lib: lib.ones(2, 3) @ lib.ones(4, 2)),
    "mm_1d": ("mm", lambda lib: lib.mm(lib.ones(3), lib.ones(3))),
    "cat_shapes": ("cat", lambda lib: lib.cat([lib.ones(2, 3), lib.ones(2, 4)])),
    "stack_shapes": ("stack", lambda lib: lib.stack([lib.ones(2), lib.ones(3)])),
    "sum_bad_dim": ("sum", lambda lib: lib.ones(2, 3).sum(dim=2)),
    "transpose_bad_dim": ("transpose", lambda lib: lib.ones(2, 3).transpose(0, 5)),
    "cat_bad_dim": ("cat", lambda lib: lib.cat([lib.ones(2), lib.ones(2)], dim=3)),
    "float_index": ("index", lambda lib: lib.ones(3)[1.0]),
    "float_tensor_index": ("index", lambda lib: lib.ones(3)[lib.tensor([1.0])]),
    "index_out_of_range": ("index", lambda lib: lib.ones(3)[5]),
    "mean_of_int": ("mean", lambda lib: lib.ones(3, dtype=lib.int64).mean()),
    "broadcast_to": ("expand", lambda lib: lib.broadcast_to(lib.ones(3), (2, 4))),
    "reshape_size": ("reshape", lambda lib: lib.ones(6).reshape(4, 2)),
    "add_string": ("add", lambda lib: lib.add(lib.ones(2), "a")),
    "gather_float_index": ("gather", lambda lib: lib.gather(lib.ones(3), 0, lib.tensor([1.0]))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_error_class_matches_torch_and_names_the_op(name):
    op, fn = CASES[name]
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(Exception) as got:
        fn(ds)
    assert isinstance(got.value, type(want.value)), (
        f"{name}: deepseek raised {type(got.value).__name__}, torch {type(want.value).__name__}")
    assert str(got.value).startswith(f"[{op}]"), f"{name}: {got.value}"
    assert "numpy" not in type(got.value).__module__


def test_backward_twice_error():
    x = ds.ones(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Specify retain_graph=True"):
        y.backward()


def test_grad_of_non_scalar_error():
    x = ds.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        ds.autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\]"):
        ds.autograd.grad(x * 2, x, grad_outputs=ds.ones(3))


def test_grad_of_input_without_requires_grad_error():
    x = ds.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ds.autograd.grad((x * 2).sum(), ds.ones(2))


def test_creation_errors():
    with pytest.raises(TypeError, match="could not infer dtype"):
        ds.tensor("abc")
    with pytest.raises(TypeError, match="expected a sequence of integers"):
        ds.zeros(2.5)
    with pytest.raises(RuntimeError):
        ds.device("tpu")


def test_inf_and_nan_are_results_not_warnings_as_torch():
    """NumPy's floating-point warnings stay silent in deepseek's ops, not in the user's NumPy
    (a fresh interpreter: pytest resets warning filters around each test)."""
    import subprocess
    import sys

    script = (
        "import numpy as np, deepseek as ds\n"
        "t = ds.tensor([float('inf'), -float('inf')])\n"
        "print((t * 0).tolist(), t.sum().item(), t.mean().item(), (ds.ones(1) / 0).tolist(),\n"
        "      ds.tensor([0.0, -1.0]).log().tolist(), t.softmax(0).tolist())\n"
        "try:\n"
        "    np.ones(1) / 0\n"
        "except RuntimeWarning:\n"
        "    print('user numpy warns')\n")
    out = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", script],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "[nan, nan] nan nan [inf] [-inf, nan] [nan, nan]", "user numpy warns"]
