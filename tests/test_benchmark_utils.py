"""deepseek.utils.benchmark against torch.utils.benchmark: Measurement reprs and statistics,
Compare tables, the unit and significant-figure helpers, and Timer's block sizing and stopping
rules, all on fixed times or a fake clock (never on measured speed), plus the errors."""

from __future__ import annotations

import doctest
import random
import pytest
import torch
import torch.utils.benchmark as tb

import deepseek as ds
import deepseek.utils.benchmark as db
from deepseek.utils.benchmark.utils import common as ds_common, compare as ds_compare
from deepseek.utils.benchmark.utils import timer as ds_timer


class FakeClock:
    """A clock that moves only when the statement runs (``clock.tick()``: the next cost in
    ``costs``, cycling) or is read (``read_cost``), so every timing is deterministic."""

    def __init__(self, costs: list, read_cost: float = 0.0) -> None:
        self.now, self.costs, self.read_cost, self.ticks = 0.0, costs, read_cost, 0

    def read(self) -> float:
        self.now += self.read_cost
        return self.now

    def tick(self) -> None:
        self.now += self.costs[self.ticks % len(self.costs)]
        self.ticks += 1


def _timers(costs: list, read_cost: float = 0.0, **kwargs) -> tuple:
    """The same statement on two fresh, identical fake clocks: deepseek's Timer, torch's."""
    made = []
    for module in (db, tb):
        clock = FakeClock(costs, read_cost)
        made.append(module.Timer("clock.tick()", timer=clock.read, globals={"clock": clock},
                                 **kwargs))
    return tuple(made)


def _pair(number: int, raw_times: list, stmt: str = "f(x)", setup: str = "pass", **spec) -> tuple:
    """One set of runs as a deepseek Measurement and as a torch Measurement."""
    return tuple(module.Measurement(number, list(raw_times), module.TaskSpec(stmt, setup, **spec))
                 for module in (db, tb))


def _body(m) -> str:
    """A repr without its first line (which names the class and its address)."""
    return repr(m).split("\n", 1)[1]


def _noisy(rng: random.Random, center: float, spread: float, n: int) -> list:
    return [center * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


# ----------------------------------------------------------------------------- Measurement

REPR_CASES = {
    "one run, ns": (100, [3.21e-7]),
    "two runs": (10, [1.234e-5, 2e-5]),
    "three runs, s": (1, [1.5, 1.6, 1.55]),
    "four runs, us": (1000, [1.0e-3, 1.01e-3, 1.02e-3, 1.0e-3]),
    "fluctuation": (1, [1e-3, 1.02e-3, 1.12e-3, 1.15e-3, 1.0e-3, 1.2e-3]),
    "environmental": (1, [1e-3, 1.1e-3, 1.2e-3, 5e-3]),
    "many, ms": (7, [x * 1e-3 for x in range(1, 200)]),
    "boundary 1000 ns": (1, [1e-6, 1e-6, 1e-6, 1e-6]),
    "boundary 999 ns": (1, [9.99e-7] * 5),
}


@pytest.mark.parametrize("case", list(REPR_CASES))
def test_measurement_repr_and_statistics_match_torch(case: str) -> None:
    number, raw = REPR_CASES[case]
    for spec in ({}, {"label": "Add", "sub_label": "float", "description": "n=4"},
                 {"sub_label": "s", "num_threads": 4}):
        mine, theirs = _pair(number, raw, **spec)
        assert _body(mine) == _body(theirs), f"{case} {spec}"
        assert repr(mine).startswith("<deepseek.utils.benchmark.utils.common.Measurement object")
        assert mine.times == theirs.times
        for name in ("median", "mean", "iqr"):
            assert getattr(mine, name) == pytest.approx(getattr(theirs, name), rel=1e-12), name
        assert mine.significant_figures == theirs.significant_figures, case
        assert mine.has_warnings == theirs.has_warnings, case
        assert mine.meets_confidence(0.05) == theirs.meets_confidence(0.05)
        assert (mine.title, mine.num_threads, mine.stmt, mine.as_row_name) == (
            theirs.title, theirs.num_threads, theirs.stmt, theirs.as_row_name)


def test_measurement_repr_multiline_code_matches_torch() -> None:
    for stmt, setup in (("x + y\nz = 1", "y = 1\nx = 2"), ("x + y", "y = 1"), ("", "pass")):
        mine, theirs = _pair(1, [1e-3, 1.1e-3, 1.2e-3, 5e-3], stmt, setup, sub_label="s")
        assert _body(mine) == _body(theirs), (stmt, setup)


def test_significant_figures_match_torch() -> None:
    rng = random.Random(0)
    for trial in range(200):
        n = rng.randint(1, 40)
        raw = _noisy(rng, 10 ** rng.uniform(-8, 0), rng.choice([1e-4, 1e-3, 1e-2, 0.3]), n)
        mine, theirs = _pair(rng.choice([1, 10, 100]), raw)
        assert mine.significant_figures == theirs.significant_figures, (trial, raw)
        assert _body(mine) == _body(theirs), (trial, raw)


def test_iqr_warning_text() -> None:
    quiet, _ = _pair(1, [1.0, 1.01, 1.02, 1.0])
    shaky, _ = _pair(1, [1.0, 1.12, 1.15, 1.2, 1.0, 1.02])
    gross, _ = _pair(1, [1.0, 1.1, 1.2, 5.0])
    assert not quiet.has_warnings and "WARNING" not in repr(quiet)
    assert shaky.has_warnings and repr(shaky).endswith(
        "  WARNING: Interquartile range is 12.9% of the median measurement.\n"
        "           This could indicate system fluctuation.")
    assert gross.has_warnings and repr(gross).endswith(
        "  WARNING: Interquartile range is 93.5% of the median measurement.\n"
        "           This suggests significant environmental influence.")


def test_measurement_fields_forward_and_env() -> None:
    m, _ = _pair(5, [1.0, 2.0], label="L", description="d", num_threads=3)
    assert (m.label, m.description, m.num_threads, m.setup, m.global_setup) == (
        "L", "d", 3, "pass", "")
    assert m.times == [0.2, 0.4] and m.metadata is None
    # torch's property reads a missing attribute and so falls back to the raw None.
    assert m.env == "Unspecified env"
    assert db.Measurement(1, [1.0], db.TaskSpec("x", "pass", env="A")).env == "A"
    for module in (db, tb):
        with pytest.raises(AttributeError):
            _ = module.Measurement(1, [1.0], module.TaskSpec("x", "pass")).no_such_field


def test_empty_measurement_refuses_to_summarize() -> None:
    m = db.Measurement(1, [], db.TaskSpec("x", "pass"))
    for read in (lambda: m.median, lambda: repr(m), lambda: m.significant_figures):
        with pytest.raises(ValueError, match="no raw_times"):
            read()


def test_merge_matches_torch() -> None:
    specs = [dict(stmt="a"), dict(stmt="b"), dict(stmt="a"), dict(stmt="a", env="X")]
    numbers = [10, 1, 4, 2]
    raws = [[1.0, 2.0], [3.0], [4.0, 8.0], [5.0]]
    mine, theirs = zip(*(_pair(n, r, **s) for n, r, s in zip(numbers, raws, specs)))
    mine[0].metadata = {"dropped": True}
    merged_mine, merged_theirs = db.Measurement.merge(mine), tb.Measurement.merge(theirs)
    assert [m.raw_times for m in merged_mine] == [m.raw_times for m in merged_theirs]
    assert [m.raw_times for m in merged_mine] == [[0.1, 0.2, 1.0, 2.0], [3.0], [2.5]]
    assert all(m.number_per_run == 1 and m.metadata is None for m in merged_mine)
    assert [m.task_spec for m in merged_mine] == [mine[0].task_spec, mine[1].task_spec,
                                                  mine[3].task_spec]


# ----------------------------------------------------------------------------- helpers


def test_helpers_exported_like_torch() -> None:
    leaked = {"math", "torch", "utils", "Number"}  # module-level imports torch's * leaks
    public = {name for name in dir(tb) if not name.startswith("_")} - leaked
    assert public <= set(dir(db)), public - set(dir(db))


def test_select_unit_matches_torch() -> None:
    rng = random.Random(1)
    values = [10.0 ** e for e in range(-11, 4)] + [k * 10.0 ** e for e in range(-10, 3)
                                                   for k in (0.999, 0.9999999, 1.0000001, 5)]
    values += [10 ** rng.uniform(-10, 3) for _ in range(500)]
    for t in values:
        assert db.select_unit(t) == tb.select_unit(t), t
    assert db.select_unit(1e-6) == ("us", 1e-6) and db.select_unit(9.99e-7) == ("ns", 1e-9)
    assert db.select_unit(12.0) == ("s", 1)
    for unit in ("ns", "us", "ms", "s"):
        assert db.unit_to_english(unit) == tb.unit_to_english(unit)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError):
            tb.select_unit(bad)
        with pytest.raises(ValueError):
            db.select_unit(bad)


def test_trim_sigfig_matches_torch() -> None:
    rng = random.Random(2)
    values = [3.14159, 123456.0, 0.5, 1.0, 0.15, 2.5, 999.96, -42.42]
    values += [10 ** rng.uniform(-9, 4) for _ in range(500)]
    for x in values:
        for n in (1, 2, 3, 4):
            assert db.trim_sigfig(x, n) == tb.trim_sigfig(x, n), (x, n)
    assert db.trim_sigfig(3.14159, 2) == pytest.approx(3.1, rel=1e-6)
    for module in (db, tb):
        with pytest.raises(AssertionError):
            module.trim_sigfig(1.0, 1.5)


def test_ordered_unique() -> None:
    data = [3, 1, 3, "a", 2, 1, "a"]
    assert db.ordered_unique(data) == tb.ordered_unique(data) == [3, 1, "a", 2]


# ----------------------------------------------------------------------------- Compare


def _grid(rng: random.Random, envs: tuple = (None,)) -> tuple:
    """Measurements over two labels, two sub_labels, three sizes and two thread counts, with
    replicates to merge, a missing cell and some noisy entries; deepseek's and torch's."""
    mine, theirs = [], []
    for label, base in (("add", 2e-6), ("matmul", 8e-3)):
        for threads in (1, 4):
            for env in envs:
                for sub_label, factor in (("float", 1.0), ("int", 2.7)):
                    for description, size in (("n=1", 1), ("n=64", 8), ("n=1024", 90)):
                        if (label, threads, sub_label, description) == ("add", 4, "int", "n=64"):
                            continue
                        center = base * factor * size / threads
                        spread = 0.4 if description == "n=64" else 0.02
                        for _ in range(2):
                            a, b = _pair(100, _noisy(rng, center * 100, spread, 6),
                                         stmt=f"{label}(x)", label=label, sub_label=sub_label,
                                         description=description, env=env,
                                         num_threads=threads)
                            mine.append(a)
                            theirs.append(b)
    return mine, theirs


COMPARE_OPTIONS = {
    "plain": (),
    "trim": ("trim_significant_figures",),
    "columnwise": ("colorize",),
    "rowwise": (("colorize", True),),
    "warnings": ("highlight_warnings",),
    "all": ("trim_significant_figures", "highlight_warnings", "colorize"),
}


@pytest.mark.parametrize("options", list(COMPARE_OPTIONS))
@pytest.mark.parametrize("envs", [(None,), ("A", "B")])
def test_compare_table_matches_torch(options: str, envs: tuple, capsys) -> None:
    mine, theirs = _grid(random.Random(3), envs)
    tables = []
    for module, results in ((db, mine), (tb, theirs)):
        compare = module.Compare(results[:5])
        compare.extend_results(results[5:])
        for option in COMPARE_OPTIONS[options]:
            name, *args = option if isinstance(option, tuple) else (option,)
            getattr(compare, name)(*args)
        tables.append(str(compare))
    assert tables[0] == tables[1], f"{options} {envs}\n{tables[0]}\n{tables[1]}"
    assert ("\033[92m" in tables[0]) == ("colorize" in str(COMPARE_OPTIONS[options]))
    assert ("(! " in tables[0]) == ("highlight_warnings" in COMPARE_OPTIONS[options])
    compare.print()
    assert capsys.readouterr().out == tables[1] + "\n"


def test_compare_layout() -> None:
    mine, _ = _grid(random.Random(4))
    text = str(db.Compare(mine))
    first = text.split("\n\n")[0].splitlines()
    assert first[0].startswith("[") and " add " in first[0]
    assert [cell.strip() for cell in first[1].split("|")] == ["", "n=1", "n=64", "n=1024"]
    assert first[2].startswith("1 threads: ---") and first[5].startswith("4 threads: ---")
    assert first[3].lstrip().startswith("float") and first[4].lstrip().startswith("int")
    assert "Times are in nanoseconds (ns)." in text  # each table picks its own unit
    assert "Times are in milliseconds (ms)." in text


def test_compare_without_descriptions_or_with_an_unspecified_env() -> None:
    # torch raises TypeError on both (it sorts and measures None): here None prints as "".
    runs = [db.Measurement(1, [2e-6], db.TaskSpec("f(x)", "pass", label="f")),
            db.Measurement(1, [3e-6], db.TaskSpec("g(x)", "pass", label="f", env="B"))]
    text = str(db.Compare(runs))
    assert "(Unspecified env)  f(x)" in text and "(B)" in text and "g(x)" in text


def test_compare_refuses_other_objects() -> None:
    for module in (db, tb):
        with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
            module.Compare([1.0])


def test_docstring_examples_run() -> None:
    for module in (ds_common, ds_compare, ds_timer):
        failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failures == 0, module.__name__


# ----------------------------------------------------------------------------- Timer


def test_timeit_matches_torch_on_a_fake_clock() -> None:
    mine, theirs = _timers([2e-6, 3e-6], read_cost=1e-7)
    a, b = mine.timeit(50), theirs.timeit(50)
    assert (a.number_per_run, a.raw_times) == (b.number_per_run, b.raw_times) == (50, [
        pytest.approx(25 * 5e-6 + 1e-7)])
    assert _body(a) == _body(b)


@pytest.mark.parametrize("costs,read_cost,min_run_time", [
    ([1e-3], 1e-8, 0.2),              # block of 1: overhead already negligible
    ([1e-6], 1e-7, 0.05),             # block of 1000 to bury the clock's overhead
    ([4e-7, 9e-7, 2e-7], 2e-8, 0.01),  # uneven costs
    ([0.3], 0.0, 0.2),                # one block already longer than min_run_time
])
def test_blocked_autorange_matches_torch(costs, read_cost, min_run_time) -> None:
    mine, theirs = _timers(costs, read_cost)
    calls: list = []
    a = mine.blocked_autorange(callback=lambda n, t: calls.append((n, t)),
                               min_run_time=min_run_time)
    b = theirs.blocked_autorange(min_run_time=min_run_time)
    assert (a.number_per_run, a.raw_times) == (b.number_per_run, b.raw_times)
    assert calls == [(a.number_per_run, t) for t in a.raw_times]
    assert sum(a.raw_times) >= min_run_time > sum(a.raw_times[:-1])
    assert _body(a) == _body(b)


def test_blocked_autorange_block_size() -> None:
    timer, _ = _timers([1e-6], read_cost=1e-7)
    assert timer.blocked_autorange(min_run_time=0.05).number_per_run == 1000
    timer, _ = _timers([1e-6], read_cost=1e-6)
    assert timer.blocked_autorange(min_run_time=0.05).number_per_run == 10000


@pytest.mark.parametrize("costs,kwargs,expected_runs", [
    ([1e-3], {}, 10),                                      # steady: min_run_time rules
    ([1e-2], {}, 4),                                       # steady: more than three runs
    ([1e-3, 3e-3, 1e-3, 6e-3], {"max_run_time": 0.05}, 19),  # noisy: max_run_time rules
    ([1e-3, 1.05e-3], {"threshold": 0.1}, 10),             # 5% IQR passes 10%
    ([1e-3, 1.3e-3], {"threshold": 0.1, "max_run_time": 0.02}, 18),
])
def test_adaptive_autorange_stopping_matches_torch(costs, kwargs, expected_runs) -> None:
    mine, theirs = _timers(costs, read_cost=1e-9)
    calls: list = []
    a = mine.adaptive_autorange(callback=lambda n, t: calls.append(t), **kwargs)
    b = theirs.adaptive_autorange(**kwargs)
    assert (a.number_per_run, a.raw_times) == (b.number_per_run, b.raw_times)
    assert len(a.raw_times) == expected_runs and calls == a.raw_times
    total = sum(a.raw_times)
    if "max_run_time" in kwargs and not a.meets_confidence(kwargs.get("threshold", 0.1)):
        assert total > kwargs["max_run_time"] >= sum(a.raw_times[:-1])
    else:
        assert total >= kwargs.get("min_run_time", 0.01) and len(a.raw_times) > 3


def test_num_threads_set_while_measuring_and_restored() -> None:
    prior = ds.get_num_threads()
    try:
        ds.set_num_threads(3)
        seen: list = []
        timer = db.Timer("seen.append(ds.get_num_threads())", globals={"seen": seen},
                         num_threads=2)
        timer.timeit(3)
        timer.blocked_autorange(min_run_time=1e-4)
        assert seen and set(seen) == {2} and ds.get_num_threads() == 3
        with pytest.raises(ZeroDivisionError):
            db.Timer("1 / 0", num_threads=1).timeit(1)
        assert ds.get_num_threads() == 3
        with db.set_torch_threads(1):
            assert ds.get_num_threads() == 1
        assert ds.get_num_threads() == 3
    finally:
        ds.set_num_threads(prior)


def test_globals_and_setup_reach_stmt() -> None:
    out: list = []
    user_globals = {"x": 21, "out": out}
    db.Timer("out.append(x * y + float(ds.ones(1).sum()))", setup="y = 2",
             globals=user_globals).timeit(3)
    assert out == [43.0] * 5  # 2 warmup executions, then 3 timed
    assert user_globals == {"x": 21, "out": out}  # copied: no __builtins__, no ds added
    seen: list = []
    db.Timer("""
        if True:
            seen.append(deepseek is ds)
    """, globals={"seen": seen}).timeit(1)
    assert seen == [True, True, True]


def test_stmt_tidied_like_torch() -> None:
    stmt = "\n    a = 1\n    b = a + 1\n   "
    mine, theirs = db.Timer(stmt), tb.Timer(stmt)
    assert mine._task_spec.stmt == theirs._task_spec.stmt == "a = 1\nb = a + 1"


def test_default_timer() -> None:
    import timeit

    assert not ds.cuda.is_available()  # so nothing to synchronize: the bare clock is used
    assert db.Timer()._timer.timer is timeit.default_timer
    assert isinstance(db.timer(), float)
    assert db.Language.PYTHON.value == tb.Language.PYTHON.value
    assert db.Language.CPP.value == tb.Language.CPP.value
    assert db.Timer(language="py")._language is db.Language.PYTHON


BAD_TIMERS = {
    "callable stmt": (ValueError, lambda m: m.Timer(stmt=lambda: 1)),
    "callable setup": (TypeError, lambda m: m.Timer(setup=lambda: 1)),
    "language": (ValueError, lambda m: m.Timer(language="rust")),
    "global_setup": (ValueError, lambda m: m.Timer(global_setup="#include <x>")),
    "repeat": (NotImplementedError, lambda m: m.Timer().repeat()),
    "autorange": (NotImplementedError, lambda m: m.Timer().autorange()),
    "num_threads": (RuntimeError, lambda m: m.Timer(num_threads=0).timeit(1)),
    "syntax": (SyntaxError, lambda m: m.Timer("x =")),
    "unknown name": (NameError, lambda m: m.Timer("undefined_name").timeit(1)),
}


@pytest.mark.parametrize("case", list(BAD_TIMERS))
def test_timer_errors_match_torch(case: str) -> None:
    error, make = BAD_TIMERS[case]
    with pytest.raises(error) as theirs:
        make(tb)
    with pytest.raises(error) as mine:
        make(db)
    if error in (ValueError, NotImplementedError):
        assert str(mine.value) == str(theirs.value)


def test_unimplemented_parts_say_what_is_missing() -> None:
    with pytest.raises(NotImplementedError, match="Language.CPP"):
        db.Timer("x", language="cpp")
    with pytest.raises(NotImplementedError, match="callgrind"):
        db.Timer().collect_callgrind()
    for name in ("Fuzzer", "FuzzedParameter", "ParameterAlias", "FuzzedTensor",
                 "FuzzedSparseTensor"):
        with pytest.raises(NotImplementedError, match=rf"\[benchmark.{name}\].*fuzzer"):
            getattr(db, name)("x")
    for name in ("CallgrindStats", "FunctionCount", "FunctionCounts", "CopyIfCallgrind"):
        with pytest.raises(NotImplementedError, match="callgrind"):
            getattr(db, name)()
    assert torch.utils.benchmark is tb
