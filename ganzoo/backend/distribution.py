"""Data-parallel training on the engines the backends already have.

``data_parallel`` trains one model on several devices, each step on one
global batch split across them, so that the update equals the one-device
update on the same batch:

* **JAX**: `keras.distribution.DataParallel`. The batch is one array sharded
  over the devices and the step is traced once for the global batch (XLA
  partitions it), so batch-norm statistics, losses and random draws are
  already the global batch's. The models must be created inside `scope`.
* **TensorFlow**: `tf.distribute.MirroredStrategy`. Keras runs the step once
  per replica on its part of the batch and all-reduces the gradients as a
  SUM, so the step's code takes three things from this module: `scale_loss`
  (each replica's loss divided by the number of replicas), `per_sample`
  (random rows drawn for the global batch, each replica keeping its own, so
  replicas never repeat each other's latents), and `synchronized_batch_norm`
  (batch-norm statistics all-reduced over the global batch while the step is
  traced, and only then, so no saved config says ``synchronized=True``: a
  preset trained this way loads on every backend).
* **PyTorch**: Keras 3.15's torch backend has no distribution API; `scope`
  raises `DistributionError`.

On one device every helper here is the identity.
"""

import contextlib
import os

import keras

_BACKEND = keras.backend.backend()

if _BACKEND == "tensorflow":
    import tensorflow as tf
elif _BACKEND == "jax":
    import jax

KINDS = ("none", "data_parallel")


class DistributionError(ValueError):
    """A distribution that cannot run here, described in one line."""


def devices():
    """The devices `data_parallel` spreads over by default: the accelerators, else the CPU devices."""
    if _BACKEND == "jax":
        return [str(d) for d in jax.devices()]
    if _BACKEND == "tensorflow":
        found = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return [d.name for d in found]
    return []


def _unsupported():
    return DistributionError(
        f"data_parallel training is not available on the {_BACKEND} backend: Keras "
        f"{keras.__version__} implements distribution for JAX (keras.distribution) and TensorFlow "
        "(tf.distribute) only; use KERAS_BACKEND=jax or tensorflow, or train with distribution: none."
    )


@contextlib.contextmanager
def scope(kind="none", count="all"):
    """A context inside which models are built, compiled, loaded and trained; yields the device count.

    Args:
        kind: ``"none"`` or ``"data_parallel"``.
        count: How many devices (the first ones of `devices()`), or ``"all"``.

    Raises:
        DistributionError: on torch, or when fewer devices than `count` exist.
    """
    if kind == "none":
        yield 1
        return
    if kind != "data_parallel":
        raise DistributionError(f"unknown distribution {kind!r}; use one of {', '.join(KINDS)}.")
    if _BACKEND not in ("jax", "tensorflow"):
        raise _unsupported()
    several = (("TF_CONFIG" in os.environ) if _BACKEND == "tensorflow"
               else int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1")) > 1)
    if several and count not in ("all", None):
        raise DistributionError(
            f"a device count ({count}) applies to one host; with "
            f"{'TF_CONFIG' if _BACKEND == 'tensorflow' else 'KERAS_DISTRIBUTION_NUM_PROCESSES'} set every "
            "process trains on all its devices: drop --devices (train.devices).")
    if several and _BACKEND == "tensorflow":  # one worker of several hosts
        strategy = _multi_worker()
    elif several:
        _initialize_processes()  # one process of several: reads KERAS_DISTRIBUTION_*
        strategy = keras.distribution.DataParallel(devices=jax.devices())
    else:
        found = devices()
        n = len(found) if count in ("all", None) else int(count)
        if n > len(found):
            raise DistributionError(
                f"data_parallel over {n} devices, but the {_BACKEND} backend sees {len(found)} "
                f"({', '.join(found)}); lower the device count, or on a CPU make virtual devices "
                "(docs/distribution.md).")
        strategy = (keras.distribution.DataParallel(devices=jax.devices()[:n]) if _BACKEND == "jax"
                    else _mirrored(tuple(found[:n])))
    with strategy.scope():
        yield (strategy.num_replicas_in_sync if _BACKEND == "tensorflow"
               else len(strategy.device_mesh.devices.flatten()))


def splits_the_step(devices):
    """Whether each of `devices` replicas runs the train step on its own part of the batch.

    True under TensorFlow's MirroredStrategy (so each part must form whole packs and
    minibatch-std groups); JAX traces one step over the global batch.
    """
    return devices > 1 and _BACKEND == "tensorflow"


def _mirrored(device_names):
    # One strategy per device set and process: each new MirroredStrategy numbers its collective
    # ops from the start again, and two models trained under two strategies would collide.
    if device_names not in _STRATEGIES:
        _STRATEGIES[device_names] = tf.distribute.MirroredStrategy(list(device_names))
    return _STRATEGIES[device_names]


_STRATEGIES = {}


def _multi_worker():
    # Like _mirrored: one per process (TensorFlow allows one multi-worker set-up per process).
    if "multi_worker" not in _STRATEGIES:
        _STRATEGIES["multi_worker"] = tf.distribute.MultiWorkerMirroredStrategy()
    return _STRATEGIES["multi_worker"]


def _initialize_processes():
    # keras.distribution.initialize starts JAX's distributed runtime, which a process may start once.
    if "processes" not in _STRATEGIES:
        keras.distribution.initialize()
        _STRATEGIES["processes"] = True


def replicas():
    """How many replicas run this step at once: >1 only inside a TensorFlow MirroredStrategy step."""
    if _BACKEND != "tensorflow":
        return 1
    context = tf.distribute.get_replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def scale_loss(loss):
    """The loss whose gradient, summed over the replicas, is the global batch's mean gradient."""
    n = replicas()
    return loss if n == 1 else loss / n


def per_sample(draw, batch_size):
    """`draw(batch_size)` rows of random values, distinct on every replica.

    Under R TensorFlow replicas each replica draws the global batch's ``R *
    batch_size`` rows from the same stream (so the stream's state stays the
    same everywhere) and keeps its own part, in the order the batch was
    split: the rows one device would have drawn for the whole batch.
    """
    n = replicas()
    if n == 1:
        return draw(batch_size)
    start = tf.distribute.get_replica_context().replica_id_in_sync_group * batch_size
    return draw(batch_size * n)[start:start + batch_size]


def on_global_batch(fn, x):
    """`fn(x)` computed as for the whole batch: under R TensorFlow replicas, `fn` of the gathered batch, own rows.

    For per-sample random transforms (DiffAugment) whose draws live inside
    Keras layers: every replica transforms the same global batch with the same
    draws and keeps its part, as one device would. Gradients flow back to
    each replica's own rows.
    """
    n = replicas()
    if n == 1:
        return fn(x)
    context = tf.distribute.get_replica_context()
    size = tf.shape(x)[0]
    start = context.replica_id_in_sync_group * size
    whole = tf.ensure_shape(context.all_gather(x, axis=0), [None, *x.shape[1:]])  # (the gather loses it)
    outputs = fn(whole)[start:start + size]
    return tf.ensure_shape(outputs, [x.shape[0], *outputs.shape[1:]])


def global_mean(x):
    """`x` averaged over the replicas (a batch statistic that state keeps, e.g. StyleGAN2's mean w).

    A TensorFlow mirrored variable assigned different values on different
    replicas silently keeps a different copy on each: state derived from
    the batch must be the global batch's.
    """
    n = replicas()
    return x if n == 1 else tf.distribute.get_replica_context().all_reduce("mean", x)


def reducible_logs(logs):
    """The step's logs in a form Keras 3.15 can average over several TensorFlow workers.

    Under `MultiWorkerMirroredStrategy` in multi-worker mode (a TF_CONFIG of
    several workers) Keras' `fit` averages each log with
    ``strategy.reduce("MEAN", value, axis=0)``, which fails on a scalar; a
    one-element vector averages to the same scalar. Elsewhere `logs` is returned as is.
    """
    # Keras reduces along axis 0 exactly when the strategy is in multi-worker mode (trainer.py, Keras 3.15).
    strategy = tf.distribute.get_strategy() if replicas() > 1 else None
    if not (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode()):  # noqa: SLF001
        return logs
    return {key: tf.reshape(value, (1,)) for key, value in logs.items()}


@contextlib.contextmanager
def synchronized_batch_norm(model):
    """Switches `model`'s batch norms to global-batch statistics for the block, under TF replicas only."""
    layers = []
    if replicas() > 1:
        layers = [layer for layer in _all_layers(model)
                  if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized]
    for layer in layers:
        layer.synchronized = True
    try:
        yield
    finally:
        for layer in layers:
            layer.synchronized = False


def _all_layers(layer, seen=None):
    seen = set() if seen is None else seen
    for child in getattr(layer, "layers", ()):
        if id(child) not in seen:
            seen.add(id(child))
            yield child
            yield from _all_layers(child, seen)
