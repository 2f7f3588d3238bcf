"""benchmarks/compare_commits.py: ratios, medians, verdicts, the report and argument checks (no timing)."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location(
        "compare_commits", os.path.join(ROOT, "benchmarks", "compare_commits.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stub_runner(rates):
    """A runner returning steps/s from `rates[(side, backend)]`, one per call in turn, and its call log."""
    calls = []

    def runner(side, backend):
        calls.append((side, backend))
        return {"steps_per_second": rates[(side, backend)].pop(0), "window_rates": [1.0]}

    return runner, calls


SIDES = {"before": {"commit_text": "`aaa`"}, "after": {"commit_text": "`bbb` with uncommitted changes"}}


def test_rounds_alternate_which_side_goes_first(compare):
    runner, calls = stub_runner({("before", "jax"): [2.0, 2.0, 2.0], ("after", "jax"): [2.0, 2.0, 2.0],
                                 ("before", "torch"): [1.0, 1.0, 1.0], ("after", "torch"): [1.0, 1.0, 1.0]})
    runs = compare.measure(SIDES, ["jax", "torch"], 3, runner, log=lambda line: None)
    assert calls == [("before", "jax"), ("after", "jax"), ("before", "torch"), ("after", "torch"),
                     ("after", "jax"), ("before", "jax"), ("after", "torch"), ("before", "torch"),
                     ("before", "jax"), ("after", "jax"), ("before", "torch"), ("after", "torch")]
    assert [r["round"] for r in runs] == [0] * 4 + [1] * 4 + [2] * 4
    assert runs[0]["window_rates"] == [1.0]


def test_summary_median_of_per_round_ratios_and_verdict(compare):
    runner, _ = stub_runner({("before", "jax"): [2.0, 4.0, 2.0], ("after", "jax"): [2.0, 3.0, 1.8],
                             ("before", "torch"): [1.0, 1.0, 1.0], ("after", "torch"): [0.9, 0.96, 0.95]})
    runs = compare.measure(SIDES, ["jax", "torch"], 3, runner, log=lambda line: None)
    summary = compare.summarize(runs, ["jax", "torch"])
    jax = summary["jax"]
    assert jax["ratios"] == pytest.approx([1.0, 0.75, 0.9])
    assert jax["median_ratio"] == pytest.approx(0.9)  # the median of the ratios, not the ratio of the medians
    assert (jax["min_ratio"], jax["max_ratio"]) == pytest.approx((0.75, 1.0))
    assert (jax["before"], jax["after"]) == pytest.approx((2.0, 2.0))
    assert jax["pass"] is False
    assert summary["torch"]["median_ratio"] == pytest.approx(0.95) and summary["torch"]["pass"] is True
    assert compare.summarize(runs, ["torch"], threshold=0.96)["torch"]["pass"] is False


def test_summary_even_rounds_and_incomplete_rounds(compare):
    runs = [{"round": 0, "backend": "jax", "side": "before", "steps_per_second": 1.0},
            {"round": 0, "backend": "jax", "side": "after", "steps_per_second": 0.9},
            {"round": 1, "backend": "jax", "side": "after", "steps_per_second": 1.1},
            {"round": 1, "backend": "jax", "side": "before", "steps_per_second": 1.0},
            {"round": 2, "backend": "jax", "side": "after", "steps_per_second": 5.0}]  # no pair: left out
    summary = compare.summarize(runs, ["jax"])["jax"]
    assert summary["ratios"] == pytest.approx([0.9, 1.1])
    assert summary["median_ratio"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no complete round for backend 'torch'"):
        compare.summarize(runs, ["torch"])


def test_markdown_table_and_report(compare):
    summary = {"tensorflow": {"before": 1.5, "after": 1.52, "ratios": [1.01, 0.99, 1.02], "median_ratio": 1.01,
                              "min_ratio": 0.99, "max_ratio": 1.02, "pass": True},
               "jax": {"before": 1.2, "after": 1.0, "ratios": [0.8], "median_ratio": 0.8,
                       "min_ratio": 0.8, "max_ratio": 0.8, "pass": False}}
    lines = compare.table(summary).splitlines()
    assert lines[0].startswith("| backend | before steps/s | after steps/s |")
    assert lines[2] == ("| tensorflow | 1.500 | 1.520 | 1.010, 0.990, 1.020 | **1.010** | 0.990-1.020 "
                        "| pass (>= 0.95) |")
    assert lines[3].endswith("| **0.800** | 0.800-0.800 | FAIL (< 0.95) |")

    early = {"applied": True, "at_apply": {"frameworks_imported": [], "os_threads": 1}}
    late = {"applied": True, "at_apply": {"frameworks_imported": ["keras", "jax"], "os_threads": 3}}
    report = {
        "timing": {"warmup": 4, "windows": 4, "window": 6, "batch": 128},
        "machine": {"model": "Some CPU", "cores": 2}, "started_utc": "2026-12-01 10:00:00",
        "finished_utc": "2026-12-01 10:30:00", "wall_s": 1800.0, "python": "3.11.9",
        "packages": {"keras": "3.0"}, "rounds": 3, "threshold": 0.95, "env": {},
        "command": "python benchmarks/compare_commits.py --before a --after .",
        "sides": {"before": {"spec": "a", "path": "/tmp/x", "commit_text": "`aaa`",
                             "probes": {"jax": {**early, "worker_alone": late}},
                             "launch": {"jax": "wrapper"}},
                  "after": {"spec": ".", "path": "/repo", "commit_text": "`bbb` with uncommitted changes",
                            "probes": {"jax": early}, "launch": {"jax": "the worker as is"}}},
        "summary": summary,
    }
    text = compare.markdown(report)
    assert "(30.0 min) on Some CPU, 2 cores" in text
    assert "`bbb` with uncommitted changes" in text
    assert "jax: applied; imported before it: none of keras/tensorflow/jax/torch; OS threads then: 1" in text
    assert "**Verdict: REGRESSION on jax** (median per-round ratio < 0.95)." in text and lines[2] in text
    summary["jax"]["pass"] = True
    assert "**Verdict: no regression**" in compare.markdown(report)


def test_memory_descriptions(compare):
    late = {"applied": True, "at_apply": {"frameworks_imported": ["keras", "tensorflow"], "os_threads": 3}}
    assert compare.describe_memory(late) == "applied; imported before it: keras, tensorflow; OS threads then: 3"
    assert compare.describe_memory({"applied": False, "at_apply": None}).startswith("NOT applied")
    assert not compare.applied_early(late)
    assert compare.applied_early({"applied": True, "at_apply": {"frameworks_imported": [], "os_threads": 1}})
    assert not compare.applied_early({"applied": False, "at_apply": None})
    assert not compare.applied_early({"applied": True, "at_apply": None})


@pytest.mark.parametrize("argv, message", [
    (["--rounds", "0"], "--rounds must be >= 1, got 0"),
    (["--window", "0"], "--window must be >= 1, got 0"),
    (["--backends", "jax", "jax"], "--backends repeats a backend"),
    (["--backends", "numpy"], "invalid choice: 'numpy'"),
    (["--threshold", "0"], "--threshold must be in (0, 2]"),
])
def test_argument_errors(compare, capsys, argv, message):
    with pytest.raises(SystemExit) as error:
        compare.parse_args(["--before", "a", "--after", "b", *argv])
    assert error.value.code == 2
    assert message in capsys.readouterr().err


def test_arguments_and_timing_defaults(compare, capsys):
    with pytest.raises(SystemExit):
        compare.parse_args(["--after", "b"])
    assert "--before" in capsys.readouterr().err
    args = compare.parse_args(["--before", "a", "--after", "b", "--warmup", "1"])
    assert args.backends == ["tensorflow", "jax", "torch"] and args.rounds == 5 and args.memory == "auto"
    assert (args.warmup, args.windows, args.window, args.batch) == (1, 4, 6, 128)
    spec = importlib.util.spec_from_file_location("_timing", os.path.join(ROOT, "benchmarks", "_timing.py"))
    timing = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timing)
    assert compare.TIMING_DEFAULTS == timing.DEFAULTS  # the worker's own defaults


def test_worker_command(compare):
    timing = {"warmup": 1, "windows": 2, "window": 3, "batch": 128}
    plain = compare.worker_command("/t", timing, False)
    assert plain[1:] == ["/t/benchmarks/train_step.py", "--worker", "ganzoo", "--warmup", "1", "--windows", "2",
                         "--window", "3", "--batch", "128"]
    wrapped = compare.worker_command("/t", timing, True)
    assert wrapped[1:3] == ["-c", compare.LAUNCHER] and wrapped[3:] == plain[1:]


def test_bad_ref_is_reported(compare, tmp_path):
    with pytest.raises(RuntimeError, match="no-such-ref"):
        compare.resolve_side("no-such-ref-xyz", ROOT, str(tmp_path))
    side = compare.resolve_side(str(tmp_path), ROOT, str(tmp_path))  # a directory outside git: used as is
    assert side["commit"] is None and side["commit_text"] == "not a git tree" and not side["worktree"]


def test_fashion_mnist_search_and_missing_data_message(compare, monkeypatch, tmp_path, capsys):
    (tmp_path / "fashion-mnist").mkdir()
    (tmp_path / "fashion-mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"")
    monkeypatch.setenv("GANZOO_DATA", str(tmp_path))
    monkeypatch.setattr(compare, "SYSTEM_DIRS", ())
    assert compare.fashion_mnist_dir() == str(tmp_path / "fashion-mnist")
    monkeypatch.delenv("GANZOO_DATA")
    assert compare.fashion_mnist_dir() is None
    with pytest.raises(SystemExit) as error:
        compare.main(["--before", "a", "--after", "b"])
    assert str(error.value).startswith("compare_commits: Fashion-MNIST not found") and "\n" not in str(error.value)


def test_launcher_and_probe_are_python(compare):
    compile(compare.LAUNCHER, "<launcher>", "exec")
    compile(compare.PROBE, "<probe>", "exec")
    assert "sys.argv = sys.argv[2:]" in compare.PROBE and "ctypes.dlsym" in compare.PROBE
