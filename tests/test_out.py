"""``out=`` and the factories' ``layout=``/``pin_memory=`` (deepseek/_options.py), against torch.

The table of functions taking ``out=`` is checked against torch's Python bindings, and every
function in it runs with ``out=`` on arguments both libraries accept, its result compared with
the plain call and with torch's ``out=`` call.
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest
import torch

import deepseek as ds
from deepseek._options import OUT_NAMES

NAMESPACES = {
    "deepseek": ("torch", ""),
    "deepseek.linalg": ("torch.linalg", "linalg."),
    "deepseek.special": ("torch.special", "special."),
    "deepseek.fft": ("torch.fft", "fft."),
}
RANDOM = {"bernoulli", "multinomial", "rand", "randn", "randint", "randperm", "normal"}


class _Bad:
    pass


def _torch_takes_out(f) -> bool | None:
    """Whether torch's ``f`` takes ``out=``: from its signature, or from the error its argument
    parser raises for an ``out`` of the wrong type (None: the probe could not tell)."""
    try:
        return "out" in inspect.signature(f).parameters
    except (ValueError, TypeError):
        pass
    t, verdict = torch.ones(2, 2), None
    for args in [(t,), (t, t), (t, 0), (t, t, t), ([t, t],), (2,), (2, 2), (t, 1, 1)]:
        try:
            f(*args, out=_Bad())
        except TypeError as e:
            s = str(e)
            if "unexpected keyword argument 'out'" in s:
                return False
            if "expected one of" in s:
                verdict = bool(re.search(r"\bout = None", s))
            elif "out" in s and "_Bad" in s:
                return True
        except Exception:  # noqa: BLE001  (any other failure: try other arguments)
            pass
    return verdict


def _module(name):
    return eval(name, {"torch": torch, "deepseek": ds})  # noqa: S307  (our own names)


@pytest.mark.parametrize("namespace", list(NAMESPACES))
def test_out_table_is_torchs(namespace):
    """A function takes ``out=`` here exactly when torch's of the same name does."""
    tname, _ = NAMESPACES[namespace]
    tmod, dmod = _module(tname), _module(namespace)
    warnings.simplefilter("ignore")
    wrong = []
    for n in sorted(dir(tmod)):
        f = getattr(tmod, n)
        if n.startswith("_") or not callable(f) or isinstance(f, type) or not hasattr(dmod, n):
            continue
        try:
            ours = "out" in inspect.signature(getattr(dmod, n)).parameters
        except (ValueError, TypeError):
            continue
        theirs = _torch_takes_out(f)
        if theirs is not None and theirs != ours:
            wrong.append(f"{n} (torch {'takes' if theirs else 'lacks'} out=)")
    assert not wrong, wrong


# ---------------------------------------------------------------- every function with out=
def _arrays():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (3, 3))
    return {
        "x": a @ a.T + 3 * np.eye(3),
        "v": rng.uniform(0.2, 0.9, 3),
        "i": rng.integers(1, 9, (3, 3)),
        "idx": np.array([[0, 2, 1], [1, 0, 2], [2, 1, 0]]),
        "row": np.array([2, 0]),
        "mask": a > 0,
        "c": a + 1j * a.T,
    }


def _candidates(lib, name):
    """Argument sets to try, in order; the first both libraries accept is the sample."""
    t = {k: lib.tensor(v) for k, v in _arrays().items()}
    x, v, i, idx, row, mask = t["x"], t["v"], t["i"], t["idx"], t["row"], t["mask"]
    cands = {
        "bernoulli": [(v,)],
        "multinomial": [(v, 2)],
        "polygamma": [(1, x)],
        "mvlgamma": [(x, 2)],
        "multigammaln": [(x, 2)],
        "complex": [(x, x)],
        "polar": [(x, x)],
        "bucketize": [(x, v.sort().values)],
        "searchsorted": [(v.sort().values, x)],
        "histogram": [(v, 3)],
        "histc": [(v,)],
        "lu_solve": [(x[:, :1],) + tuple(lib.linalg.lu_factor(x))],
        "linalg.lu_solve": [tuple(lib.linalg.lu_factor(x)) + (x[:, :1],)],
        "lu_unpack": [tuple(lib.linalg.lu_factor(x))],
        "orgqr": [tuple(lib.geqrf(x))],
        "householder_product": [tuple(lib.geqrf(x))],
        "ldl_solve": [tuple(lib.linalg.ldl_factor(x)) + (v[:, None],)],
        "lstsq": [(x, x)],
        "triangular_solve": [(x, x.triu())],
        "linalg.solve_triangular": [((x.triu(), x), {"upper": True})],
        "cholesky_solve": [(x, lib.linalg.cholesky(x))],
        "cholesky_inverse": [(lib.linalg.cholesky(x),)],
        "tensorsolve": [(x, v)],
        "tensorinv": [(x, 1)],
        "multi_dot": [([x, x, x],)],
        "cross": [(x, x.flip(0))],
        "vecdot": [(x, x)],
        "matrix_power": [(x, 3)],
        "gather": [(x, 1, idx)],
        "take_along_dim": [(x, idx, 1)],
        "take": [(x, row)],
        "index_select": [(x, 0, row)],
        "index_add": [(x, 0, row, x[:2])],
        "index_copy": [(x, 0, row, x[:2])],
        "index_reduce": [(x, 0, row, x[:2], "prod")],
        "scatter": [(x, 1, idx, x)],
        "scatter_add": [(x, 1, idx, x)],
        "scatter_reduce": [(x, 1, idx, x, "sum")],
        "masked_select": [(x, mask)],
        "slice_scatter": [(x, x[:1], 0, 0, 1)],
        "narrow_copy": [(x, 0, 1, 2)],
        "select_copy": [(x, 0, 1)],
        "slice_copy": [(x, 0, 0, 2)],
        "unfold_copy": [(x, 0, 2, 1)],
        "as_strided_copy": [(x, (2, 2), (1, 2))],
        "expand_copy": [(v, (2, 3))],
        "permute_copy": [(x, (1, 0))],
        "transpose_copy": [(x, 0, 1)],
        "split_copy": [(x, 2)],
        "split_with_sizes_copy": [(x, [1, 2])],
        "unbind_copy": [(x,)],
        "view_copy": [(x, (9,))],
        "squeeze_copy": [(x[None],)],
        "unsqueeze_copy": [(x, 0)],
        "view_as_real_copy": [(t["c"],)],
        "view_as_complex_copy": [(lib.stack([x, x], -1),)],
        "nonzero_static": [(mask,), ((mask,), {"size": 4})],
        "addcdiv": [(x, x, x)],
        "addcmul": [(x, x, x)],
        "addmm": [(x, x, x)],
        "addmv": [(v, x, v)],
        "addr": [(x, v, v)],
        "baddbmm": [(x[None], x[None], x[None])],
        "addbmm": [(x, x[None], x[None])],
        "bmm": [(x[None], x[None])],
        "mv": [(x, v)],
        "dot": [(v, v)],
        "vdot": [(v, v)],
        "ger": [(v, v)],
        "outer": [(v, v)],
        "inner": [(v, v)],
        "chain_matmul": [(x, x, x)],
        "kthvalue": [(x, 2)],
        "renorm": [(x, 2, 0, 1.0)],
        "lerp": [(x, x.flip(0), 0.3)],
        "threshold": [(x, 3.2, 0.0)],
        "hardshrink": [(x,)],
        "clamp": [(x, 3.0, 4.0)],
        "clip": [(x, 3.0, 4.0)],
        "clamp_min": [(x, 3.5)],
        "clamp_max": [(x, 3.5)],
        "quantile": [(x, 0.3)],
        "nanquantile": [(x, 0.3)],
        "diff": [(x,)],
        "isin": [(i, i[0])],
        "diag": [(x,)],
        "tril": [(x,)],
        "triu": [(x,)],
        "frexp": [(x,)],
        "ldexp": [(x, i)],
        "float_power": [(x, 2)],
        "xlog1py": [(x, x)],
        "zeta": [(x + 1, x)],
        "nan_to_num": [(x,)],
        "softmax": [(x, 0)],
        "log_softmax": [(x, 0)],
        "logsumexp": [(x, 0)],
        "logcumsumexp": [(x, 0)],
        "cumsum": [(x, 0)],
        "cumprod": [(x, 0)],
        "cummax": [(x, 0)],
        "cummin": [(x, 0)],
        "argsort": [((x,), {"stable": True})],
        "where": [(mask, x, x.flip(0))],
        "msort": [(x,)],
        "mode": [(i,)],
        "topk": [(x, 2)],
        "sort": [(x,)],
        "tensordot": [(x, x)],
        "kron": [(x, x)],
        "std": [(x,)],
        "var": [(x,)],
        "frobenius_norm": [(x, (0, 1))],
        "nuclear_norm": [(x,)],
        "cond": [(x,)],
        "pinv": [(x,)],
        "inv_ex": [(x,)],
        "solve_ex": [(x, x)],
        "solve": [(x, x)],
        "matrix_rank": [(x,)],
    }
    for k in (
        "chebyshev_polynomial_t chebyshev_polynomial_u chebyshev_polynomial_v "
        "chebyshev_polynomial_w hermite_polynomial_h hermite_polynomial_he "
        "laguerre_polynomial_l legendre_polynomial_p shifted_chebyshev_polynomial_t "
        "shifted_chebyshev_polynomial_u shifted_chebyshev_polynomial_v "
        "shifted_chebyshev_polynomial_w"
    ).split():
        cands[k] = [(v, 3)]
    generic = [(x,), (x, x), (x, 0), (i,), (i, i), ([x, x],), (v,), (v, v)]
    return [
        c if isinstance(c, tuple) and len(c) == 2 and isinstance(c[1], dict) else (c, {})
        for c in cands.get(name, cands.get(name.split(".")[-1], [])) + generic
    ]


def _call(f, args, kwargs, seed=0):
    ds.manual_seed(seed)
    torch.manual_seed(seed)
    return f(*args, **kwargs)


def _empties(lib, result):
    """Empty out tensors for ``result``: resized from 0 elements for one tensor; shaped as the
    results for several (torch's list-returning ops do not resize theirs)."""
    if isinstance(result, (tuple, list)):
        return [lib.empty_like(r) for r in result]
    return lib.empty(0, dtype=result.dtype)


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.numpy())


def _same(a, b, exact=True):
    a, b = (list(a), list(b)) if isinstance(a, (tuple, list)) else ([a], [b])
    assert len(a) == len(b)
    for p, q in zip(a, b):
        p, q = _np(p), _np(q)
        assert p.shape == q.shape
        if exact:
            np.testing.assert_array_equal(p, q)
        else:
            np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-8)


OUT_CASES = [(ns, n) for ns, names in OUT_NAMES.items() for n in names.split()]
# torch.solve, symeig, lstsq and matrix_rank were removed: calling them raises, out= or not
REMOVED = {"solve", "symeig", "lstsq", "matrix_rank"}
UNIQUE_UP_TO_SIGN = {"eigh"}  # eigenvectors: compared by magnitude with torch's


@pytest.mark.parametrize(
    "namespace,name", OUT_CASES, ids=[f"{NAMESPACES[ns][1]}{n}" for ns, n in OUT_CASES]
)
def test_out_writes_the_result(namespace, name):
    dmod, tmod = _module(namespace), _module(NAMESPACES[namespace][0])
    f, g = getattr(dmod, name), getattr(tmod, name)
    qualified = NAMESPACES[namespace][1] + name
    warnings.simplefilter("ignore")
    if namespace == "deepseek" and name in REMOVED:
        with pytest.raises(RuntimeError, match="removed"):
            f(ds.eye(2), ds.eye(2), out=ds.empty(0))
        return
    for (dargs, dkw), (targs, tkw) in zip(
        _candidates(ds, qualified), _candidates(torch, qualified)
    ):
        try:
            plain = _call(f, dargs, dkw)
            t_out = _empties(torch, _call(g, targs, tkw))
            theirs = _call(g, targs, {**tkw, "out": t_out})
            theirs = t_out if theirs is None else theirs  # torch's *_copy return None
        except Exception:  # noqa: BLE001  (not this function's arguments: try the next set)
            continue
        out = _empties(ds, plain)
        got = _call(f, dargs, {**dkw, "out": out})
        if isinstance(out, list):
            assert isinstance(got, tuple) and all(a is b for a, b in zip(got, out))
        else:
            assert got is out
        _same(got, plain)
        if name in UNIQUE_UP_TO_SIGN:
            got, theirs = [t.abs() for t in got], [t.abs() for t in theirs]
        if name not in RANDOM:
            _same(got, theirs, exact=False)
        return
    pytest.fail(f"no argument set runs {namespace}.{name} with out= on both libraries")


# ---------------------------------------------------------------- semantics
def test_out_casts_as_torch_and_refuses_what_torch_refuses():
    x = ds.tensor([1.5, 2.5])
    o64 = ds.empty(2, dtype=ds.float64)
    assert ds.add(x, x, out=o64) is o64 and o64.dtype is ds.float64
    assert o64.tolist() == [3.0, 5.0]
    oi = ds.empty(2, dtype=ds.int64)
    with pytest.raises(
        RuntimeError,
        match=r"\[add\] result type Float can't be cast to the "
        r"desired output type Long",
    ):
        ds.add(x, x, out=oi)
    assert ds.add(oi.zero_(), 1, out=ds.empty(2)).tolist() == [1.0, 1.0]  # int into float: fine
    with pytest.raises(TypeError, match=r"\[exp\] argument 'out' must be Tensor, not list"):
        ds.exp(x, out=[1.0, 2.0])


def test_out_resizes_with_torchs_warning_and_writes_views():
    x = ds.tensor([1.0, 2.0])
    big = ds.empty(5)
    with pytest.warns(
        UserWarning, match=r"\[exp\] An output with one or more elements was resized"
    ):
        ds.exp(x, out=big)
    assert big.shape == (2,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds.exp(x, out=ds.empty(0))
    base = ds.zeros(4)
    ds.exp(x, out=base[::2])  # a strided view is written through
    np.testing.assert_allclose(base.numpy(), [np.e, 0, np.e**2, 0], rtol=1e-6)
    a = ds.tensor([1.0, -2.0])
    assert ds.abs(a, out=a) is a and a.tolist() == [1.0, 2.0]  # out aliasing the input


def test_out_refuses_autograd_and_allows_it_under_no_grad():
    w = ds.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"\[mul\] functions with out=\.\.\. arguments don't "
        r"support automatic differentiation",
    ):
        ds.mul(w, 2, out=ds.empty(2))
    assert ds.eq(w, 1, out=ds.empty(2, dtype=ds.bool)).tolist() == [True, False]
    with ds.no_grad():
        o = ds.mul(w, 2, out=ds.empty(2))
    assert o.tolist() == [2.0, 4.0] and not o.requires_grad


def test_out_of_several_results_is_a_tuple_of_its_type():
    x = ds.tensor([[1.0, 5.0], [4.0, 2.0]])
    values, indices = ds.empty(0), ds.empty(0, dtype=ds.int64)
    got = ds.max(x, 1, out=(values, indices))
    assert type(got) is type(ds.max(x, 1)) and got.values is values and got.indices is indices
    assert values.tolist() == [5.0, 4.0] and indices.tolist() == [1, 0]
    assert ds.max(x, out=ds.empty(())).item() == 5.0  # the one-tensor overload
    with pytest.raises(TypeError, match=r"\[sort\] expected out to be a tuple of 2 Tensors"):
        ds.sort(x, out=ds.empty(0))


FACTORY_CALLS = {  # name: call(lib, **keywords)
    "zeros": lambda lib, **k: lib.zeros(3, **k),
    "ones": lambda lib, **k: lib.ones(3, **k),
    "empty": lambda lib, **k: lib.empty(3, **k),
    "full": lambda lib, **k: lib.full((3,), 2, **k),
    "arange": lambda lib, **k: lib.arange(3, **k),
    "range": lambda lib, **k: lib.range(0, 2, **k),
    "linspace": lambda lib, **k: lib.linspace(0, 1, 3, **k),
    "logspace": lambda lib, **k: lib.logspace(0, 1, 3, **k),
    "eye": lambda lib, **k: lib.eye(3, **k),
}


@pytest.mark.parametrize("name", list(FACTORY_CALLS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_factory_out_takes_its_dtype(name, dtype):
    """A factory given ``out=`` makes the out tensor's dtype, as torch's do."""
    warnings.simplefilter("ignore")
    call = FACTORY_CALLS[name]
    theirs = call(torch, out=torch.empty(0, dtype=getattr(torch, dtype)))
    out = ds.empty(0, dtype=getattr(ds, dtype))
    ours = call(ds, out=out)
    assert ours is out and ours.dtype is getattr(ds, dtype) and ours.shape == theirs.shape
    if name != "empty":
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_factory_out_refuses_another_dtype_and_keeps_requires_grad():
    with pytest.raises(
        RuntimeError,
        match=r"\[zeros\] dtype Long does not match dtype of out "
        r"parameter \(Float\)",
    ):
        ds.zeros(3, dtype=ds.int64, out=ds.empty(3))
    o = ds.empty(3)
    assert ds.zeros(3, out=o, requires_grad=True) is o and o.requires_grad


@pytest.mark.parametrize("name", ["rand", "randn", "randperm", "randint"])
def test_random_factory_out_draws_what_the_plain_call_draws(name):
    args = {"randperm": (5,), "randint": (0, 9, (5,))}.get(name, (5,))
    dtype = ds.int64 if name in ("randperm", "randint") else ds.float32
    ds.manual_seed(3)
    plain = getattr(ds, name)(*args)
    ds.manual_seed(3)
    o = ds.empty(5, dtype=dtype)
    assert getattr(ds, name)(*args, out=o) is o
    assert o.tolist() == plain.tolist()


_X = ds.ones(2)
LAYOUT_CALLS = {  # name: call(**keywords)
    "zeros": lambda **k: ds.zeros(2, **k),
    "ones": lambda **k: ds.ones(2, **k),
    "empty": lambda **k: ds.empty(2, **k),
    "full": lambda **k: ds.full((2,), 1.0, **k),
    "rand": lambda **k: ds.rand(2, **k),
    "randn": lambda **k: ds.randn(2, **k),
    "randint": lambda **k: ds.randint(3, (2,), **k),
    "randperm": lambda **k: ds.randperm(3, **k),
    "arange": lambda **k: ds.arange(3, **k),
    "linspace": lambda **k: ds.linspace(0, 1, 2, **k),
    "eye": lambda **k: ds.eye(2, **k),
    "zeros_like": lambda **k: ds.zeros_like(_X, **k),
    "empty_like": lambda **k: ds.empty_like(_X, **k),
    "rand_like": lambda **k: ds.rand_like(_X, **k),
    "randint_like": lambda **k: ds.randint_like(_X, 3, **k),
    "tril_indices": lambda **k: ds.tril_indices(3, 3, **k),
    "hann_window": lambda **k: ds.hann_window(4, **k),
    "empty_strided": lambda **k: ds.empty_strided((2,), (1,), **k),
    "fftfreq": lambda **k: ds.fft.fftfreq(4, **k),
    "scalar_tensor": lambda **k: ds.scalar_tensor(1.0, **k),
    "tensor": lambda **k: ds.tensor([1.0], **k),
    "new_zeros": lambda **k: _X.new_zeros(2, **k),
}


@pytest.mark.parametrize("name", list(LAYOUT_CALLS))
def test_factory_layout_and_pin_memory(name):
    """``layout=strided`` is accepted; pinned memory and other layouts raise, naming the
    function, where torch (without an accelerator) raises too."""
    call = LAYOUT_CALLS[name]
    assert isinstance(call(layout=ds.strided), ds.Tensor)
    with pytest.raises(RuntimeError, match=rf"\[{name}\] pin_memory=True requires"):
        call(pin_memory=True)
    with pytest.raises(RuntimeError, match=rf"\[{name}\] layout=deepseek.sparse_coo is not"):
        call(layout=ds.sparse_coo)


def test_signatures_show_the_keywords():
    assert "out" in inspect.signature(ds.add).parameters
    params = inspect.signature(ds.zeros).parameters
    assert {"out", "layout", "pin_memory"} <= set(params)
    assert "out" not in inspect.signature(ds.zeros_like).parameters
