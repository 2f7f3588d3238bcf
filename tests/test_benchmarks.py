"""The benchmark scripts: mode collapse (records, resumes, reports), augmentation, training-step arithmetic."""

import importlib.util
import io
import json
import os
import sys

import keras
import numpy as np
import pytest

from benchmarks import _train_step_report as step_report, _train_step_workers as step_workers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "benchmarks", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import would (dataclasses look their module up there)
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


def test_equal_budget_changes_only_the_budget():
    script = load_script("mode_collapse")
    from ganzoo import config as config_lib

    remedy, baseline = config_lib.load("pacgan4_grid25"), config_lib.load("gan_grid25")
    configs = script.equal_budget([baseline, remedy])
    assert configs[0] == baseline
    derived = configs[1]
    assert derived.name == "pacgan4_grid25@gan_grid25" and derived.data.dataset == "grid25"
    budget = (("model", ("latent_dim",)), ("data", ("batch_size",)), ("train", ("epochs", "steps_per_epoch")))
    for section, keys in budget:
        for key in keys:
            assert getattr(getattr(derived, section), key) == getattr(getattr(baseline, section), key)
    for network in ("generator", "discriminator"):
        assert getattr(derived.model, network)["hidden_units"] == getattr(baseline.model, network)["hidden_units"]
    # The remedy (packing, EMA, loss, optimizer settings) stays.
    for key in ("pack", "ema_decay", "loss", "r1_weight"):
        assert getattr(derived.model, key) == getattr(remedy.model, key)
    assert derived.train.d_learning_rate == remedy.train.d_learning_rate


def test_remedy_budget_trains_the_plain_gan_on_the_remedies_networks_and_steps():
    script = load_script("mode_collapse")
    from ganzoo import config as config_lib

    configs = script.remedy_budget([config_lib.load("pacgan4_grid25"), config_lib.load("gan_ring8")])
    assert [c.name for c in configs] == ["gan_grid25@r1_ema_grid25", "gan_ring8@r1_ema_ring8"]
    for derived in configs:
        dataset = derived.data.dataset
        plain, remedy = config_lib.load(f"gan_{dataset}"), config_lib.load(f"r1_ema_{dataset}")
        assert derived.model.generator["hidden_units"] == remedy.model.generator["hidden_units"] == [256] * 3
        assert (derived.model.latent_dim, derived.data.batch_size, derived.train.epochs) == (
            remedy.model.latent_dim, remedy.data.batch_size, remedy.train.epochs)
        # No remedy: the plain GAN's loss, no EMA, no R1, its optimizer settings.
        assert (derived.model.loss, derived.model.ema_decay, derived.model.r1_weight) == (
            plain.model.loss, plain.model.ema_decay, plain.model.r1_weight)
        assert derived.train.d_learning_rate == plain.train.d_learning_rate
    with pytest.raises(SystemExit):
        script.parse_args(["--equal-budget", "--remedy-budget"])


@pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="bookkeeping only (arms, resume, report); the conditional models it trains pass the "
    "conformance suite on every backend; runs once, in the torch pass (2-minute test on JAX)",
)
def test_augmentation_runs_recipes_with_equal_real_passes_and_resumes(tmp_path, capsys):
    script = load_script("augmentation")
    args = ["--seeds", "1", "--gan-steps", "20", "--pool-per-class", "100", "--real-epochs", "2",
            "--out", str(tmp_path), "--cache", str(tmp_path / "pools"), "--backend", keras.backend.backend()]
    assert script.main([*args, "--recipes", "plus_50,plus_100_confident,pretrain_finetune"]) == 0
    # A recipe added later reuses the cached pool (no cGAN is trained) and the recorded runs.
    assert script.main([*args, "--recipes", "plus_50,synthetic_only,real_reinit_1"]) == 0
    output = capsys.readouterr().out
    assert "4 runs to do, 0 recorded" in output and "2 runs to do, 4 recorded" in output
    with open(tmp_path / "augmentation_runs.jsonl", encoding="utf-8") as f:
        runs = {r["recipe"]: r for r in map(json.loads, f)}
    assert list(runs) == ["real", "plus_50", "plus_100_confident", "pretrain_finetune", "synthetic_only",
                          "real_reinit_1"]
    assert runs["real_reinit_1"]["classifier_steps"] == runs["real"]["classifier_steps"]
    assert len({r["gan_seconds"] for r in runs.values()}) == 1 and runs["real"]["gan_generator_steps"] == 20
    # Equal passes over the real images: an epoch is one pass over the recipe's set (batch 64).
    assert runs["real"]["classifier_steps"] == 2 * 16
    assert runs["plus_50"]["classifier_steps"] == 2 * 24 and runs["plus_50"]["training_images"] == 1500
    assert runs["plus_100_confident"]["training_images"] == 2000
    pretrain_epochs = script.RECIPES["pretrain_finetune"].pretrain_epochs
    assert runs["pretrain_finetune"]["classifier_steps"] == pretrain_epochs * 16 + 2 * 16
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in runs.values()) and 0.0 <= runs["real"]["gan_test"] <= 1.0
    # Another setting of the classifier gets its own section, first; the recorded ones stay.
    assert script.main([*args[:6], "--real-epochs", "1", *args[8:], "--recipes", "real"]) == 0
    report = (tmp_path / "augmentation.md").read_text(encoding="utf-8")
    assert report.count("## cGAN cgan_fashion_mnist, 20 generator steps; pool 100 per class;") == 2
    assert report.index("1 passes over the real images") < report.index("2 passes over the real images")
    assert "| real | 1 000 real images only | 1 |" in report and "Best recipe here: **" in report
    assert report.count("Noise check: ") == 1  # the 2-pass section, which has a real_reinit run
    assert "**real_reinit_1** (best)" not in report
    # Another pool size draws from the same cached cGAN (its training time is the recorded one).
    assert script.main([*args[:4], "--pool-per-class", "60", *args[6:], "--recipes", "real"]) == 0
    with open(tmp_path / "augmentation_runs.jsonl", encoding="utf-8") as f:
        last = json.loads(f.readlines()[-1])
    assert last["settings"]["pool_per_class"] == 60 and last["gan_seconds"] == runs["real"]["gan_seconds"]
    # --inits 2: each record is the mean of two classifiers from different starts; its own section.
    assert script.main([*args, "--inits", "2", "--recipes", "real"]) == 0
    with open(tmp_path / "augmentation_runs.jsonl", encoding="utf-8") as f:
        last = json.loads(f.readlines()[-1])
    assert len(last["accuracies"]) == 2 and last["accuracy"] == pytest.approx(np.mean(last["accuracies"]))
    assert "Each cell averages 2 classifiers" in (tmp_path / "augmentation.md").read_text(encoding="utf-8")
    # A DiffAugment policy of the cGAN is its own setting and its own cached cGAN; the default records none.
    augmented = script.parse_args(["--gan-augment", "translation,flip"])
    assert script.settings(augmented)["gan_augment"] == ["translation", "flip"]
    assert "gan_augment" not in script.settings(script.parse_args([]))
    assert script.cgan_name(augmented) != script.cgan_name(script.parse_args([]))
    with pytest.raises(SystemExit):  # a recipe that needs more images than the pool holds
        script.parse_args(["--pool-per-class", "50", "--recipes", "plus_100"])


def test_confidence_filter_keeps_each_class_surest_images():
    recipes = load_script("_augmentation_recipes")
    y = np.array([0, 0, 0, 1, 1, 1])
    probabilities = np.array([[.9, .1], [.2, .8], [.6, .4], [.5, .5], [.1, .9], [.7, .3]])
    x, labels = recipes.most_confident_per_class(np.arange(6), y, probabilities, 2)
    np.testing.assert_array_equal(x, [0, 2, 4, 3])
    np.testing.assert_array_equal(labels, [0, 0, 1, 1])


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="bookkeeping of the runners (each model passes "
                    "the conformance checks on every backend): run on torch, the shortest pass")
def test_anomaly_runs_every_method_resumes_and_reports(tmp_path, capsys):
    script = load_script("anomaly")
    args = ["--seeds", "1", "--classes", "7", "--epochs", "1", "--filters", "4", "--train-limit", "64",
            "--ocsvm-train", "64", "--test-limit", "500", "--out", str(tmp_path), "--backend", keras.backend.backend()]
    assert script.main(args) == 0
    assert script.main(args) == 0  # every run is recorded: nothing to do
    assert "anomaly: 0 runs to do, 4 recorded" in capsys.readouterr().out
    with open(tmp_path / "anomaly_runs.jsonl", encoding="utf-8") as f:
        runs = [json.loads(line) for line in f]
    assert sorted(r["method"] for r in runs) == sorted(script.METHODS)
    aurocs = {k: v for r in runs for k, v in r["auroc"].items()}
    assert set(aurocs) == set(script.COLUMNS) and all(0.0 <= v <= 1.0 for v in aurocs.values())
    assert aurocs["ocsvm"] > 0.8  # sneakers against the other nine classes, from 64 raw-pixel sneakers
    report = (tmp_path / "anomaly.md").read_text(encoding="utf-8")
    assert "| 7 Sneaker |" in report and "(n=1)" in report and "| **mean** |" in report and "88.4" in report


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="bookkeeping only: run on torch")
def test_anomaly_report_counts_runs_another_invocation_appended_meanwhile(tmp_path, monkeypatch):
    script = load_script("anomaly")
    record = script.append_run

    def append_and_another(path, run):  # the other process finishes seed 1 while this one runs seed 0
        record(path, run)
        record(path, {**run, "seed": 1})

    monkeypatch.setattr(script, "append_run", append_and_another)
    args = ["--seeds", "1", "--classes", "7", "--methods", "ocsvm", "--ocsvm-train", "64", "--test-limit", "300",
            "--out", str(tmp_path), "--backend", keras.backend.backend()]
    assert script.main(args) == 0
    assert "(n=2)" in (tmp_path / "anomaly.md").read_text(encoding="utf-8")


def test_small_subset_takes_100_distinct_images_per_class():
    script = load_script("augmentation")
    y = np.repeat(np.arange(10), 150)
    x = np.arange(len(y))
    picked, labels = script.small_subset(x, y, seed=3)
    assert len(set(picked.tolist())) == 1000
    np.testing.assert_array_equal(np.bincount(labels), [100] * 10)
    np.testing.assert_array_equal(y[picked], labels)


def test_speed_goals_need_the_pooled_ratio_and_the_median_of_the_rounds():
    assert step_report.goal_verdict(1.28, 1.26, 1.25) == "met"
    assert step_report.goal_verdict(1.28, 1.24, 1.25).startswith("NOT met: pooled reaches it")
    assert step_report.goal_verdict(1.20, 1.26, 1.25).startswith("NOT met: the median of the rounds reaches it")
    assert step_report.goal_verdict(1.0, 1.0, 1.25) == "NOT met"


def test_train_step_flops_and_timing_windows():
    script = load_script("train_step")
    from benchmarks import _timing  # pylint: disable=import-outside-toplevel

    # Steps end at t = 0, 1, 3, 6, 10, 15: after 1 warm-up step, windows of 2 steps.
    assert _timing.window_rates([0, 1, 3, 6, 10, 15], warmup=1, window=2) == [2 / 3, 2 / 7]
    # The dcgan_fashion_mnist networks, multiply-adds counted by hand from the architecture.
    generator = [100 * 7 * 7 * 128, 7 * 7 * 4 * 4 * 128 * 64, 14 * 14 * 4 * 4 * 64 * 32, 28 * 28 * 3 * 3 * 32]
    discriminator = [14 * 14 * 4 * 4 * 1 * 32, 7 * 7 * 4 * 4 * 32 * 64, 7 * 7 * 64]
    flops = script.dcgan_flops(28, 128)
    fwd_g, fwd_d = 2 * sum(generator), 2 * sum(discriminator)
    # ganzoo: G forward + G backward (no input gradient for the latents) + D 2x(forward+backward) + D
    # forward and input gradients for G's update.
    d_train = fwd_d + fwd_d - 2 * discriminator[0]
    g_train = fwd_g + fwd_g - 2 * generator[0]
    assert flops["ganzoo"] == 128 * (fwd_g + g_train + 2 * (fwd_d + d_train) + 2 * fwd_d)
    assert flops["keras_io"] - flops["ganzoo"] == 128 * fwd_g  # the second generator forward
    assert flops["pytorch_examples"] - flops["ganzoo"] == 128 * fwd_d  # D's unused weight gradients


def _cpuinfo(vendor, family, model, name, mhz, flags):
    """Two processors' entries of a /proc/cpuinfo, as Linux writes them."""
    entry = (f"processor\t: {{}}\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model}\n"
             f"model name\t: {name}\nstepping\t: 4\ncpu MHz\t\t: {mhz}\ncache size\t: 512 KB\n"
             f"flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sse sse2 ssse3 {flags}\n\n")
    return entry.format(0) + entry.format(1)


# Known CPUs, their FMA peak worked out by hand from the vendors' documentation:
# cores x GHz x FLOPs per core per cycle (fp32 FMAs per cycle x 2).
KNOWN_CPUS = {
    # Skylake-SP Gold: two 512-bit FMA units, 2 x 16 x 2 = 64 FLOPs/cycle; cpufreq's max is
    # the 3.7 GHz turbo. 4 x 3.7 x 64.
    "xeon_gold_6148": dict(
        cpuinfo=_cpuinfo("GenuineIntel", 6, 85, "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz", "2400.000",
                         "sse4_1 sse4_2 avx fma avx2 avx512f avx512dq avx512cd avx512bw avx512vl"),
        max_khz=3_700_000, cpus=4, peak=947.2, clock_source="cpufreq cpuinfo_max_freq"),
    # Haswell: two 256-bit FMA units, 2 x 8 x 2 = 32 FLOPs/cycle. 4 x 3.9 x 32.
    "core_i7_4770": dict(
        cpuinfo=_cpuinfo("GenuineIntel", 6, 60, "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz", "3400.000",
                         "sse4_1 sse4_2 avx fma avx2"),
        max_khz=3_900_000, cpus=4, peak=499.2, clock_source="cpufreq cpuinfo_max_freq"),
    # Sandy Bridge: AVX without FMA, one 256-bit multiply and one add a cycle, 16 FLOPs/cycle;
    # no cpufreq (a VM), so cpuinfo's 2.6 GHz. 8 x 2.6 x 16.
    "xeon_e5_2670": dict(
        cpuinfo=_cpuinfo("GenuineIntel", 6, 45, "Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz", "2600.000",
                         "sse4_1 sse4_2 avx"),
        max_khz=None, cpus=8, peak=332.8, clock_source="/proc/cpuinfo cpu MHz"),
    # Zen (family 0x17, model 1): AVX2 FMAs as two 128-bit halves on two FMA pipes,
    # 2 x 4 x 2 = 16 FLOPs/cycle. 2 x 2.0 x 16.
    "epyc_7551": dict(
        cpuinfo=_cpuinfo("AuthenticAMD", 23, 1, "AMD EPYC 7551 32-Core Processor", "2000.000",
                         "sse4_1 sse4_2 sse4a avx fma avx2"),
        max_khz=None, cpus=2, peak=64.0, clock_source="/proc/cpuinfo cpu MHz"),
}


@pytest.mark.parametrize("cpu", sorted(KNOWN_CPUS))
def test_cpu_facts_gives_the_fma_peak_of_known_cpus(cpu, monkeypatch):
    """cpu_facts on a known CPU's /proc/cpuinfo and sysfs gives its hand-computed FMA peak."""
    script = load_script("train_step")
    known = KNOWN_CPUS[cpu]

    def fake_open(path, *args, **kwargs):  # what cpu_facts reads, and nothing else
        if path == "/proc/cpuinfo":
            return io.StringIO(known["cpuinfo"])
        if path.endswith("/cpufreq/cpuinfo_max_freq") and known["max_khz"] is not None:
            return io.StringIO(f"{known['max_khz']}\n")
        raise FileNotFoundError(path)

    monkeypatch.setattr(script, "open", fake_open, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: known["cpus"])
    facts = script.cpu_facts()
    assert facts["fma_peak_gflops"] == pytest.approx(known["peak"], rel=1e-9), facts
    assert facts["cores"] == known["cpus"] and facts["clock_source"] == known["clock_source"]
    assert facts["model"] == known["cpuinfo"].split("model name\t: ")[1].split("\n")[0]
    assert bool(facts["fma_note"]) == (cpu == "epyc_7551")  # the report says why Zen counts half


def test_cpu_facts_of_this_machine_are_consistent():
    """On the real machine: every logical CPU counted, a finite clock, a peak of 4-64 FLOPs/cycle/core."""
    facts = load_script("train_step").cpu_facts()
    assert facts["cores"] == os.cpu_count()
    assert 0.1 < facts["ghz"] < 10, facts
    assert 4 <= facts["fma_peak_gflops"] / (facts["cores"] * facts["ghz"]) <= 64, facts


HLO = """\
%fused_computation.1 (param_0: f32[4,4]) -> f32[4,4] {
  %param_0 = f32[4,4]{1,0} parameter(0)
  %dot.1 = f32[4,4]{1,0} dot(%param_0, %param_0), lhs_contracting_dims={1}, rhs_contracting_dims={0}, \
metadata={op_name="jit(train_step)/transpose(jvp(generator))/conv2d_transpose_1/dot_general" stack_frame_id=3}
  ROOT %add.2 = f32[4,4]{1,0} add(%dot.1, %param_0), metadata={op_name="jit(train_step)/batch_normalization_2/add"}
}

ENTRY %main.3 (p: f32[4,4], x: f32[1,4,4,1], w: f32[3,3,1,1]) -> f32[4,4] {
  %p = f32[4,4]{1,0} parameter(0)
  %ynn_fusion.8 = f32[4,4]{1,0} fusion(%p), kind=kCustom, calls=%fused_computation.1, \
metadata={op_name="jit(train_step)/transpose(jvp(generator))/batch_normalization_2/add"}
  %convolution.4 = f32[1,4,4,1]{3,2,1,0} convolution(%x, %w), window={size=3x3 pad=1_1x1_1}, \
metadata={op_name="jit(train_step)/jvp(discriminator)/conv2d/conv_general_dilated"}
  %bitcast_pad_fusion.2 = f32[4,4]{1,0} fusion(%p), kind=kLoop, calls=%fused_computation.5, \
metadata={op_name="jit(train_step)/transpose(jvp(discriminator))/leaky_re_lu_3/select_n"}
  ROOT %add_fusion = f32[4,4]{1,0} fusion(%ynn_fusion.8), kind=kLoop, calls=%fused_computation.2, \
metadata={op_name="jit(train_step)/adam/add"}
}
"""


def test_train_step_names_each_xla_operation_by_its_layer_pass_and_work():
    assert step_workers.hlo_instructions(HLO) == {
        "param_0": ("other", "loss, optimizer, other", "forward"),
        "dot.1": ("matmul", "conv2d_transpose", "backward"),
        "add.2": ("other", "loss, optimizer, other", "forward"),
        "p": ("other", "loss, optimizer, other", "forward"),
        "ynn_fusion.8": ("matmul", "conv2d_transpose", "backward"),  # by its dot, not its fused add
        "convolution.4": ("convolution", "conv2d", "forward"),
        "bitcast_pad_fusion.2": ("other", "leaky_re_lu", "backward"),
        "add_fusion": ("other", "loss, optimizer, other", "forward"),
    }
    report = {"jax_ops": {"steps": 2, "step_ms": 100.0, "ms_per_step": {
        "conv2d_transpose|backward|matmul": 30.0, "conv2d_transpose|forward|other": 20.0,
        "leaky_re_lu|backward|other": 5.0}}}
    lines = step_report.jax_ops_markdown(report)
    assert "| conv2d_transpose | 0.0 | 20.0 | 30.0 | 0.0 | 50.0 | 50 % |" in lines
    assert lines.index("| conv2d_transpose | 0.0 | 20.0 | 30.0 | 0.0 | 50.0 | 50 % |") < \
        lines.index("| leaky_re_lu | 0.0 | 0.0 | 0.0 | 5.0 | 5.0 | 5 % |")
    assert "add up to 55 ms of the 100 ms step" in lines[-1]


def test_train_step_sorts_tensorflow_ops_and_bounds_the_fma_utilisation():
    script = load_script("train_step")
    kinds = {name: step_workers.tf_op_kind(name) for name in [
        "StatefulPartitionedCall/generator_1/conv2d_transpose_1/Conv2D:_MklNativePadWithConv2D",
        "StatefulPartitionedCall/Conv2DBackpropFilter_1:_MklNativeConv2DBackpropFilter",
        "StatefulPartitionedCall/gradient_tape/generator_1/batch_normalization_2_1/FusedBatchNormGradV3:"
        "_MklNativeFusedBatchNormGradV3",
        "StatefulPartitionedCall/MatMul_1:_MklMatMul", "StatefulPartitionedCall/concat:ConcatV2",
        "ExecutorState::Process", "ParallelFor"]}
    assert list(kinds.values()) == ["convolution", "convolution", "batch norm", "matmul (Dense)", "other ops",
                                    None, None]
    # 10 GFLOP of products; matmul peak 200 GFLOP/s (50 ms for them); FMA peak 400 GFLOP/s.
    report = {
        "machine": {"fma_peak_gflops": 400.0}, "matmul_peak": {"matmul_gflops": {"numpy": 150.0, "torch": 200.0}},
        "ganzoo_gflop_per_step": 10.0,
        "tf_ops": {"steps": 4, "step_ms": 100.0, "op_ms_per_step": {  # ops overlap: 160 ms of op time
            "convolution": 110.0, "batch norm": 10.0, "matmul (Dense)": 10.0, "other ops": 30.0}},
        "torch_ops": {"step_ms": 225.0, "ms_per_step": {"convolution": 100.0, "matmul (Dense)": 25.0,
                                                        "batch norm": 25.0, "other ops": 50.0}},
        "jax_ops": {"step_ms": 250.0, "ms_per_step": {"conv2d|forward|convolution": 100.0,
                                                      "dense|backward|matmul": 25.0, "re_lu|forward|other": 25.0}},
    }
    split = step_report.product_split(report)
    assert split["tensorflow"] == (100.0, 75.0, 25.0)  # products: 120 of the 160 ms of op time
    assert split["torch"] == (225.0, 125.0, 100.0) and split["jax"] == (250.0, 125.0, 125.0)
    lines = step_report.fma_headroom_markdown(report)
    # 60 % of 400 GFLOP/s: a step in 42 ms, and the products alone take 50 ms at the matmul peak.
    assert "means a whole step in 42 ms: out of reach on this machine" in lines[3]
    # torch: 10 GFLOP in 225 ms = 44 GFLOP/s = 11 %; products at 80 GFLOP/s; 10 GFLOP in 50 + 100 ms = 17 %.
    assert "| torch | 225 | 125 | 80 | 40 % | 100 | 11 % | 17 % |" in lines
    assert "| jax | 250 | 125 | 80 | 40 % | 125 | 10 % | 14 % |" in lines
    assert script.best_matmul([{"numpy": 150.0, "torch": 120.0}, {"numpy": 100.0, "torch": 300.0}]) == {
        "n": 2048, "measurements": 2, "matmul_gflops": {"numpy": 150.0, "torch": 300.0},
        "range": {"numpy": (100.0, 150.0), "torch": (120.0, 300.0)}}
    report["matmul_peak"]["matmul_gflops"]["torch"] = 300.0  # products in 33 ms: 8 ms left for the rest
    assert "would have to fit in 8 ms" in step_report.fma_headroom_markdown(report)[3]
    tf_lines = step_report.tf_ops_markdown(report)
    assert "add up to 160 ms in a 100 ms step" in tf_lines[3] and "| convolution | 110.0 | 69 % |" in tf_lines


def test_tensorflow_peer_runs_the_same_networks_on_keras_own_layers(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", keras.backend.backend())  # the peer sets it on import; restored after
    spec = importlib.util.spec_from_file_location("tf_peer", os.path.join(ROOT, "benchmarks", "peers",
                                                                          "tf_gradient_tape.py"))
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    from ganzoo.models import dcgan  # pylint: disable=import-outside-toplevel

    for model in (dcgan.build_generator((28, 28, 1), latent_dim=100, base_filters=32),
                  dcgan.build_discriminator((28, 28, 1), base_filters=32)):
        assert "ganzoo" in {type(layer).__module__.split(".")[0] for layer in model.layers}
        plain = peer.with_keras_layers(model)
        assert {type(layer).__module__.split(".")[0] for layer in plain.layers} == {"keras"}
        assert [type(layer).__name__ for layer in plain.layers] == [type(layer).__name__ for layer in model.layers]
        assert [layer.get_config() for layer in plain.layers[1:]] == [layer.get_config() for layer in model.layers[1:]]
        assert plain.count_params() == model.count_params()


def test_fid_curve_tabulates_kimg_and_fits_the_trend(tmp_path, capsys):
    script = load_script("fid_curve")
    kimg = np.array([10.0, 20.0, 30.0, 40.0])  # epochs of 1000 steps of 10 images
    fids = 5.0 + 1000.0 * kimg ** -0.5  # the floor plus an exact power law: the fit must give it back
    history = {"epoch": [1, 2, 3, 4], "fid_cnn": list(fids), "fid_cnn_floor": [5.0] * 4,
               "fid_resnet": list(fids / 100), "fid_resnet_floor": [0.05] * 4, "fid_vs_floor": [1.0] * 4}
    (tmp_path / "history.json").write_text(json.dumps(history), encoding="utf-8")
    (tmp_path / "config.yaml").write_text("data: {batch_size: 10}\ntrain: {steps_per_epoch: 1000}\n",
                                          encoding="utf-8")
    assert script.main([str(tmp_path), "--fit-from-kimg", "0"]) == 0
    output = capsys.readouterr().out
    assert "| 4 | 40 | 163.1 (32.6x) | 1.631 (32.6x) |" in output  # epoch 4: 40 000 images
    assert "kimg^-0.500" in output and "116.8 at 80 kimg" in output


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="backend-neutral script: run on torch")
def test_versus_test_split_scores_models_side_by_side(capsys):
    script = load_script("versus_test_split")
    assert script.main(["dcgan_digits", "dcgan_digits", "--n", "60"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| dcgan_digits |")]
    assert len(rows) == 4 and all(" | 1.000 | " in row for row in rows)  # a model against itself: ratio 1
    assert rows[0].split(" | ")[3] == rows[2].split(" | ")[3]  # same latents, same test images: same FID
