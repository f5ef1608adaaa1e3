"""Rows for the fractional max pools, on fixed ``_random_samples`` so both libraries place the
same windows."""

from . import OpInfo, S, T


def _pool(name):
    def fn(lib, x, samples, **kw):
        return getattr(lib.nn.functional, name)(x, _random_samples=samples, **kw)

    return fn


def _samples(*shape):
    return T(shape, 0.0, 1.0, grad=False)


ROWS = [
    OpInfo("fractional_max_pool2d", _pool("fractional_max_pool2d"), [
        S(T((2, 3, 9, 8)), _samples(2, 3, 2), kernel_size=2, output_size=(4, 5),
          return_indices=True),
        S(T((2, 7, 6)), _samples(1, 2, 2), kernel_size=(3, 2), output_ratio=(0.5, 0.7),
          name="unbatched_ratio"),
        S(T((1, 2, 5, 5)), _samples(3, 2, 2), kernel_size=1, output_size=5, name="identity"),
    ], ops=("fractional_max_pool_with_indices", "gather")),
    OpInfo("fractional_max_pool3d", _pool("fractional_max_pool3d"), [
        S(T((2, 2, 5, 6, 7)), _samples(2, 2, 3), kernel_size=2, output_size=(3, 4, 5),
          return_indices=True),
        S(T((2, 4, 5, 6)), _samples(1, 2, 3), kernel_size=(2, 3, 2), output_ratio=(0.5, 0.5, 0.6),
          name="unbatched_ratio"),
    ], ops=("fractional_max_pool_with_indices",)),
]
