"""The benchmark scripts: mode collapse (records, resumes, reports) and augmentation."""

import importlib.util
import json
import os

import keras
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "benchmarks", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mode_collapse_records_resumes_and_reports(tmp_path, capsys):
    script = load_script("mode_collapse")
    args = ["--configs", "gan_ring8", "--steps", "3", "--out", str(tmp_path),
            "--backend", keras.backend.backend()]
    assert script.main([*args, "--seeds", "1"]) == 0
    assert script.main([*args, "--seeds", "2"]) == 0  # seed 0 is reused, seed 1 runs
    output = capsys.readouterr().out
    assert "1 runs to do (1 of 1 configs x 2 seeds already in" in output

    with open(tmp_path / "mode_collapse_runs.jsonl", encoding="utf-8") as f:
        runs = [json.loads(line) for line in f]
    assert [(r["config"], r["seed"], r["generator_steps"]) for r in runs] == [
        ("gan_ring8", 0, 3), ("gan_ring8", 1, 3)]
    report = (tmp_path / "mode_collapse.md").read_text(encoding="utf-8")
    assert "| **gan_ring8 [--steps 3]** (best) |" in report and "| 2 | 3 |" in report
    assert "VEEGAN (published)" in report
    assert (tmp_path / "mode_collapse_gan_ring8.png").stat().st_size > 0
    summary = json.loads((tmp_path / "mode_collapse.json").read_text(encoding="utf-8"))
    assert summary["summary"]["gan_ring8 [--steps 3]"]["seeds"] == 2


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="bookkeeping only (arms, resume, report); the conditional models it trains pass the "
    "conformance suite on every backend; runs once, in the tensorflow pass (2-minute test on JAX)",
)
def test_augmentation_runs_the_three_arms_and_resumes(tmp_path, capsys):
    script = load_script("augmentation")
    args = ["--seeds", "1", "--gan-steps", "20", "--synthetic-per-class", "3", "--classifier-steps", "2",
            "--out", str(tmp_path), "--backend", keras.backend.backend()]
    assert script.main(args) == 0
    assert script.main(args) == 0  # the recorded seed is reused
    output = capsys.readouterr().out
    assert "0 seeds to run, 1 recorded" in output
    with open(tmp_path / "augmentation_runs.jsonl", encoding="utf-8") as f:
        runs = [json.loads(line) for line in f]
    assert len(runs) == 1 and runs[0]["gan_generator_steps"] == 20
    assert set(runs[0]["accuracy"]) == set(script.ARMS)
    assert all(0.0 <= v <= 1.0 for v in runs[0]["accuracy"].values()) and 0.0 <= runs[0]["gan_test"] <= 1.0
    report = (tmp_path / "augmentation.md").read_text(encoding="utf-8")
    assert "(b) - (a), paired by seed" in report and "| (a) 1 000 real images |" in report


def test_small_subset_takes_100_distinct_images_per_class():
    script = load_script("augmentation")
    y = np.repeat(np.arange(10), 150)
    x = np.arange(len(y))
    picked, labels = script.small_subset(x, y, seed=3)
    assert len(set(picked.tolist())) == 1000
    np.testing.assert_array_equal(np.bincount(labels), [100] * 10)
    np.testing.assert_array_equal(y[picked], labels)
