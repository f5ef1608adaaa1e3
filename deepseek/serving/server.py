"""``ds.serving.Server``: a model behind ``POST /predict``, ``GET /health`` and ``GET /metrics``
on the standard library's threaded HTTP server, with dynamic batching."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, Sequence
from urllib.parse import urlsplit

import numpy as np

from .. import dtypes as _dt
from ._batching import Batcher, ShuttingDown
from ._inputs import BadRequest, parse_inputs
from ._runner import ModelOutputError, ModelRunner, to_json

__all__ = ["Server"]

logger = logging.getLogger("deepseek.serving")

_LATENCY_WINDOW = 10_000  # requests the latency percentiles are computed over


class Server:
    """Serve ``model_or_fn`` for inference over HTTP.

    ``POST /predict`` takes ``{"inputs": [example, ...]}`` (each example a nested list of
    numbers) and answers ``{"outputs": [output, ...]}``, one output per example (a nested list;
    a list of them for a model returning a tuple, an object for a dict). ``GET /health`` says
    whether the server can answer; ``GET /metrics`` gives request, batch and latency counters.
    Errors are answered as ``{"error": "..."}``: 400 for a malformed request (the message says
    what is wrong, and the expected example shape once it is known), 413 for a body over
    ``max_body_bytes``, 500 when the model raises, 503 when shutting down.

    Dynamic batching: requests are queued; one worker thread takes the oldest, adds later ones
    whose examples have the same shape, up to ``max_batch_size`` examples or until the oldest
    has waited ``max_latency_ms``, runs the model once under ``ds.no_grad()`` and splits the
    outputs back. With ``compile=True`` the model runs through ``ds.jit`` and each batch is
    padded to a bucket size (powers of two, then ``max_batch_size``) by repeating its first
    example, so at most ``log2(max_batch_size) + 1`` shapes are traced; the padding is sliced
    off. Padding assumes examples do not affect each other, as in any model in eval mode.

    All model calls happen on the worker thread. Grad mode and ``ds.jit`` tracing are process
    wide, so do not train in the same process while the server runs.

    Args:
        model_or_fn: a Module (put in eval mode) or a function of one batched tensor.
        host: the address to listen on.
        port: the port; 0 picks a free one (see the value :meth:`start` returns).
        max_batch_size: most examples per model call, and per request.
        max_latency_ms: how long the oldest queued request waits for others to join it.
        compile: run the model through ``ds.jit`` (falls back to eager, with a warning, where
            tracing fails).
        input_dtype: the dtype the examples are converted to.
        input_shape: the shape of one example (without the batch dimension); when None it is
            learned from the first successful batch. Requests of another shape get a 400.
        device: where inputs are put; default the device of the module's first parameter.
        max_body_bytes: larger request bodies are refused with 413.
        request_timeout_s: how long a connection may take to send its request and how long a
            request waits for the model before a 503.

    Example:
        >>> from deepseek.models import DigitsMLP
        >>> with ds.serving.Server(DigitsMLP(), port=0) as server:
        ...     url = server.url + "/predict"  # POST {"inputs": [[[...8x8...]]]} here
    """

    def __init__(self, model_or_fn: Any, *, host: str = "127.0.0.1", port: int = 8000,
                 max_batch_size: int = 32, max_latency_ms: float = 5, compile: bool = True,
                 input_dtype: Any = _dt.float32, input_shape: Optional[Sequence[int]] = None,
                 device: Any = None, max_body_bytes: int = 16 * 2**20,
                 request_timeout_s: float = 30.0) -> None:
        from ..backend import device as make_device
        from ..nn.modules.module import Module

        if isinstance(model_or_fn, Module):
            model = model_or_fn.eval()

            def forward(x: Any) -> Any:
                return model(x)

            fn: Callable = forward
            self.name = type(model).__name__
            if device is None:
                first = next(iter(model.parameters()), None)
                device = first.device if first is not None else None
        elif callable(model_or_fn):
            fn = model_or_fn
            self.name = getattr(fn, "__name__", type(fn).__name__)
        else:
            raise TypeError(f"[Server] expected a Module or a function of a batched tensor; got "
                            f"{type(model_or_fn).__name__}")
        if not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise ValueError(f"[Server] max_batch_size must be a positive int; got "
                             f"{max_batch_size!r}")
        if max_latency_ms < 0:
            raise ValueError(f"[Server] max_latency_ms must be >= 0; got {max_latency_ms!r}")
        self.host = host
        self.port = port
        self.max_batch_size = max_batch_size
        self.max_latency_ms = max_latency_ms
        self.input_dtype = _dt.to_dtype(input_dtype)
        self.input_shape = None if input_shape is None else tuple(int(d) for d in input_shape)
        self.max_body_bytes = max_body_bytes
        self.request_timeout_s = request_timeout_s
        if isinstance(device, str):
            device = make_device(device)
        self._runner = ModelRunner(fn, compile=compile, max_batch_size=max_batch_size,
                                   device=device)
        self._metrics = _Metrics()
        self._batcher = Batcher(self._runner, max_batch_size, max_latency_ms / 1000,
                                on_batch=self._on_batch, on_error=self._on_error)
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    # ---- lifecycle ----
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> int:
        """Serve on a background thread; returns the bound port."""
        httpd = self._open()
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="deepseek-serving-http", daemon=True)
        self._thread.start()
        return self.port

    def serve_forever(self) -> None:
        """Serve on this thread until :meth:`stop` (from another thread) or Ctrl-C."""
        try:
            if self._thread is not None:  # already started in the background: wait for it
                while self._thread is not None and self._thread.is_alive():
                    self._thread.join(0.2)
            else:
                (self._httpd or self._open()).serve_forever(poll_interval=0.1)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop accepting requests, answer the queued ones (503), join every thread."""
        with self._lock:
            httpd, self._httpd = self._httpd, None
            thread, self._thread = self._thread, None
        if httpd is None:
            return
        if thread is not None or httpd.serving:
            httpd.shutdown()
        self._batcher.stop(timeout=self.request_timeout_s)
        httpd.server_close()  # joins the request threads
        if thread is not None:
            thread.join(self.request_timeout_s)

    def __enter__(self) -> "Server":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _open(self) -> "_HTTPServer":
        with self._lock:
            if self._httpd is not None:
                raise RuntimeError(f"[Server] already serving on {self.url}; call stop() first")
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            server_class = type("_HTTPServer", (_HTTPServer,), {"address_family": family})
            httpd = server_class((self.host, self.port), _Handler)
            httpd.app = self
            self.port = httpd.server_address[1]
            self._batcher.start()
            self._httpd = httpd
        logger.info("serving %s on %s", self.name, self.url)
        return httpd

    # ---- what the endpoints answer ----
    def metrics(self) -> dict:
        """What ``GET /metrics`` answers: counters since start and latency percentiles (ms)
        over the last requests."""
        out = self._metrics.snapshot()
        out.update(queued_examples=self._batcher.depth, compiled=self._runner.compiled is not None,
                   traces=self._runner.traces)
        if self._runner.eager_reason:
            out["eager_reason"] = self._runner.eager_reason
        return out

    def health(self) -> tuple:
        ok = self._httpd is not None and self._batcher.alive
        body = {"status": "ok" if ok else "unavailable", "model": self.name,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "input_dtype": self.input_dtype.name, "max_batch_size": self.max_batch_size,
                "compiled": self._runner.compiled is not None}
        return (200 if ok else 503), body

    def predict(self, handler: BaseHTTPRequestHandler) -> tuple:
        """Answer one ``POST /predict``: ``(status, body)``."""
        start = time.perf_counter()
        try:
            status, body = self._predict(handler)
        except Exception as e:  # a bug here must still be answered, not hang the client
            logger.exception("serving: /predict failed")
            status, body = 500, {"error": f"internal error: {type(e).__name__}: {e}"}
        self._metrics.record_request(status, time.perf_counter() - start)
        return status, body

    def _predict(self, handler: BaseHTTPRequestHandler) -> tuple:
        try:
            body = _read_body(handler, self.max_body_bytes)
            examples = parse_inputs(body, self.input_dtype.np, self.input_shape,
                                    self.max_batch_size)
        except BadRequest as e:
            return e.status, {"error": str(e)}
        try:
            request = self._batcher.submit(examples)
        except ShuttingDown as e:
            return 503, {"error": str(e)}
        if not request.done.wait(self.request_timeout_s):
            request.cancelled = True
            return 503, {"error": f"timed out after {self.request_timeout_s:g} s waiting for "
                                  "the model"}
        if request.status != 200:
            return request.status, {"error": request.error}
        return 200, {"outputs": to_json(request.outputs, len(examples))}

    def _on_batch(self, examples: int, requests: list, seconds: float) -> None:
        if self.input_shape is None:
            self.input_shape = tuple(requests[0].shape)
        self._metrics.record_batch(examples, self._runner.padded_size(examples), seconds)

    def _on_error(self, error: Exception) -> tuple:
        self._metrics.record_model_error()
        if isinstance(error, ModelOutputError):
            return 500, str(error)
        logger.error("serving: the model raised", exc_info=error)
        return 500, f"the model raised {type(error).__name__}: {error}"


class _Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._requests = 0
        self._statuses: Counter = Counter()
        self._latencies: deque = deque(maxlen=_LATENCY_WINDOW)
        self._batches = 0
        self._examples = 0
        self._padded = 0
        self._model_seconds = 0.0
        self._model_errors = 0

    def record_request(self, status: int, seconds: float) -> None:
        with self._lock:
            self._requests += 1
            self._statuses[status] += 1
            self._latencies.append(seconds * 1000)

    def record_batch(self, examples: int, padded: int, seconds: float) -> None:
        with self._lock:
            self._batches += 1
            self._examples += examples
            self._padded += padded - examples
            self._model_seconds += seconds

    def record_model_error(self) -> None:
        with self._lock:
            self._model_errors += 1

    def snapshot(self) -> dict:
        with self._lock:
            latencies = np.array(self._latencies, dtype=np.float64)
            errors = {str(s): n for s, n in sorted(self._statuses.items()) if s >= 400}
            batches = self._batches
            out = {"requests": self._requests, "errors": sum(errors.values()),
                   "errors_by_status": errors, "model_errors": self._model_errors,
                   "batches": batches, "examples": self._examples,
                   "padded_examples": self._padded,
                   "mean_batch_size": self._examples / batches if batches else 0.0,
                   "mean_model_ms": 1000 * self._model_seconds / batches if batches else 0.0,
                   "uptime_s": time.monotonic() - self._started}
        if len(latencies):
            p50, p95, p99 = np.percentile(latencies, [50, 95, 99]).tolist()
            out["latency_ms"] = {"p50": p50, "p95": p95, "p99": p99,
                                 "mean": float(latencies.mean()), "count": len(latencies)}
        else:
            out["latency_ms"] = {"p50": None, "p95": None, "p99": None, "mean": None, "count": 0}
        return out


def _read_body(handler: BaseHTTPRequestHandler, limit: int) -> bytes:
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        handler.close_connection = True
        raise BadRequest("chunked transfer encoding is not supported: send a Content-Length",
                         411)
    length = handler.headers.get("Content-Length")
    if length is None:
        raise BadRequest("missing Content-Length header", 411)
    try:
        size = int(length)
        if size < 0:
            raise ValueError(length)
    except ValueError:
        handler.close_connection = True
        raise BadRequest(f"invalid Content-Length {length!r}") from None
    if size > limit:
        handler.close_connection = True
        _drain(handler, size, 4 * limit)
        raise BadRequest(f"request body too large: {size} bytes, the limit is {limit} bytes "
                         "(max_body_bytes); send fewer examples per request", 413)
    try:
        body = handler.rfile.read(size)
    except OSError:  # includes the socket timeout
        handler.close_connection = True
        raise BadRequest("timed out reading the request body", 408) from None
    if len(body) < size:
        handler.close_connection = True
        raise BadRequest(f"the request body ended after {len(body)} of {size} bytes "
                         "(Content-Length)")
    return body


def _drain(handler: BaseHTTPRequestHandler, size: int, cap: int) -> None:
    """Read and drop a refused body (up to ``cap`` bytes), so that closing the connection does
    not reset it before the client reads the answer."""
    left = min(size, cap)
    try:
        while left > 0:
            chunk = handler.rfile.read(min(left, 1 << 16))
            if not chunk:
                return
            left -= len(chunk)
    except OSError:
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # joined by server_close() all the same (block_on_close)
    request_queue_size = 128  # the default backlog of 5 resets bursts of concurrent clients
    app: Server
    serving = False

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self.serving = True
        try:
            super().serve_forever(poll_interval)
        finally:
            self.serving = False


class _Handler(BaseHTTPRequestHandler):
    server_version = "deepseek-serving"
    server: _HTTPServer

    def setup(self) -> None:
        self.timeout = self.server.app.request_timeout_s  # a stalled client cannot hold a thread
        super().setup()

    def do_GET(self) -> None:
        app, path = self.server.app, urlsplit(self.path).path
        if path == "/health":
            self._send(*app.health())
        elif path == "/metrics":
            self._send(200, app.metrics())
        elif path == "/predict":
            self._send(405, {"error": "use POST for /predict"}, {"Allow": "POST"})
        else:
            self._not_found(path)

    def do_POST(self) -> None:
        app, path = self.server.app, urlsplit(self.path).path
        if path == "/predict":
            self._send(*app.predict(self))
        elif path in ("/health", "/metrics"):
            self.close_connection = True
            self._send(405, {"error": f"use GET for {path}"}, {"Allow": "GET"})
        else:
            self.close_connection = True
            self._not_found(path)

    def _not_found(self, path: str) -> None:
        self._send(404, {"error": f"no endpoint {path!r}: POST /predict, GET /health, "
                                  "GET /metrics"})

    def _send(self, status: int, body: dict, headers: Optional[dict] = None) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client went away
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)
