"""deepseek.profiler against torch.profiler: op names and counts, schedules, the table, traces."""

import gzip
import json
import re
import threading
import warnings

import numpy as np
import pytest
import torch
import torch.profiler as tp

import deepseek as ds
import deepseek.profiler as dp
from deepseek.ops._opdef import REGISTRY

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 4)).astype(np.float32)
W = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal(3).astype(np.float32)


def matmul_model(lib, backward=True):
    """relu(x @ w.T + b).sum(), and its backward: the same dispatch in both frameworks."""
    x = lib.tensor(X)
    w, b = lib.tensor(W, requires_grad=True), lib.tensor(B, requires_grad=True)
    y = lib.relu(lib.matmul(x, w.t()) + b).sum()
    if backward:
        y.backward()


def linear_model(lib):
    lin = lib.nn.Linear(4, 3)
    lib.nn.functional.relu(lin(lib.tensor(X))).sum().backward()


def counts(prof):
    return {e.key: e.count for e in prof.key_averages()}


def originals():
    return {name: (op.forward, op.vjp) for name, op in REGISTRY.items()}


def quiet_torch_profile(**kwargs):
    warnings.filterwarnings("ignore", module="torch")
    return tp.profile(activities=[tp.ProfilerActivity.CPU], **kwargs)


# ---- the same ops, named and counted as torch names and counts them ----

SHARED = ["aten::add", "aten::relu", "aten::sum", "aten::expand", "AddBackward0",
          "ReluBackward0", "SumBackward0", "autograd::engine::evaluate_function: ReluBackward0",
          "autograd::engine::evaluate_function: SumBackward0",
          "autograd::engine::evaluate_function: AddBackward0"]


def test_matmul_model_names_and_counts_match_torch():
    with quiet_torch_profile() as tprof:
        matmul_model(torch)
    with dp.profile(activities=[dp.ProfilerActivity.CPU]) as dprof:
        matmul_model(ds)
    theirs, ours = counts(tprof), counts(dprof)
    for name in SHARED:
        assert ours.get(name) == theirs.get(name), f"{name}: deepseek {ours.get(name)}, " \
                                                   f"torch {theirs.get(name)}"
    assert "aten::matmul" in ours and "aten::matmul" in theirs


def test_forward_only_counts_match_torch():
    with quiet_torch_profile() as tprof:
        matmul_model(torch, backward=False)
    with dp.profile() as dprof:
        matmul_model(ds, backward=False)
    theirs, ours = counts(tprof), counts(dprof)
    for name in ["aten::matmul", "aten::add", "aten::relu", "aten::sum"]:
        assert ours[name] == theirs[name] == 1, name


def test_linear_model_shared_ops():
    with quiet_torch_profile() as tprof:
        linear_model(torch)
    with dp.profile() as dprof:
        linear_model(ds)
    theirs, ours = counts(tprof), counts(dprof)
    for name in ["aten::relu", "aten::sum", "ReluBackward0", "SumBackward0"]:
        assert ours[name] == theirs[name], name
    assert all(k.startswith(("aten::", "autograd::engine::")) or k.endswith("Backward0")
               for k in ours), sorted(ours)


def test_flops_of_a_matmul_match_torch():
    a, b = RNG.standard_normal((5, 7)), RNG.standard_normal((7, 3))
    with quiet_torch_profile(with_flops=True) as tprof:
        torch.mm(torch.tensor(a), torch.tensor(b))
    with dp.profile(with_flops=True) as dprof:
        ds.matmul(ds.tensor(a), ds.tensor(b))
    theirs = {e.key: e.flops for e in tprof.key_averages()}["aten::mm"]
    ours = {e.key: e.flops for e in dprof.key_averages()}["aten::matmul"]
    assert ours == theirs == 2 * 5 * 3 * 7


# ---- schedule ----

@pytest.mark.parametrize("args", [
    dict(wait=1, warmup=1, active=2),
    dict(wait=0, warmup=0, active=1),
    dict(wait=2, warmup=1, active=3, repeat=2),
    dict(wait=1, warmup=2, active=1, repeat=1, skip_first=3),
    dict(wait=3, warmup=0, active=2, repeat=3, skip_first=1, skip_first_wait=1),
])
def test_schedule_matches_torch(args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = tp.schedule(**args)
    ours = dp.schedule(**args)
    assert [ours(i).name for i in range(30)] == [theirs(i).name for i in range(30)]


@pytest.mark.parametrize("args, named", [
    (dict(wait=-1, warmup=1, active=1), "wait=-1"),
    (dict(wait=0, warmup=0, active=0), "active=0"),
    (dict(wait=0, warmup=0, active=1, repeat=-2), "repeat=-2"),
    (dict(wait=0, warmup=-3, active=1, skip_first=-1), "skip_first=-1"),
])
def test_schedule_rejects_negative_arguments(args, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        dp.schedule(**args)


def traces_by_step(prof_module, lib):
    """For each on_trace_ready call: the step number, and the steps and relus in the trace."""
    seen = []

    def ready(p):
        names = [e.name for e in p.events()]
        seen.append((p.step_num, names.count("ProfilerStep*"), names.count("aten::relu")))

    sched = prof_module.schedule(wait=1, warmup=1, active=2, repeat=2, skip_first=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with prof_module.profile(schedule=sched, on_trace_ready=ready) as p:
            for _ in range(9):
                lib.relu(lib.ones(3)).sum()
                p.step()
    return seen


def test_step_cycles_match_torch():
    ours = traces_by_step(dp, ds)
    assert ours == traces_by_step(tp, torch)
    assert ours == [(5, 2, 2), (9, 2, 2)]


def test_tensorboard_trace_handler_writes_one_file_per_cycle(tmp_path):
    sched = dp.schedule(wait=0, warmup=1, active=1, repeat=3)
    with dp.profile(schedule=sched,
                    on_trace_ready=dp.tensorboard_trace_handler(str(tmp_path), "w0")) as p:
        for _ in range(8):
            ds.ones(2).exp()
            p.step()
    files = sorted(tmp_path.iterdir())
    assert len(files) == 3 and all(f.name.startswith("w0.") and f.name.endswith(".pt.trace.json")
                                   for f in files)
    for f in files:
        names = {e["name"] for e in json.loads(f.read_text())["traceEvents"]}
        assert "aten::exp" in names and any(re.match(r"ProfilerStep#\d+$", n) for n in names)


# ---- table and trace ----

def header_row(table):
    return re.split(r"\s{2,}", table.splitlines()[1].strip())


def test_table_headers_match_torch():
    with quiet_torch_profile(record_shapes=True, profile_memory=True) as tprof:
        matmul_model(torch)
    with dp.profile(record_shapes=True, profile_memory=True) as dprof:
        matmul_model(ds)
    for kwargs in [{}, {"group_by_input_shape": True}]:
        theirs = tprof.key_averages(**kwargs).table(sort_by="cpu_time_total", row_limit=5)
        ours = dprof.key_averages(**kwargs).table(sort_by="cpu_time_total", row_limit=5)
        assert header_row(ours) == header_row(theirs)
        assert ours.rstrip().splitlines()[-1].startswith("Self CPU time total: ")
        assert len(ours.splitlines()) == 3 + 5 + 2
    with dp.profile() as plain:
        matmul_model(ds)
    assert header_row(plain.key_averages().table()) == [
        "Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
        "# of Calls"]


def test_table_sorted_and_self_memory_of_outputs():
    with dp.profile(profile_memory=True, record_shapes=True) as prof:
        y = ds.relu(ds.ones(2, 3)).view(6)
        ds.cat([y, y])
        ds.exp(ds.ones(5, 3))
    averages = {e.key: e for e in prof.key_averages()}
    assert averages["aten::relu"].self_cpu_memory_usage == 2 * 3 * 4
    assert averages["aten::view"].self_cpu_memory_usage == 0  # a view allocates nothing
    assert averages["aten::exp"].self_cpu_memory_usage == 15 * 4
    assert averages["aten::cat"].self_cpu_memory_usage == 12 * 4
    shapes = {e.key: e.input_shapes for e in prof.events()}
    assert shapes["aten::relu"] == [[2, 3]] and shapes["aten::exp"] == [[5, 3]]
    rows = prof.key_averages().table(sort_by="self_cpu_memory_usage").splitlines()[3:6]
    assert [r.split()[0] for r in rows[:3]] == ["aten::exp", "aten::cat", "aten::relu"]


def test_unknown_sort_key_is_named():
    with dp.profile() as prof:
        ds.ones(2).exp()
    with pytest.raises(ValueError, match="sort_by 'cpu_tme_total'"):
        prof.key_averages().table(sort_by="cpu_tme_total")
    prof.key_averages().table(sort_by="cuda_time_total")  # torch's spellings are accepted


def test_chrome_trace_is_valid_json(tmp_path):
    with dp.profile(record_shapes=True, profile_memory=True) as prof:
        with dp.record_function("model_inference"):
            matmul_model(ds)
    for name in ["trace.json", "trace.json.gz"]:
        path = tmp_path / name
        prof.export_chrome_trace(str(path))
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt") as f:
            doc = json.load(f)
        spans = [e for e in doc["traceEvents"] if e["ph"] == "X"]
        assert {"model_inference", "aten::relu", "ReluBackward0"} <= {e["name"] for e in spans}
        for e in spans:
            assert {"name", "ts", "dur", "pid", "tid", "cat"} <= set(e) and e["dur"] >= 0
        relu = next(e for e in spans if e["name"] == "aten::relu")
        assert relu["args"]["Input Dims"] == [[2, 3]]


def test_stack_and_group_by_stack(tmp_path):
    with dp.profile(with_stack=True) as prof:
        ds.ones(2).exp()
    exp = next(e for e in prof.events() if e.name == "aten::exp")
    assert "test_profiler.py" in exp.stack[0] and "test_stack_and_group_by_stack" in exp.stack[0]
    table = prof.key_averages(group_by_stack_n=2).table()
    assert "Source Location" in header_row(table)
    prof.export_stacks(str(tmp_path / "stacks.txt"))
    line = (tmp_path / "stacks.txt").read_text().splitlines()[0]
    assert re.fullmatch(r".*test_stack_and_group_by_stack;aten::\w+ \d+", line), line


# ---- record_function ----

def test_record_function_ranges_nest_and_contain_their_ops():
    with dp.profile() as prof:
        with dp.record_function("outer"):
            ds.ones(2).exp()
            with dp.record_function("inner"):
                ds.ones(2).relu()
    events = {e.name: e for e in prof.events()}
    outer, inner = events["outer"], events["inner"]
    assert inner.cpu_parent is outer and events["aten::relu"].cpu_parent is inner
    assert events["aten::exp"].cpu_parent is outer
    for child, parent in [(inner, outer), (events["aten::relu"], inner)]:
        assert parent.time_range.start <= child.time_range.start
        assert child.time_range.end <= parent.time_range.end
    assert outer.self_cpu_time_total <= outer.cpu_time_total
    assert outer.cpu_parent is None and outer.is_user_annotation


def test_record_function_as_decorator_recurses():
    @dp.record_function("step")
    def step(n):
        ds.ones(1).exp()
        if n:
            step(n - 1)

    with dp.profile() as prof:
        step(2)
    steps = [e for e in prof.events() if e.name == "step"]
    assert len(steps) == 3 and steps[1].cpu_parent is steps[0] and steps[2].cpu_parent is steps[1]


def test_record_function_outside_a_profile_records_nothing():
    with dp.record_function("nothing"):
        ds.ones(2).exp()
    with dp.profile() as prof:
        pass
    assert len(prof.events()) == 0


# ---- patching ----

def test_forwards_restored_after_exit_and_on_exception():
    before = originals()
    with dp.profile():
        assert REGISTRY["relu"].forward is not before["relu"][0]
        assert REGISTRY["relu"].vjp is not before["relu"][1]
    assert originals() == before
    with pytest.raises(ZeroDivisionError):
        with dp.profile():
            ds.ones(2).exp()
            raise ZeroDivisionError
    assert originals() == before


class Square(ds.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_autograd_function_backward_is_a_named_node():
    x = ds.ones(3, requires_grad=True)
    before = ds.autograd.function._FunctionOp.vjp
    with dp.profile() as prof:
        Square.apply(x).sum().backward()
    assert ds.autograd.function._FunctionOp.vjp is before
    events = {e.name: e for e in prof.events()}
    assert events["SquareBackward"].cpu_parent.name == \
        "autograd::engine::evaluate_function: SquareBackward"
    assert any(c.name == "aten::mul" for c in events["SquareBackward"].cpu_children)


def test_nested_profiles_share_the_patching():
    before = originals()
    with dp.profile() as outer:
        ds.ones(2).exp()
        with dp.profile() as inner:
            ds.ones(2).relu()
        assert originals() != before  # the outer profile still records
        ds.ones(2).neg()
    assert originals() == before
    assert {"aten::exp", "aten::relu", "aten::neg"} <= set(counts(outer))
    assert "aten::relu" in counts(inner) and "aten::exp" not in counts(inner)


def test_ops_on_another_thread_are_recorded_with_its_id():
    with dp.profile() as prof:
        worker = threading.Thread(target=lambda: ds.ones(2).exp())
        worker.start()
        worker.join()
        ds.ones(2).neg()
    threads = {e.name: e.thread for e in prof.events()}
    assert threads["aten::exp"] != threads["aten::neg"]


def test_manual_start_stop_and_zero_ops(tmp_path):
    prof = dp.profile(record_shapes=True, profile_memory=True)
    prof.start()
    prof.stop()
    assert len(prof.events()) == 0 and prof.key_averages().table() == ""
    assert prof.key_averages().total_average().count == 0
    prof.export_chrome_trace(str(tmp_path / "empty.json"))
    assert json.loads((tmp_path / "empty.json").read_text())["traceEvents"]


def test_misuse_is_named():
    with pytest.raises(TypeError, match="activities"):
        dp.profile(activities=["CPU"])
    with pytest.raises(RuntimeError, match="nothing recorded yet"):
        dp.profile().events()
    with pytest.warns(UserWarning, match="CUDA"):
        dp.profile(activities=[dp.ProfilerActivity.CPU, dp.ProfilerActivity.CUDA])


def test_legacy_autograd_profile():
    from deepseek.profiler.profiler import LegacyProfile

    with torch.autograd.profiler.profile(record_shapes=True) as tprof:
        matmul_model(torch)
    with LegacyProfile(record_shapes=True) as prof:
        matmul_model(ds)
    ours = prof.table(sort_by="self_cpu_time_total", row_limit=3)
    assert header_row(ours) == header_row(tprof.table(sort_by="self_cpu_time_total"))
    assert {e.name for e in prof.function_events} >= {"aten::relu", "ReluBackward0"}
    assert prof.self_cpu_time_total > 0 and prof.total_average().count == len(prof.events())
    with LegacyProfile(enabled=False) as off:
        ds.ones(2).exp()
    with pytest.raises(RuntimeError, match="nothing recorded"):
        _ = off.function_events
