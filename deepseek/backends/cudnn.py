"""``deepseek.backends.cudnn``: cuDNN's switches (no cuDNN in this build: they change nothing)."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version() -> None:
    """cuDNN's version: None, as torch reports without cuDNN."""
    return None
