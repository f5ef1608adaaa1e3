"""Window functions, histogram/histogramdd and gradient against PyTorch on the same inputs."""

import numpy as np
import pytest
import torch

import deepseek as ds
from deepseek.ops._opdef import TENSOR_METHODS
from deepseek.ops.histogram import histogram, histogramdd
from deepseek.ops.numeric import gradient
from deepseek.signal import windows

DTYPES = [("float32", 1e-6), ("float64", 1e-13)]
LENGTHS = [0, 1, 2, 3, 8, 101]


def check(name, ours, ref, atol, rtol=0.0):
    """Shape, then dtype, then values; a failure names the case and the tolerance."""
    ref = ref.detach()
    assert tuple(ours.shape) == tuple(ref.shape), f"{name}: shape {ours.shape} vs {ref.shape}"
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], (
        f"{name}: dtype {ours.dtype} vs {ref.dtype}")
    np.testing.assert_allclose(ours.detach().numpy().astype(np.float64),
                               ref.double().numpy(), rtol=rtol, atol=atol,
                               err_msg=f"{name} (atol={atol}, rtol={rtol})")


# ---------------------------------------------------------------- torch.*_window
TOP = [("hann_window", {}), ("hamming_window", {}),
       ("hamming_window", {"alpha": 0.5, "beta": 0.3}), ("blackman_window", {}),
       ("bartlett_window", {}), ("kaiser_window", {}), ("kaiser_window", {"beta": 4.0})]


@pytest.mark.parametrize("dtype,atol", DTYPES)
@pytest.mark.parametrize("name,kw", TOP)
def test_window_factories_match_torch(name, kw, dtype, atol):
    for n in LENGTHS:
        for periodic in (True, False):
            ours = getattr(windows, name)(n, periodic, dtype=getattr(ds, dtype), **kw)
            ref = getattr(torch, name)(n, periodic, dtype=getattr(torch, dtype), **kw)
            check(f"{name}({n}, periodic={periodic}, {kw})", ours, ref, atol)


@pytest.mark.parametrize("dtype,atol", [("float16", 1e-3), ("bfloat16", 8e-3)])
def test_window_factories_low_precision_are_rounded_once(dtype, atol):
    # PyTorch computes these in the low dtype (off by a few ulps); ours rounds float64 once,
    # so compare with its float64 window rounded to the dtype, to one ulp at 1.0
    for name, kw in TOP:
        ours = getattr(windows, name)(16, True, dtype=getattr(ds, dtype), **kw)
        ref = getattr(torch, name)(16, True, dtype=torch.float64, **kw).to(getattr(torch, dtype))
        check(f"{name}(16) {dtype}", ours, ref, atol)


def test_window_factory_defaults_and_options():
    w = windows.hann_window(5, requires_grad=True, layout=ds.strided, device="cpu")
    assert w.dtype == ds.float32 and w.requires_grad and w.is_leaf and w.device.type == "cpu"
    ds.set_default_dtype(ds.float64)
    try:
        assert windows.blackman_window(4).dtype == ds.float64
    finally:
        ds.set_default_dtype(ds.float32)
    check("hann_window periodic == hann sym=False", windows.hann_window(7),
          torch.signal.windows.hann(7, sym=False), 1e-6)


@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window",
                                  "bartlett_window", "kaiser_window"])
def test_window_factory_errors(name):
    fn = getattr(windows, name)
    with pytest.raises(RuntimeError, match=rf"\[{name}\] {name} requires non-negative "
                                           r"window_length, got window_length=-1"):
        fn(-1)
    with pytest.raises(RuntimeError, match=rf"{name} expects floating point dtypes.*int64"):
        fn(3, dtype=ds.int64)
    with pytest.raises(TypeError, match=rf"{name}\(\): argument 'window_length' must be int, "
                                        r"not float"):
        fn(3.0)
    with pytest.raises(TypeError, match="argument 'periodic' must be bool"):
        fn(3, 1)


# ---------------------------------------------------------------- torch.signal.windows
SIGNAL = [("hann", {}), ("hamming", {}), ("blackman", {}), ("bartlett", {}), ("nuttall", {}),
          ("cosine", {}), ("kaiser", {}), ("kaiser", {"beta": 2.5}), ("gaussian", {}),
          ("gaussian", {"std": 3.5}), ("exponential", {}), ("exponential", {"tau": 2.5}),
          ("general_cosine", {"a": [0.4, 0.35, 0.25]}), ("general_cosine", {"a": (1.0,)}),
          ("general_hamming", {}), ("general_hamming", {"alpha": 0.7})]


@pytest.mark.parametrize("name,kw", SIGNAL)
def test_signal_windows_match_torch(name, kw):
    for n in LENGTHS:
        for sym in (True, False):
            case = f"{name}({n}, sym={sym}, {kw})"
            ref64 = getattr(torch.signal.windows, name)(n, sym=sym, dtype=torch.float64, **kw)
            check(case, getattr(windows, name)(n, sym=sym, dtype=ds.float64, **kw), ref64, 1e-13)
            ours = getattr(windows, name)(n, sym=sym, **kw)
            # float32: rounded once from float64 (PyTorch's float32 arithmetic drifts by up to
            # ~1e-5 for the Gaussian and exponential windows, so its float64 one is the reference)
            check(case + " float32", ours, ref64.float(), 1.2e-7)
            ref32 = getattr(torch.signal.windows, name)(n, sym=sym, **kw)
            check(case + " vs torch float32", ours, ref32, 1e-5)


def test_exponential_center():
    for n in (1, 4, 9):
        check(f"exponential({n}, center=1.5)",
              windows.exponential(n, sym=False, center=1.5, tau=2.0, dtype=ds.float64),
              torch.signal.windows.exponential(n, sym=False, center=1.5, tau=2.0,
                                               dtype=torch.float64), 1e-13)


def test_signal_window_options():
    w = windows.gaussian(4, std=2.0, requires_grad=True, device="cpu")
    assert w.requires_grad and w.dtype == ds.float32


@pytest.mark.parametrize("name,kw", SIGNAL)
def test_signal_window_errors(name, kw):
    fn = getattr(windows, name)
    with pytest.raises(ValueError, match=rf"\[{name}\] {name} requires non-negative window "
                                         r"length, got M=-1"):
        fn(-1, **kw)
    for bad in (ds.int64, ds.float16):
        with pytest.raises(ValueError, match=rf"{name} expects float32 or float64 dtypes"):
            fn(3, dtype=bad, **kw)
    with pytest.raises(TypeError, match=rf"\[{name}\] M must be an int, got float"):
        fn(3.0, **kw)


def test_signal_window_parameter_errors():
    with pytest.raises(ValueError, match=r"\[gaussian\] Standard deviation must be positive"):
        windows.gaussian(3, std=0.0)
    with pytest.raises(ValueError, match=r"\[exponential\] Tau must be positive"):
        windows.exponential(3, tau=-1.0)
    with pytest.raises(ValueError, match="Center must be None for symmetric windows"):
        windows.exponential(3, center=1.0)
    with pytest.raises(ValueError, match=r"\[kaiser\] beta must be non-negative"):
        windows.kaiser(3, beta=-1.0)
    with pytest.raises(TypeError, match="Coefficients must be a list/tuple"):
        windows.general_cosine(3, a=3)
    with pytest.raises(ValueError, match="Coefficients cannot be empty"):
        windows.general_cosine(3, a=[])


# ---------------------------------------------------------------- histogram
def _pair(rng, shape, dtype):
    a = rng.normal(size=shape).astype(dtype)
    return ds.tensor(a), torch.tensor(a)


def check_edges(case, ours, ref, dtype):
    # ds.linspace can differ from torch.linspace (which rounds once, with an FMA) by an ulp
    # of the range's ends
    atol = 2 * np.finfo(dtype).eps * float(ref.abs().max()) if ref.numel() else 0.0
    check(case + " bin_edges", ours, ref, atol)


def check_hist(case, ours, ref, dtype, rounded=False):
    """Counts match exactly; weighted sums and densities to rounding (sums of either sign)."""
    check_edges(case, ours[1], ref[1], dtype)
    atol = 16 * np.finfo(dtype).eps * float(ref[0].abs().max()) if rounded else 0.0
    check(case + " hist", ours[0], ref[0], atol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_histogram_matches_torch(dtype):
    rng = np.random.default_rng(0)
    x, tx = _pair(rng, (7, 30), dtype)
    w, tw = _pair(rng, (7, 30), dtype)
    cases = [({"bins": 10}, {}), ({"bins": 7, "range": (-1.0, 0.5)}, {}),
             ({"bins": 5, "density": True}, {}), ({"bins": 6}, {"weight": True}),
             ({"bins": 6, "range": (-2.0, 2.0), "density": True}, {"weight": True})]
    for kw, extra in cases:
        ours = histogram(x, **kw, **({"weight": w} if extra else {}))
        ref = torch.histogram(tx, **kw, **({"weight": tw} if extra else {}))
        check_hist(f"histogram({kw}, {extra}) {dtype}", ours, ref, dtype,
                   bool(extra) or "density" in kw)
    edges = np.array([-2.0, -0.5, 0.0, 0.1, 1.5], dtype)
    ours = histogram(x, ds.tensor(edges), weight=w, density=True)
    ref = torch.histogram(tx, torch.tensor(edges), weight=tw, density=True)
    check_hist(f"histogram(edges tensor) {dtype}", ours, ref, dtype, True)


def test_histogram_edge_cases():
    x = ds.tensor([0.0, 1.0, 2.0, 3.0, 3.0, -1.0, 4.0, float("nan")])
    tx = torch.tensor(x.numpy())
    for bins in (3, ds.tensor([0.0, 1.0, 2.0, 3.0])):
        tbins = bins if isinstance(bins, int) else torch.tensor(bins.numpy())
        kw = {"range": (0.0, 3.0)} if isinstance(bins, int) else {}
        ours, ref = histogram(x, bins, **kw), torch.histogram(tx, tbins, **kw)
        check_hist(f"histogram(edges, {bins})", ours, ref, "float32")
        assert ours.hist.numpy().tolist() == [1.0, 1.0, 3.0]  # right-most edge inclusive
    for data in ([1.0, 1.0], [], [2.5]):  # degenerate ranges widen by 0.5; empty is [0, 1]
        check_hist(f"histogram({data})", histogram(ds.tensor(data), 4),
                   torch.histogram(torch.tensor(data), 4), "float32")
    check_hist("histogram(0-d)", histogram(ds.tensor(1.5), 3),
               torch.histogram(torch.tensor(1.5), 3), "float32")
    check_hist("histogram(range=(1, 1))", histogram(ds.tensor([1.0, 2.0]), 4, range=(1.0, 1.0)),
               torch.histogram(torch.tensor([1.0, 2.0]), 4, range=(1.0, 1.0)), "float32")
    result = histogram(ds.tensor([1.0, 2.0, 1.0]), 2)
    assert type(result).__name__ == "histogram" and result._fields == ("hist", "bin_edges")
    assert histogram(ds.tensor([1.0, 2.0], requires_grad=True), 2).hist.requires_grad is False
    assert TENSOR_METHODS["histogram"] is histogram


def test_histogram_errors():
    x = ds.tensor([1.0, 2.0])
    with pytest.raises(NotImplementedError, match=r'\[histogram\] "histogramdd" not '
                                                  r"implemented for 'deepseek.int64'"):
        histogram(ds.tensor([1, 2]), 3)
    with pytest.raises(RuntimeError, match=r"bins must be > 0, but got 0 for dimension 0"):
        histogram(x, 0)
    with pytest.raises(RuntimeError, match=r"bins must be > 0, but got 0 for dimension 0"):
        histogram(x, ds.tensor([1.0]))
    with pytest.raises(RuntimeError, match="min should not exceed max, but got min 3 max 1"):
        histogram(x, 3, range=(3.0, 1.0))
    with pytest.raises(RuntimeError, match=r"dimension 0's range \[1, inf\] is not finite"):
        histogram(ds.tensor([1.0, float("inf")]), 3)
    with pytest.raises(RuntimeError, match=r"range \[nan, nan\] is not finite"):
        histogram(ds.tensor([1.0, float("nan")]), 3)
    with pytest.raises(RuntimeError, match=r"same shape as the input tensor, but got input with "
                                           r"shape \[2\] and weight with shape \[1\]"):
        histogram(x, 3, weight=ds.tensor([1.0]))
    with pytest.raises(RuntimeError, match=r"input\(deepseek.float32\), and "
                                           r"weight\(deepseek.float64\)"):
        histogram(x, 3, weight=ds.tensor([1.0, 2.0], dtype=ds.float64))
    with pytest.raises(RuntimeError, match="input tensor and bins tensors should have the same "
                                           "dtype"):
        histogram(x, ds.tensor([0.0, 1.0], dtype=ds.float64))
    with pytest.raises(RuntimeError, match="bins tensor should have one dimension, but got 2"):
        histogram(x, ds.tensor([[0.0, 1.0]]))
    with pytest.raises(RuntimeError, match="should have at least 1 element"):
        histogram(x, ds.tensor([]))
    with pytest.raises(TypeError, match="range cannot be given with bins as tensors"):
        histogram(x, ds.tensor([0.0, 1.0]), range=(0.0, 1.0))
    with pytest.raises(TypeError, match=r"\[histogram\] histogram\(\): bins must be an int"):
        histogram(x, 2.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_histogramdd_matches_torch(dtype):
    rng = np.random.default_rng(1)
    x, tx = _pair(rng, (40, 3), dtype)
    w, tw = _pair(rng, (40,), dtype)
    edges = [np.array(e, dtype) for e in ([-1.0, 0.0, 1.0], [-2.0, -0.2, 0.3, 2.0], [-3.0, 3.0])]
    cases = [(3, {}), ([2, 3, 4], {}), ([2, 3, 4], {"range": [-1.0, 1.0, -2, 2, 0.0, 0.5]}),
             (4, {"weight": True, "density": True}),
             (edges, {"weight": True}), (edges, {"density": True})]
    for bins, kw in cases:
        dbins = [ds.tensor(e) for e in bins] if isinstance(bins, list) and isinstance(
            bins[0], np.ndarray) else bins
        tbins = [torch.tensor(e) for e in bins] if dbins is not bins else bins
        weighted = kw.pop("weight", False)
        ours = histogramdd(x, dbins, weight=w if weighted else None, **kw)
        ref = torch.histogramdd(tx, tbins, weight=tw if weighted else None, **kw)
        case = f"histogramdd({bins}, {kw}, weight={weighted}) {dtype}"
        rounded = weighted or "density" in kw
        atol = 16 * np.finfo(dtype).eps * float(ref.hist.abs().max()) if rounded else 0.0
        check(case + " hist", ours.hist, ref.hist, atol)
        assert len(ours.bin_edges) == len(ref.bin_edges) == 3
        for e, te in zip(ours.bin_edges, ref.bin_edges):
            check_edges(case, e, te, dtype)
    y, ty = _pair(rng, (2, 5, 2), dtype)  # leading dimensions are flattened into points
    ours, ref = histogramdd(y, [2, 3]), torch.histogramdd(ty, [2, 3])
    check(f"histogramdd(3-d input) {dtype}", ours.hist, ref.hist, 0.0)
    assert type(ours).__name__ == "histogramdd" and isinstance(ours.bin_edges, tuple)


def test_histogramdd_errors():
    x = ds.tensor([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(RuntimeError, match="input tensor should have at least 2 dimensions"):
        histogramdd(ds.tensor([1.0, 2.0]), 3)
    with pytest.raises(RuntimeError, match="The size of bins must be equal to the innermost "
                                           "dimension of the input"):
        histogramdd(x, [2, 2, 2])
    with pytest.raises(RuntimeError, match="for a 2-dimensional histogram range should have 4 "
                                           "elements, but got 2"):
        histogramdd(x, [2, 2], range=[0.0, 1.0])
    with pytest.raises(RuntimeError, match="excluding its innermost dimension, but got input "
                                           r"with shape \[2, 2\] and weight with shape \[2, 1\]"):
        histogramdd(x, 2, weight=ds.ones(2, 1))
    with pytest.raises(TypeError, match="got a single Tensor"):
        histogramdd(x, ds.tensor([0.0, 1.0]))
    with pytest.raises(NotImplementedError, match="not implemented for 'deepseek.int64'"):
        histogramdd(ds.tensor([[1, 2]]), 2)
    with pytest.raises(RuntimeError, match="bins for dimension 1 with dtype deepseek.float64"):
        histogramdd(x, [ds.tensor([0.0, 1.0]), ds.tensor([0.0, 1.0], dtype=ds.float64)])


# ---------------------------------------------------------------- gradient
def _coords(rng, n, dtype):
    c = np.cumsum(rng.random(n) + 0.1).astype(dtype)
    return ds.tensor(c), torch.tensor(c)


@pytest.mark.parametrize("dtype,atol", DTYPES)
@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_matches_torch(dtype, atol, edge_order):
    rng = np.random.default_rng(2)
    x, tx = _pair(rng, (4, 7, 5), dtype)
    coords = [_coords(rng, n, dtype) for n in (4, 7, 5)]
    cases = [({}, {}), ({"spacing": 0.7}, {"spacing": 0.7}), ({"spacing": 2}, {"spacing": 2}),
             ({"spacing": [0.5, 2.0, 3]}, {"spacing": [0.5, 2.0, 3]}),
             ({"dim": 1, "spacing": [1.5]}, {"dim": 1, "spacing": [1.5]}),
             ({"dim": -1}, {"dim": -1}), ({"dim": (2, 0)}, {"dim": (2, 0)}),
             ({"spacing": [c for c, _ in coords]}, {"spacing": [t for _, t in coords]}),
             ({"dim": [1], "spacing": [coords[1][0]]}, {"dim": [1], "spacing": [coords[1][1]]})]
    for kw, tkw in cases:
        ours = gradient(x, edge_order=edge_order, **kw)
        ref = torch.gradient(tx, edge_order=edge_order, **tkw)
        assert isinstance(ours, tuple) and len(ours) == len(ref), f"gradient({kw})"
        for o, r in zip(ours, ref):
            check(f"gradient({list(kw)}, edge_order={edge_order}) {dtype}", o, r, atol,
                  rtol=atol)


def test_gradient_dtypes_and_small_inputs():
    ints = [0, 2**25 + 1, 2**26 + 4]  # integer samples differ in integers for edge_order=1
    for edge_order in (1, 2):
        for kw, tkw in (({}, {}), ({"spacing": 2}, {"spacing": 2}),
                        ({"spacing": [ds.tensor([0, 1, 3])]},
                         {"spacing": [torch.tensor([0, 1, 3])]})):
            (o,), (r,) = (gradient(ds.tensor(ints), edge_order=edge_order, **kw),
                          torch.gradient(torch.tensor(ints), edge_order=edge_order, **tkw))
            check(f"gradient(int64, {kw}, edge_order={edge_order})", o, r, 0.0)
    coords = ds.tensor([0.0, 1, 3], dtype=ds.float64)
    (o,), (r,) = (gradient(ds.tensor([1.0, 2, 4]), spacing=[coords]),
                  torch.gradient(torch.tensor([1.0, 2, 4]),
                                 spacing=[torch.tensor([0.0, 1, 3], dtype=torch.float64)]))
    check("gradient(float32 samples, float64 coordinates)", o, r, 1e-15)
    (o,), (r,) = gradient(ds.tensor([1.0, 3.0])), torch.gradient(torch.tensor([1.0, 3.0]))
    check("gradient(two samples)", o, r, 0.0)
    (o,), (r,) = (gradient(ds.tensor([1.0, 2, 4]), spacing=ds.tensor(2.0)),
                  torch.gradient(torch.tensor([1.0, 2, 4]), spacing=torch.tensor(2.0)))
    check("gradient(0-d tensor spacing)", o, r, 0.0)
    assert gradient(ds.tensor(1.0)) == ()
    (o,), (r,) = (gradient(ds.rand(1, 4), dim=1), torch.gradient(torch.rand(1, 4), dim=1))
    assert tuple(o.shape) == tuple(r.shape)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_backward_matches_torch(edge_order):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(5, 6))
    c = np.cumsum(rng.random(6) + 0.2)
    weights = [rng.normal(size=(5, 6)) for _ in range(2)]
    x, cx = ds.tensor(a, requires_grad=True), ds.tensor(c, requires_grad=True)
    tx, tc = torch.tensor(a, requires_grad=True), torch.tensor(c, requires_grad=True)
    ours = (gradient(x, dim=0, spacing=0.3, edge_order=edge_order)[0],
            gradient(x, dim=1, spacing=[cx], edge_order=edge_order)[0])
    ref = (torch.gradient(tx, dim=0, spacing=0.3, edge_order=edge_order)[0],
           torch.gradient(tx, dim=1, spacing=[tc], edge_order=edge_order)[0])
    sum(((g * ds.tensor(w)).sum() for g, w in zip(ours, weights)), ds.tensor(0.0)).backward()
    sum((g * torch.tensor(w)).sum() for g, w in zip(ref, weights)).backward()
    check(f"gradient backward input (edge_order={edge_order})", x.grad, tx.grad, 1e-12)
    check(f"gradient backward coordinates (edge_order={edge_order})", cx.grad, tc.grad, 1e-12)


def test_gradient_errors():
    x = ds.rand(3, 4)
    with pytest.raises(RuntimeError, match=r"\[gradient\] torch.gradient only supports "
                                           "edge_order=1 and edge_order=2"):
        gradient(x, edge_order=3)
    with pytest.raises(RuntimeError, match="expected each dimension size to be at least "
                                           r"edge_order\+1, got size 2 at dim 0"):
        gradient(ds.rand(2, 4), edge_order=2)
    with pytest.raises(RuntimeError, match="a list of length equal to 'self.dim\\(\\) = 2', "
                                           "since dim argument was not given, but got a list "
                                           "of length 1"):
        gradient(x, spacing=[2.0])
    with pytest.raises(RuntimeError, match="spacing argument of length 2 and a dim argument of "
                                           "length 1"):
        gradient(x, spacing=[1.0, 2.0], dim=0)
    with pytest.raises(RuntimeError, match="each element of spacing to have one dimension, but "
                                           "got an element with 2 dimensions"):
        gradient(x, spacing=[ds.rand(1, 4)], dim=1)
    with pytest.raises(RuntimeError, match="got 3 coordinates for a dimension of size 4"):
        gradient(x, spacing=[ds.rand(3)], dim=1)
    with pytest.raises(IndexError, match="Dimension out of range"):
        gradient(x, dim=2)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        gradient(x, dim=[0, 0])
    with pytest.raises(RuntimeError, match=r"\[gradient\] Subtraction.*bool"):
        gradient(ds.tensor([True, False, True]))
    with pytest.raises(TypeError, match="spacing must be a number"):
        gradient(x, spacing="a")
    with pytest.raises(TypeError, match="all numbers or all Tensors"):
        gradient(x, spacing=[1.0, ds.rand(4)])
