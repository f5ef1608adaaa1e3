"""Rows for linear/bilinear maps, embeddings and one_hot (``nn.functional``)."""

from . import OpInfo, S, T


def F(name):
    return lambda lib, *args, _n=name, **kw: getattr(lib.nn.functional, _n)(*args, **kw)


def idx(shape, n, values=None):
    return T(shape, 0, n, dtype="int64", grad=False, values=values)


_BAG = idx((8,), 6, [1, 2, 2, 0, 5, 2, 4, 4])
_OFFSETS = idx((4,), 8, [0, 3, 3, 5])


def embedding(lib, indices, weight, **kwargs):
    return lib.nn.functional.embedding(indices, weight, **kwargs)


def bag(lib, indices, weight, offsets=None, psw=None, **kwargs):
    return lib.nn.functional.embedding_bag(indices, weight, offsets, per_sample_weights=psw,
                                           **kwargs)


ROWS = [
    OpInfo("linear", F("linear"), [
        S(T((3, 4)), T((5, 4)), T((5,))), S(T((2, 3, 4)), T((5, 4)), name="3d_no_bias"),
        S(T((4,)), T((5, 4)), T((5,)), name="1d"), S(T((3, 4)), T((4,)), name="1d_weight")],
        ops=("matmul", "add")),
    OpInfo("bilinear", F("bilinear"), [
        S(T((3, 4)), T((3, 2)), T((5, 4, 2)), T((5,))),
        S(T((2, 3, 4)), T((2, 3, 2)), T((5, 4, 2)), name="3d_no_bias")],
        ops=("matmul", "mul", "sum", "permute")),
    OpInfo("embedding", embedding, [
        S(idx((2, 3), 6, [[1, 2, 2], [0, 5, 2]]), T((6, 3))),
        S(idx((), 6, 4), T((6, 3)), name="scalar_index")], ops=("embedding", "scatter_add")),
    # padding_idx and scale_grad_by_freq change the gradient on purpose: no finite differences
    OpInfo("embedding_grad_options", embedding, [
        S(idx((2, 3), 6, [[1, 2, 2], [0, 5, 2]]), T((6, 3)), padding_idx=2, name="padding_idx"),
        S(idx((2, 3), 6, [[1, 2, 2], [0, 5, 2]]), T((6, 3)), padding_idx=-1,
          scale_grad_by_freq=True, name="padding_neg_scale_grad")], ops=("embedding",),
        gradcheck=False),
    OpInfo("embedding_bag", bag, [
        S(idx((2, 3), 6, [[1, 2, 2], [0, 5, 2]]), T((6, 3)), mode=m, name=f"2d_{m}")
        for m in ("sum", "mean", "max")] + [
        S(_BAG, T((6, 3)), _OFFSETS, mode=m, name=f"offsets_{m}") for m in ("sum", "mean", "max")
    ] + [
        S(idx((2, 3), 6, [[1, 2, 0], [0, 0, 2]]), T((6, 3)), mode="mean", padding_idx=0,
          name="padding_mean"),
        S(_BAG, T((6, 3)), idx((5,), 8, [0, 3, 3, 5, 8]), mode="max", include_last_offset=True,
          name="include_last_offset"),
        S(_BAG, T((6, 3)), _OFFSETS, T((8,)), mode="sum", name="per_sample_weights")],
        ops=("embedding", "scatter_add")),
    OpInfo("one_hot", lambda lib, i, **kw: lib.nn.functional.one_hot(i, **kw), [
        S(idx((2, 3), 4)), S(idx((5,), 3), num_classes=6, name="num_classes")],
        ops=("eq",), dtypes=("int64",), grad=False),
]


def _self_group(lib):
    from mpi4py import MPI

    return lib.distributed.ProcessGroup(MPI.COMM_SELF, "mpi")


def _collective(call):
    """A collective over a one-process group: the identity, and so is its gradient (the
    multi-process cases are in tests/distributed)."""
    def fn(lib, x):
        return x.clone() if lib.__name__ == "torch" else call(lib, _self_group(lib), x)

    return fn


def _tensor_parallel(name, *args):
    return lambda lib, group, x: getattr(lib.distributed.tensor._collectives, name).apply(
        *args, group, x)


_SHAPES = [S(T((3, 4))), S(T((2, 0, 3)))]
ROWS += [
    OpInfo("c10d_all_reduce", _collective(
        lambda lib, group, x: lib.distributed.nn.functional.all_reduce(x, group=group)),
        _SHAPES + [S(T(()))], ops=("c10d::all_reduce",), dtypes=("float32", "float64", "int64")),
    OpInfo("c10d_reduce_from_parallel", _collective(_tensor_parallel("ReduceFromParallel")),
           _SHAPES, ops=("c10d::reduce_from_parallel",)),
    OpInfo("c10d_copy_to_parallel", _collective(_tensor_parallel("CopyToParallel")), _SHAPES,
           ops=("c10d::copy_to_parallel",)),
    OpInfo("c10d_gather_from_parallel", _collective(
        _tensor_parallel("GatherFromParallel", -1, False)), _SHAPES,
        ops=("c10d::gather_from_parallel",)),
    OpInfo("c10d_scatter_to_parallel", _collective(_tensor_parallel("ScatterToParallel", 0)),
           _SHAPES, ops=("c10d::scatter_to_parallel",)),
    OpInfo("c10d_reduce_scatter_from_parallel", _collective(
        _tensor_parallel("ReduceScatterFromParallel", 1)), _SHAPES,
        ops=("c10d::reduce_scatter_from_parallel",)),
]
