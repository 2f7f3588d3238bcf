"""The measurements of `benchmarks/train_step.py`, one per process (``train_step.py --worker NAME``).

Each worker builds what it times in its own process (this process's
``KERAS_BACKEND``) and prints one JSON line: ganzoo's `fit` step times, op-level
profiles of that step on TensorFlow, PyTorch and JAX, a large-matmul peak, the
input pipeline alone, and per-layer forward/gradient times.
"""

import json
import os
import re
import statistics
import time

CONFIG = "dcgan_fashion_mnist"  # the zoo config every worker trains


def ganzoo_gan_and_data(args):
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

    gan, dataset = ganzoo_gan_and_data(args)
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

    gan, dataset = ganzoo_gan_and_data(args)
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

