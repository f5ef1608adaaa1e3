"""The ``randomness`` flag of vmap and jacfwd: refuse random draws ('error'), let each batch
element draw its own ('different'), or give every element the same draws ('same')."""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["check_randomness_arg", "RandomnessScope"]

_MODES = ("error", "different", "same")
_ERROR = ("vmap: called random operation while in randomness error mode. Please either use the "
          "'same' or 'different' randomness flags on vmap or perform the randomness operation "
          "out of vmap")


def check_randomness_arg(randomness: Any) -> None:
    if randomness not in _MODES:
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")


def _state() -> bytes:
    from ..random import default_generator

    return default_generator.get_state().numpy().tobytes()


class RandomnessScope:
    """Runs the calls of one transform under its randomness mode. A random draw is seen as a
    move of the default generator's state, so 'error' raises once the offending call
    returns; 'same' rewinds the generator to where the first call started."""

    def __init__(self, randomness: str) -> None:
        self.randomness = randomness
        self.start = None

    def call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        from ..random import default_generator

        if self.randomness == "different":
            return fn(*args, **kwargs)
        if self.randomness == "same":
            if self.start is None:
                self.start = default_generator.get_state()
            else:
                default_generator.set_state(self.start)
            return fn(*args, **kwargs)
        before = _state()
        out = fn(*args, **kwargs)
        if _state() != before:
            raise RuntimeError(_ERROR)
        return out

