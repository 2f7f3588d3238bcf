"""Data-parallel overhead: steps/s and examples/s of one DCGAN on 1, 2 and 4 devices, JAX and TensorFlow.

Each (backend, device count) trains the DCGAN of
``zoo_configs/dcgan_fashion_mnist.yaml`` (28x28x1, batch 128) with ``fit``
under ``ganzoo.backend.distribution.scope("data_parallel", n)`` in its own
process, on random images (speed does not depend on what they show). Without
an accelerator the devices are virtual CPU devices (XLA's host-platform device
count on JAX, logical CPU devices on TensorFlow) that **share the same cores**:
more of them cannot be faster, so this measures what the distribution costs
(splitting the batch, all-reducing gradients and batch-norm statistics), not a
speed-up. On a machine with several GPUs the same script spreads over them.

Step times come from a callback at every batch end; a run's speed is the
median over its steps after a warm-up. ``--rounds`` rounds run every
configuration in turn; the report gives each configuration's median over the
rounds and, per round, its speed relative to the one-device run of the same
backend in that round (the ratio quoted is the median of those per-round
ratios). Writes ``scaling.md``, ``scaling.json`` and ``scaling.png`` under ``--out``.

Usage (repo root)::

    python benchmarks/scaling.py [--rounds 3] [--steps 40] [--out benchmarks/results]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKENDS = ("jax", "tensorflow")
COUNTS = (1, 2, 4)
BATCH = 128
WARMUP = 5


def worker(devices, steps):
    """Trains `steps` steps on `devices` devices in this process; prints one JSON line."""
    backend = os.environ["KERAS_BACKEND"]
    if backend == "jax":
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    else:
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            tf.config.set_logical_device_configuration(
                tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * devices)
    import time

    import keras
    import numpy as np

    from ganzoo.backend import distribution, gradients
    from ganzoo.models import build_gan

    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter())

    kind = "data_parallel" if devices > 1 else "none"
    with distribution.scope(kind, devices) as used:
        keras.utils.set_random_seed(0)
        gan = build_gan("dcgan", (28, 28, 1), latent_dim=100, seed=0,
                        generator={"base_filters": 32}, discriminator={"base_filters": 32})
        gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                    g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
        images = np.random.default_rng(0).uniform(-1, 1, (BATCH * 8, 28, 28, 1)).astype("float32")
        import tensorflow as tf  # tf.data feeds every backend, as ganzoo.data does

        data = tf.data.Dataset.from_tensor_slices(images).batch(BATCH, drop_remainder=True).repeat()
        gan.fit(data, steps_per_epoch=steps + WARMUP, epochs=1, verbose=0, callbacks=[Clock()])
    step = statistics.median(b - a for a, b in zip(times[WARMUP:], times[WARMUP + 1:]))
    print(json.dumps({"backend": backend, "devices": used, "step_seconds": step,
                      "device": gradients.accelerator(), "steps": len(times) - WARMUP - 1}))


def run(backend, devices, steps):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, __file__, "--worker", str(devices), "--steps", str(steps)],
                          env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"{backend} on {devices} devices failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(rounds, out):
    rows = []
    for backend in BACKENDS:
        for devices in COUNTS:
            mine = [r[(backend, devices)]["step_seconds"] for r in rounds]
            ratios = [r[(backend, 1)]["step_seconds"] / r[(backend, devices)]["step_seconds"] for r in rounds]
            step = statistics.median(mine)
            rows.append({"backend": backend, "devices": devices, "step_seconds_median": step,
                         "steps_per_second": 1 / step, "examples_per_second": BATCH / step,
                         "speed_vs_one_device_per_round": ratios,
                         "speed_vs_one_device_median": statistics.median(ratios),
                         "device": rounds[0][(backend, devices)]["device"]})
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    lines = [
        "# Data-parallel overhead (`benchmarks/scaling.py`)", "",
        f"DCGAN 28x28x1, batch {BATCH} (split over the devices), {len(rounds)} rounds, machine: {machine}. "
        "On a CPU the devices are virtual and share the same cores: this measures the distribution's "
        "overhead, not a speed-up.", "",
        "| backend | devices | device kind | median step ms | steps/s | examples/s | speed vs 1 device "
        "(median of per-round ratios) | per-round ratios |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        per_round = ", ".join(f"{r:.2f}" for r in row["speed_vs_one_device_per_round"])
        lines.append(f"| {row['backend']} | {row['devices']} | {row['device']} | "
                     f"{1000 * row['step_seconds_median']:.1f} | {row['steps_per_second']:.2f} | "
                     f"{row['examples_per_second']:.0f} | {row['speed_vs_one_device_median']:.2f} | {per_round} |")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "scaling.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out, "scaling.json"), "w", encoding="utf-8") as f:
        json.dump({"batch": BATCH, "machine": machine, "rows": rows}, f, indent=1)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for backend in BACKENDS:
        mine = [r for r in rows if r["backend"] == backend]
        ax.plot([r["devices"] for r in mine], [r["examples_per_second"] for r in mine], "o-", label=backend)
    ax.set_xticks(COUNTS)
    ax.set_xlabel("devices (virtual CPU devices sharing the cores)" if rows[0]["device"] == "cpu" else "devices")
    ax.set_ylabel("examples / s")
    ax.set_ylim(bottom=0)
    ax.set_title(f"DCGAN 28x28, global batch {BATCH}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scaling.png"), dpi=120)
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40, help="timed steps per run (after the warm-up)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.steps)
    rounds = []
    for i in range(args.rounds):
        found = {}
        for backend in BACKENDS:
            for devices in COUNTS:
                found[(backend, devices)] = run(backend, devices, args.steps)
                print(f"round {i + 1}: {backend} x{devices}: "
                      f"{1000 * found[(backend, devices)]['step_seconds']:.1f} ms/step", flush=True)
        rounds.append(found)
    report(rounds, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
