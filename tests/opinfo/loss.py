"""Rows for the loss functions and distances (``nn.functional``)."""

from . import ALL_FLOAT, OpInfo, S, T
from .activation import first_grads


def F(name):
    """``fn`` calling ``lib.nn.functional.<name>`` with the sample's arguments."""
    return lambda lib, *args, _n=name, **kw: getattr(lib.nn.functional, _n)(*args, **kw)


def idx(shape, n_classes, values=None):
    return T(shape, 0, n_classes, dtype="int64", grad=False, values=values)


def fixed(shape, low=0.5, high=2.0):
    """A float argument the loss is not differentiated by (weights, PyTorch has no grad)."""
    return T(shape, low, high, grad=False)


_RED = ("none", "mean", "sum")


def reductions(*args, name="", **kwargs):
    return [S(*args, reduction=r, name=f"{name}{r}", **kwargs) for r in _RED]


def pointwise(name, low=-2.0, high=2.0, tlow=-2.0, thigh=2.0, target_grad=True, **kw):
    """A row for a loss of two same-shape tensors, over every reduction plus a 3-d sample."""
    def target(shape):
        return T(shape, tlow, thigh, grad=target_grad)

    samples = reductions(T((3, 4), low, high), target((3, 4))) + [
        S(T((2, 3, 2), low, high), target((2, 3, 2)), name="3d")]
    return OpInfo(name, F(name), samples, **kw)


def _weighted_sum(lib, loss):
    """A scalar that weighs each element of ``loss`` differently."""
    return (loss * lib.linspace(0.5, 2.0, loss.numel()).reshape(loss.shape)).sum()


_CE_SAMPLES = [
    *reductions(T((4, 5)), idx((4,), 5)),
    *reductions(T((2, 5, 3)), idx((2, 3), 5), name="spatial_"),
    *reductions(T((5,)), idx((), 5), name="unbatched_"),
    S(T((4, 5)), idx((4,), 5, [0, 4, -100, 2]), name="ignore_index"),
    S(T((4, 5)), idx((4,), 5, [1, 4, 3, 2]), fixed((5,)), ignore_index=3, name="weight_ignore"),
    *reductions(T((2, 5, 3)), idx((2, 3), 5, [[1, -100, 0], [4, 4, 2]]), fixed((5,)),
                name="weight_"),
    *reductions(T((4, 5)), idx((4,), 5, [0, 4, -100, 2]), fixed((5,)), label_smoothing=0.2,
                name="smoothing_"),
    *reductions(T((3, 5)), T((3, 5), 0, 1), name="probs_"),
    S(T((2, 4, 3)), T((2, 4, 3), 0, 1), fixed((4,)), label_smoothing=0.3,
      name="probs_weight_smoothing"),
]

ROWS = [
    OpInfo("cross_entropy", F("cross_entropy"), _CE_SAMPLES,
           ops=("cross_entropy_loss", "_class_loss_coefficient")),
    OpInfo("cross_entropy_first_grads",
           lambda lib, x, t, *w, **kw: first_grads(
               lib, lambda y: _weighted_sum(lib, lib.nn.functional.cross_entropy(y, t, *w, **kw)),
               None, x),
           [s for s in _CE_SAMPLES if "probs" not in s.name], ops=("_class_loss_backward",),
           dtypes=ALL_FLOAT, grad=False),
    OpInfo("cross_entropy_lowp", F("cross_entropy"), [S(T((4, 5)), idx((4,), 5)),
                                                      S(T((2, 5, 3)), idx((2, 3), 5))],
           ops=("cross_entropy_loss",), dtypes=ALL_FLOAT, grad=False),
    OpInfo("nll_loss", F("nll_loss"), [
        *reductions(T((4, 5), -3, 0), idx((4,), 5, [0, 4, -100, 2])),
        *reductions(T((2, 5, 3), -3, 0), idx((2, 3), 5), fixed((5,)), name="weight_"),
        S(T((5,), -3, 0), idx((), 5), name="unbatched")], ops=("nll_loss",)),
    OpInfo("binary_cross_entropy", F("binary_cross_entropy"), [
        *reductions(T((3, 4), 0.05, 0.95), T((3, 4), 0, 1)),
        S(T((2, 3), 0.05, 0.95), T((2, 3), 0, 1), fixed((3,)), name="weight")],
        ops=("log", "clamp", "mul", "sub")),
    OpInfo("binary_cross_entropy_with_logits", F("binary_cross_entropy_with_logits"), [
        *reductions(T((3, 4), -6, 6), T((3, 4), 0, 1)),
        S(T((2, 3), -6, 6), T((2, 3), 0, 1), fixed((3,)), name="weight")],
        ops=("exp", "log1p", "abs", "clamp")),
    OpInfo("binary_cross_entropy_with_logits_pos_weight",
           lambda lib, x, t, pw: lib.nn.functional.binary_cross_entropy_with_logits(
               x, t, pos_weight=pw), [S(T((3, 4), -6, 6), T((3, 4), 0, 1), fixed((4,)))]),
    pointwise("mse_loss", ops=("square", "sub", "mean", "sum")),
    pointwise("l1_loss"),
    pointwise("smooth_l1_loss", low=-3, high=3),
    OpInfo("smooth_l1_loss_beta", lambda lib, x, t: lib.nn.functional.smooth_l1_loss(
        x, t, beta=0.5), [S(T((3, 4), -3, 3), T((3, 4)))]),
    pointwise("huber_loss", low=-3, high=3),
    OpInfo("huber_loss_delta", lambda lib, x, t: lib.nn.functional.huber_loss(x, t, delta=0.4),
           [S(T((3, 4), -3, 3), T((3, 4)))]),
    pointwise("kl_div", low=-3, high=0, tlow=0.05, thigh=1),
    OpInfo("kl_div_batchmean_log_target", lambda lib, x, t: lib.nn.functional.kl_div(
        x, t, reduction="batchmean", log_target=True), [S(T((3, 4), -3, 0), T((3, 4), -3, 0))]),
    pointwise("soft_margin_loss", target_grad=False),
    pointwise("poisson_nll_loss", target_grad=False, tlow=0, thigh=4),
    OpInfo("poisson_nll_loss_full", lambda lib, x, t: lib.nn.functional.poisson_nll_loss(
        x, t, log_input=False, full=True), [S(T((3, 4), 0.2, 3), T((3, 4), 0, 4, grad=False))]),
    OpInfo("multilabel_soft_margin_loss", F("multilabel_soft_margin_loss"), [
        *reductions(T((3, 4)), T((3, 4), 0, 1, grad=False)),
        S(T((3, 4)), T((3, 4), 0, 1, grad=False), fixed((4,)), name="weight")]),
    OpInfo("gaussian_nll_loss", F("gaussian_nll_loss"), [
        *reductions(T((3, 4)), T((3, 4)), T((3, 4), 0.2, 2)),
        S(T((3, 4)), T((3, 4)), T((3,), 0.2, 2), full=True, name="homoscedastic_full"),
        S(T((3, 4)), T((3, 4)), T((3, 1), 0.2, 2), name="last_dim_1")]),
    OpInfo("hinge_embedding_loss", F("hinge_embedding_loss"), [
        *reductions(T((3, 4)), T((3, 4), values=[[1, -1, 1, -1]] * 3, grad=False)),
        S(T((3, 4)), T((3, 4), values=[[1, -1, -1, 1]] * 3, grad=False), margin=0.5,
          name="margin")]),
    OpInfo("margin_ranking_loss", F("margin_ranking_loss"), [
        *reductions(T((5,)), T((5,)), T((5,), values=[1, -1, 1, -1, 1], grad=False)),
        S(T((5,)), T((5,)), T((5,), values=[1, -1, -1, -1, 1], grad=False), margin=0.3,
          name="margin")]),
    OpInfo("cosine_embedding_loss", F("cosine_embedding_loss"), [
        *reductions(T((4, 3)), T((4, 3)), T((4,), values=[1, -1, 1, -1], grad=False)),
        S(T((4, 3)), T((4, 3)), T((4,), values=[-1, -1, 1, -1], grad=False), margin=0.2,
          name="margin")]),
    OpInfo("triplet_margin_loss", F("triplet_margin_loss"), [
        *reductions(T((4, 3)), T((4, 3)), T((4, 3))),
        S(T((4, 3)), T((4, 3)), T((4, 3)), p=1, swap=True, margin=0.5, name="p1_swap"),
        S(T((4, 3)), T((4, 3)), T((4, 3)), p=3, name="p3")], ops=("sqrt", "pow", "minimum")),
    OpInfo("pairwise_distance", F("pairwise_distance"), [
        S(T((4, 3)), T((4, 3))), S(T((4, 3)), T((3,)), p=1, keepdim=True, name="broadcast_p1"),
        S(T((2, 4, 3)), T((4, 3)), p=float("inf"), name="inf"), S(T((3,)), T((3,)), name="1d")],
        ops=("amax",)),
    OpInfo("cosine_similarity", F("cosine_similarity"), [
        S(T((4, 3)), T((4, 3))), S(T((2, 3, 4)), T((3, 1)), dim=-2, name="broadcast_dim")]),
    OpInfo("pdist", F("pdist"), [S(T((4, 3))), S(T((5, 2)), 1.5, name="p1.5")],
           ops=("index",)),
]
