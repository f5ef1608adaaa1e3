"""``deepseek.device``: where a tensor lives (``cpu``, ``cuda:N``, ``meta``)."""

from __future__ import annotations

__all__ = ["device"]

_KNOWN = ("cpu", "cuda", "meta")


class device:
    """A device type and optional index, as ``torch.device``.

    Example:
        >>> deepseek.device("cpu")
        device(type='cpu')
    """

    __slots__ = ("type", "index")

    def __new__(cls, type_or_spec, index: int | None = None):
        if isinstance(type_or_spec, device):
            return type_or_spec
        if isinstance(type_or_spec, int):
            type_or_spec, index = "cuda", type_or_spec
        spec = str(type_or_spec)
        key = (spec, index)
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        kind, _, idx = spec.partition(":")
        if kind not in _KNOWN:
            raise RuntimeError(
                f"Expected one of {', '.join(_KNOWN)} device type at start of device string: {spec}"
            )
        if idx:
            if index is not None or not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{spec}'")
            index = int(idx)
        self = object.__new__(cls)
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", index)
        _CACHE[key] = self
        return self

    def __setattr__(self, name, value):
        raise AttributeError("deepseek.device is immutable")

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))


_CACHE: dict = {}
