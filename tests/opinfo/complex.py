"""Rows for complex tensors and the Fourier transforms. The harness feeds real tensors, so each
row builds its complex operands with ``complex(re, im)`` and returns real views of its results:
forward values, gradients (PyTorch's conjugate convention), layouts and finite differences are
then checked as for any real op."""

from . import OpInfo, S, T


def _z(lib, re, im):
    return lib.complex(re, im)


def _r(lib, z):
    return lib.view_as_real(z.resolve_conj())


def _parts(lib, a, b):
    z = _z(lib, a, b)
    return (z.real * 2, z.imag, z.abs(), z.angle(), _r(lib, z.conj()), lib.real(a) * 1,
            a.angle(), _r(lib, lib.polar(a.abs(), b)), _r(lib, z.sgn()), z.isfinite(),
            lib.isreal(z))


def _view_as_complex(lib, x):
    z = lib.view_as_complex(x.contiguous())
    return _r(lib, z * z), lib.view_as_real(z)


def _math(lib, a, b, c, d):
    z, w = _z(lib, a, b), _z(lib, c, d)
    outs = (z + w, z - w, z * w, z / w, z * 2.5 - 1j, 1j / w, -z, z ** 2, z ** w, z.exp(),
            w.log(), w.sqrt(), w.rsqrt(), z.sin(), z.cos(), z.tan(), z.tanh(), z.sinh(),
            z.cosh(), w.reciprocal(), z.square(), a * 1j + z, lib.where(a > 0, z, w))
    return tuple(_r(lib, o) for o in outs) + ((z == w), (z != z.conj()))


def _products(lib, a, b, c, d):
    z, w = _z(lib, a, b), _z(lib, c, d)
    return (_r(lib, z @ w), _r(lib, z.sum(0)), _r(lib, z.mean((0, 1))), _r(lib, z.mT @ z.conj()),
            _r(lib, lib.cat([z, w.mT], 0)), _r(lib, z[1:, ::2]), _r(lib, z.flip(0)),
            _r(lib, z.gather(1, lib.tensor([[0, 2], [1, 1], [3, 0]]))), _r(lib, z.mH),
            _r(lib, z.reshape(-1).roll(2)), (z.abs() ** 2).sum(), _r(lib, lib.vdot(z[0], w[:, 0])))


def _fft1(lib, x, y, norm):
    F = lib.fft
    z = _z(lib, x, y)
    return tuple(_r(lib, o) for o in (
        F.fft(z, norm=norm), F.ifft(z, n=9, norm=norm), F.fft(x, n=4, dim=0, norm=norm),
        F.rfft(x, norm=norm), F.rfft(x, n=7, norm=norm), F.ihfft(x, norm=norm))) + (
        F.irfft(z, norm=norm), F.irfft(z, n=9, dim=0, norm=norm), F.hfft(z, n=6, norm=norm))


def _fftn(lib, x, y, norm):
    F = lib.fft
    z = _z(lib, x, y)
    return tuple(_r(lib, o) for o in (
        F.fft2(z, norm=norm), F.ifftn(z, s=(3, 5), norm=norm), F.rfft2(x, norm=norm),
        F.rfftn(x, dim=(0, 2), norm=norm), F.ihfft2(x, norm=norm))) + (
        F.irfft2(z, norm=norm), F.irfftn(z, s=(4, 7), norm=norm), F.hfftn(z, norm=norm),
        F.fftshift(x), F.ifftshift(x, dim=1))


ROWS = [
    OpInfo("complex_parts", _parts, [S(T((3, 4)), T((3, 4)))],
           ops=("complex", "view_as_real", "real", "imag", "angle", "conj")),
    OpInfo("view_as_complex", _view_as_complex, [S(T((3, 4, 2)))], ops=("view_as_complex",)),
    OpInfo("complex_math", _math, [S(T((3, 4)), T((3, 4)), T((3, 4), 0.5, 2), T((3, 4)))]),
    OpInfo("complex_products", _products, [S(T((3, 4)), T((3, 4)), T((4, 3)), T((4, 3)))]),
    *[OpInfo(f"fft_{norm}", lambda lib, x, y, _n=norm: _fft1(lib, x, y, _n),
             [S(T((5, 6)), T((5, 6)))], ops=("_fft_c2c", "_fft_r2c", "_fft_c2r"), atol=3e-5)
      for norm in ("backward", "ortho", "forward")],
    *[OpInfo(f"fftn_{norm}", lambda lib, x, y, _n=norm: _fftn(lib, x, y, _n),
             [S(T((2, 4, 6)), T((2, 4, 6)))], atol=3e-5)
      for norm in ("backward", "ortho", "forward")],
]
