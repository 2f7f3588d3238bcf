"""Training speed: ganzoo's `fit` on three backends against hand-written reference loops.

The contenders train the DCGAN of ``zoo_configs/dcgan_fashion_mnist.yaml`` at
batch 128 on 28x28 Fashion-MNIST, each in its own process:

* ganzoo through ``fit`` on ``ganzoo.data.epoch_stream`` (what ``ganzoo train``
  runs) on TensorFlow (``jit_compile`` "auto", i.e. no XLA on a CPU, and
  ``jit_compile=True``), JAX and PyTorch;
* ``benchmarks/peers/tf_gradient_tape.py``: the keras.io-style TensorFlow loop,
  on Keras' own layers;
* ``benchmarks/peers/torch_loop.py``: the pytorch/examples-style PyTorch loop;
* two reference rows, not peers, to show what a piece of ganzoo alone is worth
  to a hand-written loop: the TensorFlow loop on ganzoo's layers
  (``ganzoo.layers``), and the PyTorch loop with glibc set through environment
  variables as ``ganzoo.backend.memory`` sets it from inside ganzoo.

Each process records the time after every step; steps/s is the median over
windows of consecutive steps after a warm-up, pooled over ``--rounds`` rounds
that run the contenders in turn (so slow drifts of a shared machine hit all of
them). The report adds analytical FLOPs per step (from the layer shapes, per
contender, since the loops do different work), achieved GFLOP/s, utilisation
of the CPU's fp32 FMA peak and of a measured large-matmul peak, the input
pipeline's cost per batch, a per-layer profile of the convolutions on each
backend, op-level profiles of ganzoo's TensorFlow step (TensorFlow's
profiler), its PyTorch step (``torch.profiler``) and its JAX step
(``jax.profiler``, each XLA operation put under its layer), from them how far
each backend is from 60 % of the FMA peak and what would have to change to get
there, and how step time grows with batch size and image size. It writes
``train_step.md``, ``train_step.json`` and ``train_step_scaling.png`` under
``--out``. This file runs the contenders and gathers the numbers; each
measurement is a worker of ``_train_step_workers.py`` (run here with
``--worker NAME``) and the report's tables come from ``_train_step_report.py``.

Usage (repo root, Fashion-MNIST installed: ``make data``)::

    python benchmarks/train_step.py [--rounds 2] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "benchmarks", "results")
sys.path.insert(0, ROOT)
# pylint: disable=wrong-import-position
from benchmarks._timing import DEFAULTS, SCALING as SCALING_TIMING  # noqa: E402
from benchmarks._train_step_report import fastest_ganzoo, markdown, plot_scaling  # noqa: E402
from benchmarks._train_step_workers import CONFIG, WORKER_PEAK_N, WORKERS  # noqa: E402
from ganzoo.backend import memory  # noqa: E402
# pylint: enable=wrong-import-position

BATCH = DEFAULTS["batch"]
TIMING = {key: DEFAULTS[key] for key in ("warmup", "windows", "window")}  # steps, per round
BATCH_SIZES = (32, 64, 128, 256, 512)
IMAGE_SIDES = (28, 32, 64)

# What `ganzoo.backend.memory.keep_freed_memory` sets with mallopt, as glibc's environment variables.
MALLOC_ENV = {variable: str(value) for _, value, variable in memory.SETTINGS}

# name -> (command after the python executable, environment, FLOP recipe)
CONTENDERS = {
    "ganzoo tensorflow": (["--worker", "ganzoo"], {"KERAS_BACKEND": "tensorflow"}, "ganzoo"),
    "ganzoo tensorflow + XLA": (["--worker", "ganzoo", "--jit", "1"], {"KERAS_BACKEND": "tensorflow"}, "ganzoo"),
    "ganzoo jax": (["--worker", "ganzoo"], {"KERAS_BACKEND": "jax"}, "ganzoo"),
    "ganzoo torch": (["--worker", "ganzoo"], {"KERAS_BACKEND": "torch"}, "ganzoo"),
    "peer: TF GradientTape loop": (["benchmarks/peers/tf_gradient_tape.py"], {}, "keras_io"),
    "peer: PyTorch loop": (["benchmarks/peers/torch_loop.py"], {}, "pytorch_examples"),
    "reference: TF GradientTape loop on ganzoo's layers": (
        ["benchmarks/peers/tf_gradient_tape.py", "--ganzoo-layers", "1"], {}, "keras_io"),
    "reference: PyTorch loop + ganzoo's glibc settings": (
        ["benchmarks/peers/torch_loop.py"], MALLOC_ENV, "pytorch_examples"),
}

# ---------------------------------------------------------------- machine
def cpu_facts():
    """The CPU as /proc/cpuinfo and sysfs describe it, and its fp32 FMA peak.

    peak = cores x clock x FMA units x fp32 SIMD lanes x 2. Lanes come from the
    flags (AVX-512: 16, AVX/AVX2: 8, else 4). Two FMA units per core, except
    AMD family 0x17 models below 0x30 (Zen, Zen+), whose 256-bit AVX2 FMAs run
    as two 128-bit halves on their two FMA pipes: counted as 2 units x 4 lanes.
    The clock is cpufreq's maximum where sysfs has it, else cpuinfo's "cpu MHz".
    """
    fields = {}
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if ":" in line:
                key, value = (part.strip() for part in line.split(":", 1))
                fields.setdefault(key, value)
    flags = set(fields.get("flags", "").split())
    cores = os.cpu_count()
    try:
        with open("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", encoding="utf-8") as f:
            ghz, clock_source = int(f.read()) / 1e6, "cpufreq cpuinfo_max_freq"
    except OSError:
        ghz, clock_source = float(fields.get("cpu MHz", "nan")) / 1e3, "/proc/cpuinfo cpu MHz"
    lanes = 16 if "avx512f" in flags else 8 if "avx" in flags else 4
    units = 2 if "fma" in flags else 1
    family, model = int(fields.get("cpu family", "0")), int(fields.get("model", "0"))
    note = ""
    if fields.get("vendor_id") == "AuthenticAMD" and family == 0x17 and model < 0x30 and lanes == 8:
        lanes, note = 4, "Zen/Zen+: 256-bit FMAs issue as two 128-bit halves"
    return {
        "model": fields.get("model name", platform.processor()),
        "vendor": fields.get("vendor_id"),
        "family": family,
        "model_number": model,
        "cores": cores,
        "ghz": ghz,
        "clock_source": clock_source,
        "fma_units": units,
        "fp32_lanes": lanes,
        "fma_note": note,
        "fma_peak_gflops": cores * ghz * units * lanes * 2,
        "isa": " ".join(sorted(f for f in flags if f.startswith(("avx", "fma", "sse4")))),
    }


# ------------------------------------------------------------------ FLOPs
def layer_flops(model, convolutions_only=False):
    """Per-sample forward FLOPs (2 x multiply-adds) of each Dense/Conv layer, input to output.

    With `convolutions_only`, Dense layers count 0.
    """
    import keras  # pylint: disable=import-outside-toplevel

    flops = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            kernel = layer.kernel.shape
            flops.append(0 if convolutions_only else 2 * kernel[0] * kernel[1])
        elif isinstance(layer, keras.layers.Conv2DTranspose):  # counted at its (smaller) input size
            kh, kw, cout, cin = layer.kernel.shape
            _, h, w, _ = layer.input.shape
            flops.append(2 * h * w * kh * kw * cin * cout)
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            flops.append(2 * h * w * kh * kw * cin * cout)
    return flops


def step_flops(g, d, batch, recipe):
    """Analytical FLOPs of one training step of `recipe`: "ganzoo", "keras_io" or "pytorch_examples".

    A layer's forward costs F; its weight gradient F and its input gradient F
    (skipped for a network's first layer when nothing needs a gradient there).
    Bias adds, batch norm, activations and the optimizers are not counted.
    """
    fwd_g, fwd_d = sum(g), sum(d)
    d_train = fwd_d + (fwd_d - d[0])  # weight gradients everywhere, input gradients after layer 1
    d_through = fwd_d  # input gradients only: the generator's update through D
    g_train = fwd_g + (fwd_g - g[0])  # the latent input needs no gradient
    per_sample = {
        # G forward once; D on real and fake; D again on the fake for G's update.
        "ganzoo": fwd_g + 2 * (fwd_d + d_train) + fwd_d + d_through + g_train,
        # G forward twice (D's batch, then G's); D on real+fake concatenated.
        "keras_io": 2 * fwd_g + 2 * (fwd_d + d_train) + fwd_d + d_through + g_train,
        # As ganzoo, but backward() through D for G's update also fills D's weight gradients.
        "pytorch_examples": fwd_g + 2 * (fwd_d + d_train) + fwd_d + d_through + fwd_d + g_train,
    }[recipe]
    return batch * per_sample


def dcgan_flops(side=28, batch=BATCH):
    """{recipe: FLOPs per step} for the config's DCGAN on `side` x `side` images."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from ganzoo import config as config_lib  # pylint: disable=import-outside-toplevel
    from ganzoo.training import run  # pylint: disable=import-outside-toplevel

    gan = run.build_from_config(config_lib.load(CONFIG), sample_shape=(side, side, 1))
    g, d = layer_flops(gan.generator), layer_flops(gan.discriminator)
    flops = {recipe: step_flops(g, d, batch, recipe) for recipe in ("ganzoo", "keras_io", "pytorch_examples")}
    g, d = layer_flops(gan.generator, True), layer_flops(gan.discriminator, True)
    return {**flops, "ganzoo convolutions": step_flops(g, d, batch, "ganzoo")}


# ------------------------------------------------------------ orchestration
def run_worker(command, env=None, timing=None):
    """Runs a worker or peer script in a fresh process and returns its last JSON line."""
    timing = timing or TIMING
    argv = [sys.executable] + (command if command[0].endswith(".py") else [__file__] + command)
    for key, value in timing.items():
        argv += [f"--{key}", str(value)]
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    proc = subprocess.run(argv, cwd=ROOT, env=full_env, capture_output=True, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{' '.join(argv)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all contenders, taken in turn")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--skip-scaling", action="store_true", help="leave out the batch/image-size sweep")
    # Worker mode (internal): one measurement in this process.
    parser.add_argument("--worker", choices=sorted(WORKERS))
    parser.add_argument("--jit", default="auto", choices=("auto", "0", "1"))
    parser.add_argument("--image", type=int, default=28)
    for key, value in {**TIMING, "batch": BATCH}.items():
        parser.add_argument(f"--{key}", type=int, default=value)
    args = parser.parse_args(argv)
    if args.worker:
        if args.worker not in ("peak", "pipeline"):  # ganzoo's workers train as `ganzoo train` does
            memory.keep_freed_memory()
        WORKERS[args.worker](args)
        return 0
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    started = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    cpu = cpu_facts()
    print(f"machine: {cpu['model']}, {cpu['cores']} cores at {cpu['ghz']:.2f} GHz; "
          f"FMA peak {cpu['fma_peak_gflops']:.0f} GFLOP/s", flush=True)
    peaks = []  # measured before the first round and after each

    def measure_peak():
        peaks.append(run_worker(["--worker", "peak"], timing={})["matmul_gflops"])
        print(f"measured matmul peak: {peaks[-1]}", flush=True)

    measure_peak()

    windows = {name: [] for name in CONTENDERS}
    per_round = {name: [] for name in CONTENDERS}  # each round's median, for side-by-side ratios
    extras = {}
    for round_index in range(args.rounds):
        for name, (command, env, _) in CONTENDERS.items():
            result = run_worker(command, env)
            windows[name] += result["window_rates"]
            per_round[name].append(result["steps_per_second"])
            extras[name] = {k: v for k, v in result.items() if k not in ("name", "window_rates", "steps_per_second")}
            print(f"round {round_index + 1} {name}: {result['steps_per_second']:.3f} steps/s "
                  f"(windows {', '.join(f'{r:.3f}' for r in result['window_rates'])})", flush=True)
        measure_peak()
    peak = best_matmul(peaks)
    flops = dcgan_flops()
    pipeline = run_worker(["--worker", "pipeline"], timing={})
    print(f"input pipeline alone: {pipeline['ms_per_batch']:.2f} ms per batch", flush=True)
    layers = {backend: run_worker(["--worker", "layers"], {"KERAS_BACKEND": backend}, timing={})["layers"]
              for backend in ("tensorflow", "jax", "torch")}
    torch_ops = run_worker(["--worker", "torch_ops"], {"KERAS_BACKEND": "torch"})
    torch_ops["convolution_gflop_per_step"] = flops["ganzoo convolutions"] / 1e9
    jax_ops = run_worker(["--worker", "jax_ops"], {"KERAS_BACKEND": "jax"})
    tf_ops = run_worker(["--worker", "tf_ops"], {"KERAS_BACKEND": "tensorflow"})

    rows = []
    for name, (_, _, recipe) in CONTENDERS.items():
        rate = statistics.median(windows[name])
        gflops = flops[recipe] * rate / 1e9
        rows.append({"name": name, "steps_per_second": rate, "windows": windows[name], "per_round": per_round[name],
                     "step_ms": 1000 / rate, "recipe": recipe, "gflop_per_step": flops[recipe] / 1e9,
                     "gflops": gflops, "fma_utilisation": gflops / cpu["fma_peak_gflops"],
                     "matmul_utilisation": gflops / max(peak["matmul_gflops"].values()),
                     **extras.get(name, {})})
    scaling = [] if args.skip_scaling else run_scaling(rows)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": cpu, "matmul_peak": peak, "timing": {**TIMING, "rounds": args.rounds},
        "batch": BATCH, "config": CONFIG, "rows": rows, "pipeline": pipeline, "layers": layers, "torch_ops": torch_ops,
        "jax_ops": jax_ops, "tf_ops": tf_ops, "ganzoo_gflop_per_step": flops["ganzoo"] / 1e9,
        "scaling": scaling, "seconds": time.perf_counter() - started,
    }
    with open(os.path.join(args.out, "train_step.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    if scaling:
        plot_scaling(scaling, os.path.join(args.out, "train_step_scaling.png"))
    with open(os.path.join(args.out, "train_step.md"), "w", encoding="utf-8") as f:
        f.write(markdown(report))
    print(markdown(report))
    return 0


def best_matmul(peaks):
    """The matmul peak of the report: each library's best of `peaks` (measurements spread over the run).

    This machine's speed drifts by tens of percent over minutes; the best
    measurement is the nearest to what the hardware can do, and it makes the
    bounds in `fma_headroom_markdown` the most generous to the goal.
    """
    return {"n": WORKER_PEAK_N, "measurements": len(peaks),
            "matmul_gflops": {lib: max(p[lib] for p in peaks) for lib in peaks[0]},
            "range": {lib: (min(p[lib] for p in peaks), max(p[lib] for p in peaks)) for lib in peaks[0]}}


def run_scaling(rows):
    """Step time of the fastest ganzoo contender over batch sizes (28x28) and image sizes (batch 128)."""
    best = fastest_ganzoo(rows)
    command, env, _ = CONTENDERS[best["name"]]
    points = [(b, 28) for b in BATCH_SIZES] + [(BATCH, side) for side in IMAGE_SIDES if side != 28]
    results = []
    for batch, side in points:
        result = run_worker(command + ["--batch", str(batch), "--image", str(side)], env, SCALING_TIMING)
        flops = dcgan_flops(side, batch)["ganzoo"]
        rate = result["steps_per_second"]
        results.append({"contender": best["name"], "batch": batch, "image": side, "step_ms": 1000 / rate,
                        "samples_per_second": batch * rate, "gflops": flops * rate / 1e9})
        print(f"scaling {best['name']} batch {batch} image {side}: {1000 / rate:.0f} ms/step", flush=True)
    return results


if __name__ == "__main__":
    sys.exit(main())
