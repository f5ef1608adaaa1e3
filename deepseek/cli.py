"""The ``deepseek`` command: ``deepseek demo`` trains a digits classifier, ``deepseek info``
reports versions, backends and extras, ``deepseek serve`` serves a model over HTTP."""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import time
from typing import Optional, Sequence


def _demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    import deepseek as ds
    import deepseek.nn.functional as F
    from deepseek.datasets import load_digits
    from deepseek.models import DigitsCNN, DigitsMLP
    from deepseek.utils.data import DataLoader, TensorDataset

    ds.manual_seed(args.seed)
    train = TensorDataset(*load_digits(train=True))
    test_x, test_y = load_digits(train=False)
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    model = DigitsCNN() if args.model == "cnn" else DigitsMLP()
    opt = ds.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = ds.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * len(loader))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"deepseek {ds.__version__}: training {args.model} ({n_params:,} parameters) on "
          f"{len(train)} digits, testing on {len(test_y)}")
    for epoch in range(args.epochs):
        model.train()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch", leave=True,
                   disable=args.quiet)
        seen, start = 0, time.perf_counter()
        for x, y in bar:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            seen += len(y)
            bar.set_postfix(loss=f"{loss.item():.4f}",
                            samples_s=f"{seen / (time.perf_counter() - start):.0f}")
    model.eval()
    with ds.no_grad():
        accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    ds.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epochs": args.epochs,
             "arch": args.model}, args.output)
    print(f"test accuracy: {accuracy * 100:.2f}%")
    print(f"checkpoint saved to {os.path.abspath(args.output)}")
    return 0 if accuracy >= args.min_accuracy else 1


def _info(args: argparse.Namespace) -> int:
    import numpy as np

    import deepseek as ds

    print(f"deepseek {ds.__version__}")
    print(f"python {platform.python_version()} on {platform.machine()} ({platform.system()})")
    print(f"numpy {np.__version__}")
    for mod in ("ml_dtypes", "numba", "safetensors", "tqdm"):
        print(f"{mod} {_version(mod)}")
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        print(f"BLAS: {blas.get('name')} {blas.get('version', '')}")
    except Exception:  # numpy builds differ in what they report
        print("BLAS: unknown")
    print(f"CPU threads: {os.cpu_count()}")
    print("backends: cpu (numpy)" + (", cuda (cupy)" if _has("cupy") else ""))
    extras = {"cuda": "cupy", "distributed": "mpi4py", "onnx": "onnx",
              "tensorboard": "tensorboardX", "graph": "pymetis", "test": "torch"}
    for extra, mod in extras.items():
        state = _version(mod) if _has(mod) else "not installed"
        print(f"extra [{extra}] ({mod}): {state}")
    return 0


def _has(mod: str) -> bool:
    return importlib.util.find_spec(mod) is not None


def _version(mod: str) -> str:
    try:
        from importlib.metadata import version

        return version({"tensorboardX": "tensorboardX", "cupy": "cupy"}.get(mod, mod))
    except Exception:
        return "installed" if _has(mod) else "not installed"


def _serve(args: argparse.Namespace) -> int:
    from .serving.__main__ import run

    return run(args)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="deepseek", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a classifier on the bundled 8x8 digits")
    demo.add_argument("--epochs", type=int, default=8)
    demo.add_argument("--model", choices=("cnn", "mlp"), default="cnn")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--batch-size", type=int, default=32)
    demo.add_argument("--lr", type=float, default=3e-3)
    demo.add_argument("--output", default=os.path.join("checkpoints", "digits.safetensors"))
    demo.add_argument("--min-accuracy", type=float, default=0.0,
                      help="exit with status 1 when test accuracy is below this")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(run=_demo)
    info = sub.add_parser("info", help="versions, backends, devices and installed extras")
    info.set_defaults(run=_info)
    from .serving.__main__ import add_arguments as _serve_arguments

    serve = sub.add_parser("serve", help="serve a model over HTTP (POST /predict)")
    _serve_arguments(serve)
    serve.set_defaults(run=_serve)
    args = parser.parse_args(argv)
    sys.exit(args.run(args))
