"""Activation modules (each derives from its ``F.*`` function) and ``MultiheadAttention``."""

from __future__ import annotations

from typing import Any, Optional

from ..._creation import empty
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ._attention import MultiheadAttention
from .module import Module

__all__ = ["Threshold", "ReLU", "RReLU", "Hardtanh", "ReLU6", "Sigmoid", "Hardsigmoid", "Tanh",
           "SiLU", "Mish", "Hardswish", "ELU", "CELU", "SELU", "GLU", "GELU", "Hardshrink",
           "LeakyReLU", "LogSigmoid", "Softplus", "Softshrink", "MultiheadAttention", "PReLU",
           "Softsign", "Tanhshrink", "Softmin", "Softmax", "Softmax2d", "LogSoftmax"]


def _inplace(inplace: bool, lead: str = ", ") -> str:
    return lead + "inplace=True" if inplace else ""


class _Inplace(Module):
    """An activation with only the ``inplace`` option: ``forward`` calls ``F.<_fn>``."""

    _fn = ""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._fn)(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace, "")


class _Plain(Module):
    """An activation without options: ``forward`` calls ``F.<_fn>``."""

    _fn = ""

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._fn)(input)


class ReLU(_Inplace):
    """``max(0, x)`` elementwise. Args: inplace (default False)."""

    _fn = "relu"


class SELU(_Inplace):
    """Scaled ELU with PyTorch's fixed alpha and scale. Args: inplace."""

    _fn = "selu"


class SiLU(_Inplace):
    """``x * sigmoid(x)``. Args: inplace."""

    _fn = "silu"


class Mish(_Inplace):
    """``x * tanh(softplus(x))``. Args: inplace."""

    _fn = "mish"


class Hardswish(_Inplace):
    """``x * relu6(x + 3) / 6``. Args: inplace."""

    _fn = "hardswish"


class Hardsigmoid(_Inplace):
    """``relu6(x + 3) / 6``. Args: inplace."""

    _fn = "hardsigmoid"


class Sigmoid(_Plain):
    """``1 / (1 + exp(-x))``."""

    _fn = "sigmoid"


class Tanh(_Plain):
    """Hyperbolic tangent."""

    _fn = "tanh"


class LogSigmoid(_Plain):
    """``log(sigmoid(x))``, computed stably."""

    _fn = "logsigmoid"


class Softsign(_Plain):
    """``x / (1 + |x|)``."""

    _fn = "softsign"


class Tanhshrink(_Plain):
    """``x - tanh(x)``."""

    _fn = "tanhshrink"


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value``.

    Args:
        threshold: the threshold. value: the replacement. inplace: default False.
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + _inplace(self.inplace)


class RReLU(Module):
    """Randomized leaky ReLU: slope drawn from U(lower, upper) in training, their mean in eval.
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + _inplace(self.inplace)


class Hardtanh(Module):
    """``clamp(x, min_val, max_val)``.

    Args:
        min_val: default -1. max_val: default 1. inplace: default False.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
                 ) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + _inplace(self.inplace)


class ReLU6(Hardtanh):
    """``min(max(0, x), 6)``. Args: inplace."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace, "")


class _Alpha(Module):
    _fn = ""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._fn)(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + _inplace(self.inplace)


class ELU(_Alpha):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``. Args: alpha (1.0), inplace."""

    _fn = "elu"


class CELU(_Alpha):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``. Args: alpha (1.0), inplace."""

    _fn = "celu"


class GLU(Module):
    """Gated linear unit: ``a * sigmoid(b)`` of the two halves of ``input`` along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GELU(Module):
    """Gaussian error linear unit. Args: approximate: ``'none'`` or ``'tanh'``."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class _Lambd(Module):
    _fn = ""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._fn)(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Hardshrink(_Lambd):
    """``x`` where ``|x| > lambd``, else 0. Args: lambd (0.5)."""

    _fn = "hardshrink"


class Softshrink(_Lambd):
    """``x - lambd * sign(x)`` where ``|x| > lambd``, else 0. Args: lambd (0.5)."""

    _fn = "softshrink"


class LeakyReLU(Module):
    """``max(0, x) + negative_slope * min(0, x)``. Args: negative_slope (0.01), inplace."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + _inplace(self.inplace)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``.

    Args:
        beta: default 1. threshold: default 20.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class PReLU(Module):
    """``max(0, x) + a * min(0, x)`` with a learned slope ``a`` (one, or one per channel).

    Args:
        num_parameters: 1 or the number of channels (dim 1 of the input). Default: 1.
        init: the initial value of ``a``. Default: 0.25.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class _SoftmaxFamily(Module):
    _fn = ""

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("dim", None)

    def forward(self, input: Tensor) -> Tensor:
        dim = self.dim
        if dim is None:  # PyTorch's legacy implicit dim
            dim = 0 if input.ndim in (0, 1, 3) else 1
        return getattr(F, self._fn)(input, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxFamily):
    """``exp(x) / sum(exp(x))`` along ``dim``."""

    _fn = "softmax"


class Softmin(_SoftmaxFamily):
    """``softmax(-x)`` along ``dim``."""

    _fn = "softmin"


class LogSoftmax(_SoftmaxFamily):
    """``log(softmax(x))`` along ``dim``, computed stably."""

    _fn = "log_softmax"


class Softmax2d(Module):
    """Softmax over the channels of each spatial location of a ``(N, C, H, W)`` or
    ``(C, H, W)`` input."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                             "instead")
        return F.softmax(input, -3)


