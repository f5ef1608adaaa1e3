"""Rows for ``ctc_loss`` (through log_softmax, so finite differences see the gradient PyTorch
returns for log_probs)."""

from . import OpInfo, S, T


def _ctc(lib, logits, targets, input_lengths, target_lengths, **kw):
    return lib.nn.functional.ctc_loss(logits.log_softmax(-1), targets, input_lengths,
                                      target_lengths, **kw)


def _ints(*values):
    """An int64 tensor of these values (rows of lists make it 2-d)."""
    shape = (len(values), len(values[0])) if isinstance(values[0], list) else (len(values),)
    return T(shape, dtype="int64", grad=False, values=list(values))


def _scalar(value):
    return T((), dtype="int64", grad=False, values=value)


ROWS = [
    OpInfo("ctc_loss", _ctc, [
        S(T((8, 3, 5)), _ints([1, 1, 2], [3, 4, 0], [2, 0, 0]), _ints(8, 7, 3), _ints(3, 2, 1),
          reduction=r, name=r) for r in ("none", "mean", "sum")] + [
        S(T((6, 2, 4)), _ints(1, 2, 3, 3), _ints(6, 5), _ints(3, 1), blank=0,
          name="concatenated"),
        S(T((7, 2, 4)), _ints([2, 2, 1], [1, 2, 1]), _ints(3, 7), _ints(3, 3),
          zero_infinity=True, reduction="sum", name="zero_infinity"),
        S(T((5, 4)), _ints(1, 2), _scalar(5), _scalar(2), blank=3, name="unbatched"),
    ], ops=("ctc_loss", "_ctc_loss_backward"), noncontig=False),
]
