"""``python -m deepseek.serving``: build a model from ``module:callable`` (imported, never
unpickled), load its weights with ``ds.load`` and serve it (see :class:`Server`)."""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import threading
from typing import Any, Optional, Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deepseek.serving", description=__doc__,
        epilog="example: python -m deepseek.serving --model deepseek.models:DigitsCNN "
               "--weights checkpoints/digits.safetensors --port 8000")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The serving options, shared by ``python -m deepseek.serving`` and ``deepseek serve``."""
    parser.add_argument("--model", required=True, metavar="MODULE:CALLABLE",
                        help="what builds the model, e.g. deepseek.models:DigitsCNN")
    parser.add_argument("--model-kwargs", default="{}", metavar="JSON",
                        help='keyword arguments for the callable, e.g. \'{"hidden": 64}\'')
    parser.add_argument("--weights", metavar="FILE",
                        help="a file written by ds.save: a state_dict, or a checkpoint whose "
                             '"model" entry is one (as `deepseek demo` writes)')
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-latency-ms", type=float, default=5.0)
    parser.add_argument("--no-compile", dest="compile", action="store_false",
                        help="run the model eagerly instead of through ds.jit")
    parser.add_argument("--input-dtype", default="float32")
    parser.add_argument("--input-shape", metavar="D,D,...",
                        help="shape of one example, e.g. 1,8,8 (default: learned from the "
                             "first batch)")
    parser.add_argument("--max-body-mb", type=float, default=16.0)
    parser.add_argument("--verbose", action="store_true", help="log every request")


def load_model(spec: str, weights: Optional[str] = None, kwargs: Optional[dict] = None) -> Any:
    """Import ``module:callable`` (the callable may be dotted, ``module:Class.build``), call it
    with ``kwargs`` and load ``weights`` into the module it returns."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--model expects module:callable, e.g. deepseek.models:DigitsCNN; "
                         f"got {spec!r}")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"--model: cannot import {module_name!r}: {e}") from None
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ValueError(f"--model: {module_name!r} has no attribute {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"--model: {spec} is a {type(target).__name__}, not a callable")
    model = target(**(kwargs or {}))
    if weights is None:
        return model
    import deepseek as ds

    if not isinstance(model, ds.nn.Module):
        raise ValueError(f"--weights needs a Module to load into; {spec}() returned a "
                         f"{type(model).__name__}")
    state = ds.load(weights)
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # a checkpoint as `deepseek demo` writes it
    if not isinstance(state, dict):
        raise ValueError(f"--weights: {weights!r} holds a {type(state).__name__}, not a "
                         "state_dict")
    model.load_state_dict(state)
    return model


def run(args: argparse.Namespace) -> int:
    """Serve as ``args`` (from :func:`add_arguments`) say, until Ctrl-C or SIGTERM."""
    import logging

    from .server import Server

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        kwargs = json.loads(args.model_kwargs)
        if not isinstance(kwargs, dict):
            raise ValueError("--model-kwargs must be a JSON object")
        shape = None
        if args.input_shape:
            shape = tuple(int(d) for d in args.input_shape.replace(" ", "").split(",") if d)
        model = load_model(args.model, args.weights, kwargs)
        server = Server(model, host=args.host, port=args.port,
                        max_batch_size=args.max_batch_size, max_latency_ms=args.max_latency_ms,
                        compile=args.compile, input_dtype=args.input_dtype, input_shape=shape,
                        max_body_bytes=int(args.max_body_mb * 2**20))
        server._open()
    except (ValueError, TypeError, OSError, RuntimeError, KeyError) as e:
        print(f"deepseek.serving: error: {e}", file=sys.stderr)
        return 2
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    print(f"serving {server.name} on {server.url} (POST /predict, GET /health, GET /metrics)",
          flush=True)
    server.serve_forever()
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
