"""ds.serving: /predict against the model called directly, dynamic batching, bad requests,
model errors, /health and /metrics, shutdown, and the ``python -m deepseek.serving`` CLI."""

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

import deepseek as ds
import deepseek.serving  # noqa: F401  (ds.serving)
from deepseek.models import DigitsMLP
from deepseek.serving.__main__ import load_model, main

TIMEOUT = 10  # seconds, for every network call


def post(url, body, timeout=TIMEOUT):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + "/predict", data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    return _open(request, timeout)


def get(url, path, timeout=TIMEOUT):
    return _open(urllib.request.Request(url + path), timeout)


def _open(request, timeout):
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read())


def reference(model, x):
    with ds.no_grad():
        return model(ds.from_numpy(x)).numpy()


def digits(n, seed=0):
    return np.random.default_rng(seed).random((n, 1, 8, 8), dtype=np.float32)


@pytest.fixture(scope="module")
def model():
    ds.manual_seed(0)
    return DigitsMLP(hidden=32).eval()


@pytest.fixture(scope="module")
def server(model):
    with ds.serving.Server(model, port=0, input_shape=(1, 8, 8)) as s:
        yield s


def _serving_threads(before=()):
    """Server threads alive now that were not in ``before`` (other fixtures' servers run on)."""
    return [t for t in threading.enumerate() if t not in before
            and (t.name.startswith("deepseek-serving") or "process_request" in t.name)]


# ---- outputs ----
@pytest.mark.parametrize("n", [1, 3, 8])
def test_predict_matches_model(server, model, n):
    x = digits(n, seed=n)
    status, body = post(server.url, {"inputs": x.tolist()})
    assert status == 200, body
    out = np.array(body["outputs"], dtype=np.float32)
    expected = reference(model, x)
    assert out.shape == expected.shape == (n, 10)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6,
                               err_msg=f"/predict vs model(x), batch {n}, tolerance 1e-6")


def test_eager_outputs_are_exact(model):
    x = digits(5, seed=1)
    with ds.serving.Server(model, port=0, compile=False) as s:
        status, body = post(s.url, {"inputs": x.tolist()})
    assert status == 200, body
    out = np.array(body["outputs"], dtype=np.float32)
    assert out.dtype == np.float32 and out.shape == (5, 10)
    assert np.array_equal(out, reference(model, x)), "float32 outputs must survive JSON exactly"


def test_padding_bounds_traces(model):
    with ds.serving.Server(model, port=0, max_batch_size=16) as s:
        for n in range(1, 10):
            x = digits(n, seed=100 + n)
            status, body = post(s.url, {"inputs": x.tolist()})
            assert status == 200, body
            np.testing.assert_allclose(np.array(body["outputs"], np.float32),
                                       reference(model, x), rtol=1e-6, atol=1e-6)
        metrics = s.metrics()
    assert metrics["traces"] == 5, "batches of 1..9 pad to the buckets 1, 2, 4, 8, 16"
    assert metrics["padded_examples"] == sum((1, 2, 4, 4, 8, 8, 8, 8, 16)) - sum(range(1, 10))


def test_structured_outputs():
    def fn(x):
        return (x * 2, {"total": x.sum(1)})

    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    with ds.serving.Server(fn, port=0, compile=False) as s:
        status, body = post(s.url, {"inputs": x.tolist()})
    assert status == 200, body
    assert body["outputs"][1] == [[4.0, 6.0], {"total": 5.0}]


def test_concurrent_requests_are_batched(model):
    count = 16
    inputs = [digits(1 + i % 3, seed=200 + i) for i in range(count)]
    results = [None] * count
    barrier = threading.Barrier(count)

    def client(i):
        barrier.wait(TIMEOUT)
        results[i] = post(s.url, {"inputs": inputs[i].tolist()})

    # a long max_latency_ms so that every request arrives while the first still waits
    with ds.serving.Server(model, port=0, max_latency_ms=300) as s:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(3 * TIMEOUT)
        metrics = s.metrics()
    for i, (status, body) in enumerate(results):
        assert status == 200, body
        np.testing.assert_allclose(np.array(body["outputs"], np.float32),
                                   reference(model, inputs[i]), rtol=1e-6, atol=1e-6,
                                   err_msg=f"request {i} got another request's outputs")
    assert metrics["requests"] == count
    assert metrics["examples"] == sum(len(x) for x in inputs)
    assert metrics["batches"] < count, metrics
    assert metrics["mean_batch_size"] > 1


# ---- bad requests ----
GOOD = digits(1).tolist()


@pytest.mark.parametrize("body, message", [
    (b"{not json", "invalid JSON"),
    (b"\xff\xfe", "invalid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"input": [1]}', 'missing "inputs"'),
    (b'{"inputs": 3}', '"inputs" must be a list'),
    (b'{"inputs": []}', '"inputs" is empty'),
    (b'{"inputs": [[1, 2], [3]]}', "ragged inputs: inputs[1] has shape [1] but inputs[0] has "
                                   "shape [2]"),
    (b'{"inputs": [[[1, 2], [3]]]}', "ragged inputs: inputs[0][1]"),
    (b'{"inputs": [[1, "a"]]}', "inputs[0][1] is a string"),
    (b'{"inputs": [[1, null]]}', "inputs[0][1] is null"),
    (json.dumps({"inputs": [[0.0] * 64]}).encode(), "each example must have shape [1, 8, 8]"),
    (json.dumps({"inputs": GOOD * 33}).encode(), "too many examples: 33"),
])
def test_bad_request_is_400(server, body, message):
    status, answer = post(server.url, body)
    assert status == 400, answer
    assert message in answer["error"], answer


def test_expected_shape_is_learned(model):
    with ds.serving.Server(model, port=0) as s:
        assert post(s.url, {"inputs": GOOD})[0] == 200
        status, answer = post(s.url, {"inputs": [[1.0, 2.0]]})
        assert get(s.url, "/health")[1]["input_shape"] == [1, 8, 8]
    assert status == 400
    assert "must have shape [1, 8, 8]" in answer["error"] and "got examples of shape [2]" in \
        answer["error"]


def test_integer_inputs_refuse_fractions():
    with ds.serving.Server(lambda x: x * 2, port=0, input_dtype=ds.int64, compile=False) as s:
        assert post(s.url, {"inputs": [[1, 2]]}) == (200, {"outputs": [[2, 4]]})
        status, answer = post(s.url, {"inputs": [[1.5, 2]]})
    assert status == 400 and "int64" in answer["error"]


def test_body_too_large_is_413(model):
    with ds.serving.Server(model, port=0, max_body_bytes=1024) as s:
        status, answer = post(s.url, {"inputs": digits(4).tolist()})
        assert status == 413 and "limit is 1024 bytes" in answer["error"]
        assert post(s.url, {"inputs": [[[0] * 8] * 8]})[0] == 200  # still serving


def test_missing_content_length_and_wrong_routes(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.putrequest("POST", "/predict")
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 411
        assert "Content-Length" in json.loads(response.read())["error"]
    finally:
        connection.close()
    assert get(server.url, "/predict")[0] == 405
    status, answer = get(server.url, "/nowhere")
    assert status == 404 and "/predict" in answer["error"]


# ---- model errors ----
def test_model_error_is_500_and_server_survives():
    fail = {"now": True}

    def fn(x):
        if fail["now"]:
            raise ValueError("boom: the model cannot take this")
        return x + 1

    with ds.serving.Server(fn, port=0) as s:
        status, answer = post(s.url, {"inputs": [[1.0, 2.0]]})
        assert status == 500
        assert "ValueError" in answer["error"] and "boom" in answer["error"]
        fail["now"] = False
        assert post(s.url, {"inputs": [[1.0, 2.0]]}) == (200, {"outputs": [[2.0, 3.0]]})
        metrics = s.metrics()
    assert metrics["model_errors"] == 1 and metrics["errors_by_status"] == {"500": 1}


def test_output_without_batch_dimension_is_500():
    with ds.serving.Server(lambda x: x.sum(), port=0, compile=False) as s:
        status, answer = post(s.url, {"inputs": [[1.0, 2.0]]})
    assert status == 500 and "first dimension" in answer["error"], answer


# ---- health, metrics, lifecycle ----
def test_health_and_metrics(model):
    with ds.serving.Server(model, port=0) as s:
        status, health = get(s.url, "/health")
        assert status == 200 and health["status"] == "ok" and health["model"] == "DigitsMLP"
        assert get(s.url, "/metrics")[1]["latency_ms"]["p50"] is None
        assert post(s.url, {"inputs": GOOD})[0] == 200
        assert post(s.url, b"nope")[0] == 400
        status, metrics = get(s.url, "/metrics")
    assert status == 200
    assert metrics["requests"] == 2 and metrics["errors"] == 1
    assert metrics["errors_by_status"] == {"400": 1}
    assert metrics["batches"] == 1 and metrics["mean_batch_size"] == 1.0
    latency = metrics["latency_ms"]
    assert 0 <= latency["p50"] <= latency["p95"] <= latency["p99"]


def test_stop_joins_threads(model):
    before = set(threading.enumerate())
    s = ds.serving.Server(model, port=0)
    port = s.start()
    assert port == s.port and port != 0
    assert post(s.url, {"inputs": GOOD})[0] == 200
    s.stop()
    s.stop()  # idempotent
    assert not _serving_threads(before), _serving_threads(before)
    with pytest.raises(OSError):
        urllib.request.urlopen(s.url + "/health", timeout=2)


def test_serve_forever_until_stop(model):
    before = set(threading.enumerate())
    s = ds.serving.Server(model, port=0)
    thread = threading.Thread(target=s.serve_forever)
    thread.start()
    try:
        for _ in range(100):
            if s.port != 0:
                break
            threading.Event().wait(0.02)
        assert get(s.url, "/health")[0] == 200
    finally:
        s.stop()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert not _serving_threads(before)


def test_constructor_errors(model):
    with pytest.raises(TypeError, match="Module or a function"):
        ds.serving.Server(3)
    with pytest.raises(ValueError, match="max_batch_size"):
        ds.serving.Server(model, max_batch_size=0)


# ---- the CLI ----
def test_load_model_builds_and_loads(tmp_path):
    ds.manual_seed(1)
    trained = DigitsMLP(hidden=16)
    path = tmp_path / "mlp.safetensors"
    ds.save({"model": trained.state_dict(), "epochs": 1}, path)  # a checkpoint, as demo writes
    model = load_model("deepseek.models:DigitsMLP", str(path), {"hidden": 16})
    x = digits(2)
    assert np.array_equal(reference(model.eval(), x), reference(trained.eval(), x))
    with pytest.raises(ValueError, match="module:callable"):
        load_model("deepseek.models.DigitsMLP")
    with pytest.raises(ValueError, match="no attribute"):
        load_model("deepseek.models:Nope")
    assert main(["--model", "no_such_module_xyz:f", "--port", "0"]) == 2


def test_cli_serves_one_request(tmp_path):
    ds.manual_seed(2)
    model = DigitsMLP().eval()
    path = tmp_path / "weights.safetensors"
    ds.save(model.state_dict(), path)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepseek.serving", "--model", "deepseek.models:DigitsMLP",
         "--weights", str(path), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root)
    killer = threading.Timer(60, proc.kill)  # never hang the suite
    killer.start()
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving DigitsMLP on http://"), (line, proc.stderr.read())
        url = line.split(" on ")[1].split()[0]
        x = digits(2, seed=3)
        status, body = post(url, {"inputs": x.tolist()})
        assert status == 200, body
        np.testing.assert_allclose(np.array(body["outputs"], np.float32), reference(model, x),
                                   rtol=1e-6, atol=1e-6)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(TIMEOUT) == 0
    finally:
        killer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)
        proc.stdout.close()
        proc.stderr.close()
