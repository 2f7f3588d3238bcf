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
``--out``.

Usage (repo root, Fashion-MNIST installed: ``make data``)::

    python benchmarks/train_step.py [--rounds 2] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "benchmarks", "results")
CONFIG = "dcgan_fashion_mnist"
sys.path.insert(0, ROOT)
from benchmarks._timing import DEFAULTS  # noqa: E402  pylint: disable=wrong-import-position
from ganzoo.backend import memory  # noqa: E402  pylint: disable=wrong-import-position

BATCH = DEFAULTS["batch"]
TIMING = {key: DEFAULTS[key] for key in ("warmup", "windows", "window")}  # steps, per round
SCALING_TIMING = {"warmup": 2, "windows": 3, "window": 3}
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
# reference row -> (the peer it changes, the ganzoo contender that has the same piece)
REFERENCES = {
    "reference: TF GradientTape loop on ganzoo's layers": ("peer: TF GradientTape loop", "ganzoo tensorflow"),
    "reference: PyTorch loop + ganzoo's glibc settings": ("peer: PyTorch loop", "ganzoo torch"),
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


# ---------------------------------------------------------------- workers
def _ganzoo_gan_and_data(args):
    """The config's GAN (this process's KERAS_BACKEND) and its endless batches, as `ganzoo train` builds them."""
    import keras  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    from ganzoo import config as config_lib, data  # pylint: disable=import-outside-toplevel
    from ganzoo.training import run  # pylint: disable=import-outside-toplevel

    config = config_lib.load(CONFIG)
    keras.utils.set_random_seed(0)
    shape = (args.image, args.image, 1)
    if args.image == 28:
        dataset, _ = data.epoch_stream("fashion_mnist", batch_size=args.batch, seed=0)
    else:  # no real data at this size: random images through the same kind of pipeline
        images = np.random.default_rng(0).uniform(-1, 1, (2048, *shape)).astype("float32")
        dataset = (tf.data.Dataset.from_tensor_slices(images).shuffle(2048).repeat()
                   .batch(args.batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
    gan = run.build_from_config(config, sample_shape=shape)
    if args.jit != "auto":
        gan.jit_compile = args.jit == "1"
    return gan, dataset


def worker_ganzoo(args):
    """Times ganzoo's `fit` (in this process's KERAS_BACKEND); prints one JSON line."""
    import keras  # pylint: disable=import-outside-toplevel

    from benchmarks import _timing  # pylint: disable=import-outside-toplevel

    gan, dataset = _ganzoo_gan_and_data(args)
    stamps = []

    class Stamp(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            float(keras.ops.convert_to_numpy(logs["d_loss"]))  # the step is done
            stamps.append(time.perf_counter())

    total = args.warmup + args.windows * args.window
    gan.fit(dataset, epochs=1, steps_per_epoch=total, verbose=0, callbacks=[Stamp()])
    _timing.report("ganzoo", stamps, warmup=args.warmup, window=args.window,
                   backend=keras.backend.backend(), jit_compile=bool(gan.jit_compile))


# torch.profiler op names -> kind of work, first match wins; the rest is "other ops".
OP_KINDS = (("convolution", ("conv",)), ("batch norm", ("batch_norm",)),
            ("matmul (Dense)", ("aten::mm", "aten::addmm", "aten::bmm")), ("Keras' data loader", ("DataLoader",)))


def _profiled_fit(args, start, stop):
    """Runs ganzoo's `fit` with `start()` before the first step after the warm-up and `stop()` after the last.

    Returns (timed steps, wall ms per step), so `fit`'s own setup is not in
    the step time.
    """
    import keras  # pylint: disable=import-outside-toplevel

    gan, dataset = _ganzoo_gan_and_data(args)
    steps, total = args.windows * args.window, args.warmup + args.windows * args.window
    wall = []

    class Profile(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == args.warmup:
                start()
                wall.append(time.perf_counter())

        def on_train_batch_end(self, batch, logs=None):
            if batch == total - 1:
                float(keras.ops.convert_to_numpy(logs["d_loss"]))  # the step is done
                wall.append(time.perf_counter())
                stop()

    gan.fit(dataset, epochs=1, steps_per_epoch=total, verbose=0, callbacks=[Profile()])
    return steps, 1000 * (wall[1] - wall[0]) / steps


def worker_torch_ops(args):
    """ganzoo's `fit` on PyTorch under `torch.profiler`: ms per step by kind of op; prints one JSON line."""
    from torch.profiler import ProfilerActivity, profile  # pylint: disable=import-outside-toplevel

    profiler = profile(activities=[ProfilerActivity.CPU])
    steps, step_ms = _profiled_fit(args, profiler.start, profiler.stop)
    kinds = {kind: 0.0 for kind, _ in OP_KINDS} | {"other ops": 0.0}
    for event in profiler.key_averages():
        kind = next((k for k, names in OP_KINDS if any(n in event.key for n in names)), "other ops")
        kinds[kind] += event.self_cpu_time_total / 1000 / steps
    kinds["outside ops (Python, Keras, autograd)"] = step_ms - sum(kinds.values())
    print(json.dumps({"steps": steps, "step_ms": step_ms, "ms_per_step": kinds}), flush=True)


# TensorFlow op types -> kind of work, first match wins; the rest is "other ops".
TF_OP_KINDS = (("convolution", ("Conv2D",)), ("batch norm", ("BatchNorm",)), ("matmul (Dense)", ("MatMul",)))
# A TensorFlow op event in the profiler's trace: "scope/name:Type" (oneDNN's kernels are "_MklNative...").
_TF_OP_EVENT = re.compile(r"^[^:]+:(\w+)$")


def _xspace(directory):
    """The profiler's trace under `directory`, as an XSpace."""
    import glob  # pylint: disable=import-outside-toplevel

    from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=import-outside-toplevel

    space = xplane_pb2.XSpace()
    with open(glob.glob(f"{directory}/**/*.xplane.pb", recursive=True)[0], "rb") as f:
        space.ParseFromString(f.read())
    return space


def tf_op_kind(event_name):
    """The kind of work of a TensorFlow profiler event, or None for an event that is not an op."""
    match = _TF_OP_EVENT.match(event_name)
    if not match:
        return None
    return next((kind for kind, types in TF_OP_KINDS if any(t in match.group(1) for t in types)), "other ops")


def worker_tf_ops(args):
    """ganzoo's `fit` on TensorFlow under its profiler: op time per step by kind of op; prints one JSON line.

    TensorFlow's executor runs independent ops of the step's graph at the same
    time on its inter-op threads, so the ops' times add up to more than the
    step's wall time.
    """
    import tempfile  # pylint: disable=import-outside-toplevel

    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    with tempfile.TemporaryDirectory() as tmp:
        steps, step_ms = _profiled_fit(args, lambda: tf.profiler.experimental.start(tmp),
                                       tf.profiler.experimental.stop)
        space = _xspace(tmp)
    kinds = {kind: 0.0 for kind, _ in TF_OP_KINDS} | {"other ops": 0.0}
    for plane in space.planes:
        for line in plane.lines:
            if line.name.startswith("tf_Compute"):  # the executor's threads
                for event in line.events:
                    kind = tf_op_kind(plane.event_metadata[event.metadata_id].name)
                    if kind:
                        kinds[kind] += event.duration_ps / 1e9 / steps
    if not sum(kinds.values()):
        raise RuntimeError("TensorFlow's profiler recorded no op on a tf_Compute thread: "
                           "its trace's thread names may have changed")
    print(json.dumps({"steps": steps, "step_ms": step_ms, "op_ms_per_step": kinds}), flush=True)


# An instruction line of XLA's optimized HLO text: name, opcode, the rest (fusion kind, metadata).
_HLO_LINE = re.compile(r"^\s+(?:ROOT )?%([\w.\-]+) = \S+ ([\w\-]+)\((.*)$")
# The layer in an HLO op_name such as "jit(train_step)/transpose(jvp(generator))/conv2d_transpose_1/add_any".
_HLO_LAYER = re.compile(r"(?:generator|discriminator)\)*/([a-z_0-9]+?)(?:_\d+)?/")


def hlo_instructions(text):
    """{instruction name: (kind of work, layer kind, pass)} from XLA's optimized HLO text.

    Kind of work: "matmul" for a dot or a fusion around one (XLA's library
    fusions: YNNPACK, oneDNN), "convolution" likewise, else "other" (copies,
    pads, slices, elementwise and reduction loops). Layer kind: the Keras
    layer's name without its number ("conv2d_transpose"), or "loss,
    optimizer, other" outside the two networks.
    Pass: "backward" under a `transpose(jvp(...))`, else "forward".
    """
    parsed, computation, dots = [], None, {}  # dots: computation -> (opcode, op_name) of its dot or convolution
    for line in text.splitlines():
        if line.startswith("%") or line.startswith("ENTRY"):
            computation = line.split()[1 if line.startswith("ENTRY") else 0].lstrip("%")
        match = _HLO_LINE.match(line)
        if match:
            name, opcode, rest = match.groups()
            op_name = re.search(r'op_name="([^"]*)"', rest)
            op_name = op_name.group(1) if op_name else ""
            if opcode in ("dot", "convolution"):
                dots[computation] = (opcode, op_name)
            parsed.append((name, opcode, rest, op_name))
    instructions = {}
    for name, opcode, rest, op_name in parsed:
        called = re.search(r"calls=%([\w.\-]+)", rest)
        if opcode == "fusion" and called and called.group(1) in dots:
            opcode, op_name = dots[called.group(1)]  # named by its product, not the elementwise work fused after it
        work = {"dot": "matmul", "convolution": "convolution"}.get(opcode, "other")
        layer = _HLO_LAYER.search(op_name)
        instructions[name] = (work, layer.group(1) if layer else "loss, optimizer, other",
                              "backward" if "transpose(" in op_name else "forward")
    return instructions


def worker_jax_ops(args):
    """ganzoo's `fit` on JAX under `jax.profiler`: XLA's time per step by layer and kind of work; one JSON line.

    XLA dumps the train step's optimized HLO (`XLA_FLAGS`, set here before JAX
    starts); each operation the profiler times is one of its instructions,
    whose `op_name` metadata names the layer and the pass.
    """
    import glob  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + f" --xla_dump_to={tmp}/hlo --xla_dump_hlo_as_text"
                                   " --xla_dump_hlo_module_re=.*train_step.*")
        import jax  # pylint: disable=import-outside-toplevel

        steps, step_ms = _profiled_fit(args, lambda: jax.profiler.start_trace(f"{tmp}/trace"), jax.profiler.stop_trace)
        instructions = {}
        for path in glob.glob(f"{tmp}/hlo/*train_step*cpu_after_optimizations.txt"):
            with open(path, encoding="utf-8") as f:
                instructions.update(hlo_instructions(f.read()))
        space = _xspace(f"{tmp}/trace")
    ms = {}  # "layer kind|pass|kind of work" -> ms per step
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                instruction = instructions.get(plane.event_metadata[event.metadata_id].name)
                if instruction:
                    work, layer, direction = instruction
                    key = f"{layer}|{direction}|{work}"
                    ms[key] = ms.get(key, 0.0) + event.duration_ps / 1e9 / steps
    print(json.dumps({"steps": steps, "step_ms": step_ms, "ms_per_step": ms}), flush=True)


WORKER_PEAK_N = 2048  # the matmul peak's square matrices


def worker_peak(_args):
    """Measured fp32 matmul GFLOP/s (2048 x 2048, median of 5) with NumPy, TensorFlow and PyTorch."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    n = WORKER_PEAK_N
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    results = {}

    def timed(fn):
        fn()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return 2 * n**3 / statistics.median(times) / 1e9

    results["numpy"] = timed(lambda: a @ a)
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    t = tf.constant(a)
    results["tensorflow"] = timed(lambda: tf.linalg.matmul(t, t).numpy())
    import torch  # pylint: disable=import-outside-toplevel

    p = torch.from_numpy(a)
    results["torch"] = timed(lambda: torch.mm(p, p))
    print(json.dumps({"matmul_gflops": results}), flush=True)


def worker_pipeline(args):
    """The input pipeline alone: ms per batch of `data.epoch_stream` (median of windows of 50)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel,unused-import

    from benchmarks import _timing  # pylint: disable=import-outside-toplevel
    from ganzoo import data  # pylint: disable=import-outside-toplevel

    dataset, _ = data.epoch_stream("fashion_mnist", batch_size=args.batch, seed=0)
    stamps = []
    for batch in dataset.take(20 + 6 * 50):
        batch.numpy()
        stamps.append(time.perf_counter())
    rates = _timing.window_rates(stamps, warmup=20, window=50)
    print(json.dumps({"ms_per_batch": 1000 / statistics.median(rates)}), flush=True)


def worker_layers(args):
    """Per-layer forward / input-gradient / weight-gradient times of the networks (this backend)."""
    import keras  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel

    from ganzoo import config as config_lib  # pylint: disable=import-outside-toplevel
    from ganzoo.layers import Conv2DTranspose  # pylint: disable=import-outside-toplevel
    from ganzoo.training import run  # pylint: disable=import-outside-toplevel

    backend = keras.backend.backend()
    gan = run.build_from_config(config_lib.load(CONFIG))
    rows = []
    for network in (gan.generator, gan.discriminator):
        for layer in network.layers:
            if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
                continue
            x = np.random.default_rng(0).standard_normal((args.batch, *layer.input.shape[1:]), dtype=np.float32)
            rows.append({"network": network.name, "layer": layer.name, "class": _class_name(layer),
                         "input": list(x.shape), **_layer_times(backend, layer, x)})
            if isinstance(layer, Conv2DTranspose):  # what Keras' own layer costs on this backend
                plain = keras.layers.Conv2DTranspose.from_config(layer.get_config())
                plain.build(x.shape)
                rows.append({"network": network.name, "layer": layer.name, "class": _class_name(plain),
                             "input": list(x.shape), **_layer_times(backend, plain, x)})
    print(json.dumps({"backend": backend, "layers": rows}), flush=True)


def _class_name(layer):
    return f"{type(layer).__module__.split('.')[0]}.{type(layer).__name__}"


def _layer_times(backend, layer, x):
    """Median ms of the compiled forward, input gradient and kernel gradient of one layer."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    kernel, others = layer.kernel, [w for w in layer.trainable_weights if w is not layer.kernel]
    if backend == "jax":
        import jax  # pylint: disable=import-outside-toplevel

        def apply(k, inputs):
            out, _ = layer.stateless_call([k, *[w.value for w in others]], [], inputs)
            return out

        k0, x0 = kernel.value, jax.numpy.asarray(x)
        fns = {
            "forward_ms": jax.jit(lambda k, v: apply(k, v)),
            "input_grad_ms": jax.jit(jax.grad(lambda k, v: apply(k, v).sum(), argnums=1)),
            "kernel_grad_ms": jax.jit(jax.grad(lambda k, v: apply(k, v).sum(), argnums=0)),
        }
        run_once = lambda fn: jax.block_until_ready(fn(k0, x0))  # noqa: E731
    elif backend == "tensorflow":
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        x0 = tf.constant(x)

        def grad_of(target):
            @tf.function
            def fn():
                with tf.GradientTape() as tape:
                    tape.watch(x0)
                    total = tf.reduce_sum(layer(x0))
                return tape.gradient(total, x0 if target == "input" else kernel)
            return fn

        fns = {"forward_ms": tf.function(lambda: layer(x0)), "input_grad_ms": grad_of("input"),
               "kernel_grad_ms": grad_of("kernel")}
        run_once = lambda fn: fn().numpy()  # noqa: E731
    else:
        import torch  # pylint: disable=import-outside-toplevel

        def torch_run(target):
            def fn():
                inputs = torch.from_numpy(x).requires_grad_(target == "input")
                out = layer(inputs)
                if target == "forward":
                    return out
                source = inputs if target == "input" else kernel.value
                return torch.autograd.grad(out.sum(), source)[0]
            return fn

        fns = {"forward_ms": torch_run("forward"), "input_grad_ms": torch_run("input"),
               "kernel_grad_ms": torch_run("kernel")}
        run_once = lambda fn: fn()  # noqa: E731
    result = {}
    for key, fn in fns.items():
        run_once(fn)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            run_once(fn)
            times.append(time.perf_counter() - start)
        result[key] = 1000 * float(np.median(times))
    return result


WORKERS = {"ganzoo": worker_ganzoo, "peak": worker_peak, "pipeline": worker_pipeline, "layers": worker_layers,
           "torch_ops": worker_torch_ops, "jax_ops": worker_jax_ops,
           "tf_ops": worker_tf_ops}


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


def fastest_ganzoo(rows):
    return max((r for r in rows if r["name"].startswith("ganzoo")), key=lambda r: r["steps_per_second"])


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


def plot_scaling(scaling, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # pylint: disable=import-outside-toplevel
    from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel

    figure = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(figure)
    by_batch = [p for p in scaling if p["image"] == 28]
    by_side = [p for p in scaling if p["batch"] == BATCH]
    for axis_index, (points, key, label) in enumerate(
            ((by_batch, "batch", "batch size (28x28 images)"), (by_side, "image", "image side (batch 128)"))):
        axis = figure.add_subplot(1, 2, axis_index + 1)
        xs = [p[key] for p in points]
        axis.plot(xs, [p["step_ms"] for p in points], "o-", label="ms per step")
        axis.set_xlabel(label)
        axis.set_ylabel("ms per step")
        axis.set_xticks(xs)
        if key == "batch":
            axis.set_xscale("log", base=2)
            axis.set_yscale("log", base=2)
            axis.set_xticks(xs, [str(x) for x in xs])
        twin = axis.twinx()
        twin.plot(xs, [p["gflops"] for p in points], "s--", color="tab:orange", label="GFLOP/s")
        twin.set_ylabel("achieved GFLOP/s", color="tab:orange")
        twin.set_ylim(bottom=0)
        axis.set_title(f"{scaling[0]['contender']}: step time")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)


def markdown(report):
    cpu, rows = report["machine"], report["rows"]
    peers = [r for r in rows if r["name"].startswith("peer")]
    best_peer = max(peers, key=lambda r: r["steps_per_second"])
    best = fastest_ganzoo(rows)
    matmul = report["matmul_peak"]["matmul_gflops"]
    t = report["timing"]
    lines = [
        "# Training step speed: ganzoo against reference loops",
        "",
        f"Measured {report['date']} by `python benchmarks/train_step.py` in {report['seconds'] / 60:.1f} min.",
        "",
        f"**Machine**: {cpu['model']} (vendor {cpu['vendor']}, family {cpu['family']:#x}, model "
        f"{cpu['model_number']:#x}), {cpu['cores']} cores at {cpu['ghz']:.2f} GHz ({cpu['clock_source']}), "
        f"ISA {cpu['isa']}; no GPU.",
        f"**fp32 FMA peak**: {cpu['cores']} cores x {cpu['ghz']:.2f} GHz x {cpu['fma_units']} FMA units x "
        f"{cpu['fp32_lanes']} lanes x 2 = **{cpu['fma_peak_gflops']:.1f} GFLOP/s**"
        + (f" ({cpu['fma_note']})" if cpu["fma_note"] else "") + ".",
        f"**Measured matmul peak** (fp32 {report['matmul_peak']['n']}x{report['matmul_peak']['n']}, median of 5 "
        f"products, best of {report['matmul_peak']['measurements']} measurements: before the first round and "
        "after each): " + ", ".join(f"{k} {v:.1f} (lowest {report['matmul_peak']['range'][k][0]:.1f})"
                                    for k, v in matmul.items()) + " GFLOP/s"
        + (" (above the formula's peak, so the cores run faster than the clock read)"
           if max(matmul.values()) > cpu["fma_peak_gflops"] else "") + ".",
        "",
        f"Model: the DCGAN of `zoo_configs/{report['config']}.yaml`, batch {report['batch']}, 28x28x1 "
        f"Fashion-MNIST. Steps/s: median of {t['windows'] * t['rounds']} windows of {t['window']} steps "
        f"({t['windows']} per process after {t['warmup']} warm-up steps, {t['rounds']} rounds taking "
        "the contenders in turn).",
        "",
        "| contender | steps/s | windows min-max | ms/step | vs fastest peer | vs fastest ganzoo | GFLOP/step "
        "| GFLOP/s | % of FMA peak | % of matmul peak |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['steps_per_second']:.3f} | {min(r['windows']):.2f}-{max(r['windows']):.2f} | "
            f"{r['step_ms']:.0f} | "
            f"{r['steps_per_second'] / best_peer['steps_per_second']:.2f}x | "
            f"{r['steps_per_second'] / best['steps_per_second']:.2f}x | {r['gflop_per_step']:.2f} | "
            f"{r['gflops']:.1f} | {100 * r['fma_utilisation']:.0f} % | {100 * r['matmul_utilisation']:.0f} % |")
    ratio = best["steps_per_second"] / best_peer["steps_per_second"]
    by_name = {r["name"]: r for r in rows}
    slowest = min((r for r in rows if r["name"].startswith("ganzoo")), key=lambda r: r["steps_per_second"])
    pipeline_ms = report["pipeline"]["ms_per_batch"]
    round_ratios = [g / p for g, p in zip(best["per_round"], best_peer["per_round"])]
    lines += [
        "",
        f"- Fastest ganzoo ({best['name']}) / fastest peer ({best_peer['name']}): **{ratio:.2f}x** pooled; "
        f"within each round (the two processes ran minutes apart at most) "
        f"{', '.join(f'{x:.2f}x' for x in round_ratios)}, median **{statistics.median(round_ratios):.2f}x** "
        f"(goal >= 1.25x, by both: {goal_verdict(ratio, statistics.median(round_ratios), 1.25)}).",
        f"- Slowest ganzoo backend ({slowest['name']}) / fastest ganzoo: "
        f"**{slowest['steps_per_second'] / best['steps_per_second']:.2f}x** (goal >= 0.67x: "
        f"{'met' if slowest['steps_per_second'] / best['steps_per_second'] >= 0.67 else 'NOT met; see the profile'}).",
        *[f"- {name.split(': ', 1)[1]} (not a peer) / {peer}: "
          f"{by_name[name]['steps_per_second'] / by_name[peer]['steps_per_second']:.2f}x; {ganzoo} / it: "
          f"**{by_name[ganzoo]['steps_per_second'] / by_name[name]['steps_per_second']:.2f}x**."
          for name, (peer, ganzoo) in REFERENCES.items() if name in by_name],
        "- The peers are the loops a user writes: the TensorFlow one on Keras' own layers "
        "(`keras.layers.Conv2D`, ...), the PyTorch one on `torch.nn`. Each reference row gives one of "
        "them one piece of ganzoo.",
        f"- Input pipeline (`ganzoo.data.epoch_stream`, run alone): {pipeline_ms:.2f} ms per batch = "
        + ", ".join(f"{100 * pipeline_ms / r['step_ms']:.1f} % of {r['name']}'s step"
                    for r in rows if r["name"].startswith("ganzoo")) + " (goal < 5 %).",
        "",
        "FLOPs are counted from the layer shapes (Dense and convolution multiply-adds x 2; a layer's "
        "weight gradient and input gradient each cost its forward; bias, batch norm, activations and "
        "Adam are left out). They differ by loop: ganzoo runs the generator forward once per step and "
        "reuses that batch for the generator's update (`ganzoo`); the keras.io loop runs it twice "
        "(`keras_io`); the PyTorch loop runs it once but its `backward()` for the generator also "
        "computes the discriminator's weight gradients (`pytorch_examples`).",
        "",
        "## Where the time goes: per-layer profile (batch 128, median of 5 compiled calls, ms)",
        "",
        "Each cell: forward / input gradient / kernel gradient, each gradient timed with its forward "
        "pass (`jax.jit(jax.grad(...))`, `tf.function` + `GradientTape`, eager `torch.autograd.grad`). "
        "A linear layer's gradients do not need its output, so the compiled backends may leave the "
        "forward out of the gradient cells. The convolutions are `ganzoo.layers.Conv2D` and "
        "`Conv2DTranspose`: on PyTorch torch's op on the channels-last view of the input; on JAX the "
        "transposed ones are one matmul of input patches (`matmul.conv_transpose_as_matmul`) and the "
        "generator's 1-channel output convolution a matmul and a sum of shifted slices "
        "(`matmul.conv_as_matmul`), whose gradients are matmuls too; on TensorFlow the transposed ones "
        "run forward as one stride-1 convolution with the kernel laid out by output phase "
        "(`tf_kernels.conv_transpose`, TensorFlow's own gradients) and the output convolution's gradients are matmuls (`tf_kernels.conv_to_few_channels`). "
        "The `keras.` rows under the transposed ones time Keras' own layer with the same weights (on "
        "JAX its kernel gradient is a convolution over a stride-dilated input).",
        "",
        "| network | layer | input | " + " | ".join(
            f"{b} fwd / d-input / d-kernel" for b in report["layers"]) + " |",
        "|---|---|---|" + "---:|" * len(report["layers"]),
    ]
    per_backend = list(report["layers"].values())
    for i, row in enumerate(per_backend[0]):
        cells = [f"{rows_[i]['forward_ms']:.1f} / {rows_[i]['input_grad_ms']:.1f} / {rows_[i]['kernel_grad_ms']:.1f}"
                 for rows_ in per_backend]
        lines.append(f"| {row['network']} | {row['layer']} ({row['class']}) | {'x'.join(map(str, row['input']))} | "
                     + " | ".join(cells) + " |")
    lines += tf_ops_markdown(report)
    lines += torch_ops_markdown(report, best_peer)
    lines += jax_ops_markdown(report)
    lines += fma_headroom_markdown(report)
    if report["scaling"]:
        lines += [
            "",
            f"## Scaling ({report['scaling'][0]['contender']}; {SCALING_TIMING['windows']} windows of "
            f"{SCALING_TIMING['window']} steps after {SCALING_TIMING['warmup']} warm-up; 28x28 is "
            "Fashion-MNIST, 32 and 64 random images through `tf.data`)",
            "",
            "![step time against batch and image size](train_step_scaling.png)",
            "",
            "| batch | image | ms/step | samples/s | GFLOP/s | % of FMA peak |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for p in report["scaling"]:
            lines.append(f"| {p['batch']} | {p['image']} | {p['step_ms']:.0f} | {p['samples_per_second']:.0f} | "
                         f"{p['gflops']:.1f} | {100 * p['gflops'] / cpu['fma_peak_gflops']:.0f} % |")
    return "\n".join(lines) + "\n"


def tf_ops_markdown(report):
    """The results file's section on where ganzoo's TensorFlow step goes, by kind of op."""
    ops = report["tf_ops"]
    op_ms = sum(ops["op_ms_per_step"].values())
    lines = [
        "",
        f"## Where ganzoo's TensorFlow step goes (TensorFlow's profiler, {ops['steps']} steps of `fit`, "
        "op time per step)",
        "",
        "TensorFlow runs independent ops of the step at the same time on its inter-op threads, so "
        f"the ops' times add up to {op_ms:.0f} ms in a {ops['step_ms']:.0f} ms step (profiled); the shares "
        "are of the ops' time. Convolutions include their gradients and oneDNN's "
        "fused convolution + bias (+ activation) kernels.",
        "",
        "| kind of work | op ms/step | % of op time |",
        "|---|---:|---:|",
    ]
    lines += [f"| {kind} | {ms:.1f} | {100 * ms / op_ms:.0f} % |" for kind, ms in ops["op_ms_per_step"].items()]
    return lines


def product_split(report):
    """{backend: (profiled step ms, products ms, everything else ms)} from the three op-level profiles.

    Products are convolutions and matmuls. On TensorFlow, whose ops overlap,
    the products' share of the ops' time is taken of the step's wall time.
    """
    split = {}
    tf_ops = report["tf_ops"]
    kinds = tf_ops["op_ms_per_step"]
    share = (kinds["convolution"] + kinds["matmul (Dense)"]) / sum(kinds.values())
    split["tensorflow"] = (tf_ops["step_ms"], share * tf_ops["step_ms"], (1 - share) * tf_ops["step_ms"])
    torch_ops = report["torch_ops"]
    products = torch_ops["ms_per_step"]["convolution"] + torch_ops["ms_per_step"]["matmul (Dense)"]
    split["torch"] = (torch_ops["step_ms"], products, torch_ops["step_ms"] - products)
    jax_ops = report["jax_ops"]
    products = sum(ms for key, ms in jax_ops["ms_per_step"].items() if not key.endswith("|other"))
    split["jax"] = (jax_ops["step_ms"], products, jax_ops["step_ms"] - products)
    return split


def goal_verdict(pooled, median_of_rounds, goal):
    """'met' only when the pooled ratio and the median of the per-round ratios both reach `goal`."""
    if pooled >= goal and median_of_rounds >= goal:
        return "met"
    if pooled >= goal or median_of_rounds >= goal:
        return f"NOT met: {'pooled' if pooled >= goal else 'the median of the rounds'} reaches it, " \
               f"{'the median of the rounds' if pooled >= goal else 'pooled'} does not"
    return "NOT met"


def fma_headroom_markdown(report, goal=0.6):
    """The results file's section on how far each backend is from `goal` of the FMA peak, and why."""
    fma = report["machine"]["fma_peak_gflops"]
    matmul = max(report["matmul_peak"]["matmul_gflops"].values())
    gflop = report["ganzoo_gflop_per_step"]
    ideal_ms = 1000 * gflop / matmul  # every product at the measured matmul peak
    budget_ms = 1000 * gflop / (goal * fma) - ideal_ms
    lines = [
        "",
        f"## How far from {100 * goal:.0f} % of the FMA peak",
        "",
        f"ganzoo's step has {gflop:.2f} GFLOP of products. At the best measured matmul speed "
        f"({matmul:.1f} GFLOP/s, {100 * matmul / fma:.0f} % of the FMA peak) they would take {ideal_ms:.0f} ms, "
        f"and {100 * goal:.0f} % of the FMA peak ({goal * fma:.0f} GFLOP/s) means a whole step in "
        f"{1000 * gflop / (goal * fma):.0f} ms: "
        + (f"so even with products that fast, everything else in the step (batch norm, activations, Adam, "
           f"copies, Python) would have to fit in {budget_ms:.0f} ms." if budget_ms > 0 else
           "out of reach on this machine even with nothing else in the step.")
        + " From the op-level profiles above:",
        "",
        "| backend | profiled step ms | products ms | products GFLOP/s | % of matmul peak | everything else ms "
        "| % of FMA peak now | with products at the matmul peak |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend, (step_ms, products_ms, other_ms) in product_split(report).items():
        speed = 1000 * gflop / products_ms
        lines.append(
            f"| {backend} | {step_ms:.0f} | {products_ms:.0f} | {speed:.0f} | {100 * speed / matmul:.0f} % | "
            f"{other_ms:.0f} | {100 * 1000 * gflop / step_ms / fma:.0f} % | "
            f"{100 * 1000 * gflop / (ideal_ms + other_ms) / fma:.0f} % |")
    lines += ["", "On TensorFlow, whose ops overlap, the products' and the rest's ms are their shares of the "
              "ops' time taken of the profiled step; on PyTorch and JAX they are the profiled ops' own times "
              "(JAX's rest includes the time between XLA's operations)."]
    return lines


def torch_ops_markdown(report, best_peer):
    """The results file's section on where ganzoo's PyTorch step goes, and what that leaves for the 1.25x goal."""
    ops = report["torch_ops"]
    step_ms = ops["step_ms"]
    lines = [
        "",
        f"## Where ganzoo's PyTorch step goes (`torch.profiler`, {ops['steps']} steps of `fit`, self time of "
        "each op, ms per step)",
        "",
        "| kind of work | ms/step | % of step |",
        "|---|---:|---:|",
    ]
    lines += [f"| {kind} | {ms:.1f} | {100 * ms / step_ms:.0f} % |" for kind, ms in ops["ms_per_step"].items()]
    lines.append(f"| whole step (profiled, so a little slower) | {step_ms:.1f} | 100 % |")
    conv_ms = ops["ms_per_step"]["convolution"]
    conv_gflops = ops["convolution_gflop_per_step"] / conv_ms * 1000
    torch_peak = report["matmul_peak"]["matmul_gflops"]["torch"]
    budget = 1000 / (1.25 * best_peer["steps_per_second"])
    lines += [
        "",
        f"The convolutions ({ops['convolution_gflop_per_step']:.2f} GFLOP per step by the count above) run "
        f"at {conv_gflops:.1f} GFLOP/s, {100 * conv_gflops / torch_peak:.0f} % of torch's measured "
        f"2048x2048 matmul peak ({torch_peak:.1f} GFLOP/s). 1.25x the fastest peer "
        f"({best_peer['steps_per_second']:.3f} steps/s) means a whole step in {budget:.0f} ms: with the "
        f"convolutions at {conv_ms:.0f} ms, that leaves {budget - conv_ms:.0f} ms for everything else "
        f"(batch norm, activations, Adam, Python), which takes {step_ms - conv_ms:.0f} ms here.",
    ]
    return lines


def jax_ops_markdown(report):
    """The results file's section on where ganzoo's JAX step goes, by layer and kind of work."""
    ops = report["jax_ops"]
    table = {}  # layer kind -> {(pass, products or not): ms}
    for key, ms in ops["ms_per_step"].items():
        layer, direction, work = key.split("|")
        cell = (direction, work != "other")
        row = table.setdefault(layer, {})
        row[cell] = row.get(cell, 0.0) + ms
    cells = [("forward", True), ("forward", False), ("backward", True), ("backward", False)]
    lines = [
        "",
        f"## Where ganzoo's JAX step goes (`jax.profiler`, {ops['steps']} steps of `fit`, XLA's operations, "
        "ms per step)",
        "",
        "Each of XLA's operations in the compiled step (its optimized HLO) is put under the layer its "
        "`op_name` names; `backward` is the gradient pass. Products: dots and convolutions, with what XLA "
        "fused around them; other: copies, pads, slices, elementwise and reduction loops.",
        "",
        "| layer | forward: products | forward: other | backward: products | backward: other | total | % of step |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for layer, by_cell in sorted(table.items(), key=lambda item: -sum(item[1].values())):
        total = sum(by_cell.values())
        lines.append(f"| {layer} | " + " | ".join(f"{by_cell.get(cell, 0.0):.1f}" for cell in cells)
                     + f" | {total:.1f} | {100 * total / ops['step_ms']:.0f} % |")
    measured = sum(ops["ms_per_step"].values())
    lines.append(f"| whole step (profiled) | | | | | {ops['step_ms']:.1f} | 100 % |")
    lines += ["", f"XLA's operations add up to {measured:.0f} ms of the {ops['step_ms']:.0f} ms step; the rest is "
              "Python, Keras and the wait between steps."]
    return lines


if __name__ == "__main__":
    sys.exit(main())
