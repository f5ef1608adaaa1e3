"""Rows for the histograms (counts and bin edges; not differentiable)."""

from . import OpInfo, S, T


def _histograms(lib, x, w):
    return (tuple(lib.histogram(x.reshape(-1), 5)) + tuple(x.histogram(4, range=(-1.0, 1.5)))
            + tuple(lib.histogram(x.reshape(-1), 3, weight=w.reshape(-1), density=True))
            + (lib.histogramdd(x.reshape(-1, 2), bins=[3, 4]).hist,)
            + tuple(lib.histogramdd(x.reshape(-1, 3), bins=2, density=True).bin_edges))


ROWS = [OpInfo("histogram_histogramdd", _histograms, [S(T((4, 6)), T((4, 6), 0.1, 2.0))],
               ops=("histogramdd",), grad=False)]
