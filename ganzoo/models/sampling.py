"""Sampling from any generator model with seeded NumPy latents (the same on every backend)."""

import numpy as np
from keras import ops

from ganzoo import labels as labels_lib


def latents(n, latent_dim, *, seed=None):
    """Standard normal latents from NumPy, identical on every backend for a seed."""
    check_int("n", n, minimum=1)
    return np.random.default_rng(seed).standard_normal((n, latent_dim), dtype=np.float32)


LABEL_EMBEDDING = "label_embedding"  # the layer name that marks a conditional generator


def num_classes(generator):
    """Classes of a conditional generator (inputs `[z, label]`), or None for an unconditional one."""
    if len(generator.inputs) != 2:
        return None
    try:
        return int(generator.get_layer(LABEL_EMBEDDING).input_dim)
    except ValueError:
        raise ValueError(
            f"generator {generator.name!r} has 2 inputs but no {LABEL_EMBEDDING!r} layer; "
            "build conditional generators with ganzoo.models.conditional."
        ) from None


def check_labels(labels, n, classes):
    """Returns `labels` as an int32 array of shape `(n,)`, or raises a one-line ValueError.

    `labels=None` cycles through the classes (0, 1, ..., classes - 1, 0, ...);
    a single integer asks for `n` samples of that class (`ganzoo.labels.check_labels`).
    """
    return labels_lib.check_labels(labels, n, classes)


def generate(generator, n, *, seed=None, batch_size=256, labels=None):
    """Runs a generator model in inference mode on `n` seeded latents, in batches.

    Works for any single-input generator (e.g. a loaded `generator.keras`) and
    for conditional generators (inputs `[z, label]`), which take `labels`
    (see `check_labels`); `GAN.generate` calls it.
    """
    check_int("n", n, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    labels = check_labels(labels, n, num_classes(generator))
    z = latents(n, int(generator.inputs[0].shape[-1]), seed=seed)
    return run(generator, z, labels, batch_size=batch_size)


def run(generator, z, labels=None, *, batch_size=256):
    """The generator's float32 outputs on latents `z` (and int labels, for a two-input one), in batches."""
    chunks = []
    for i in range(0, len(z), batch_size):
        inputs = z[i : i + batch_size] if labels is None else [z[i : i + batch_size], labels[i : i + batch_size]]
        chunks.append(ops.convert_to_numpy(generator(inputs, training=False)))
    return np.concatenate(chunks).astype(np.float32)


def check_int(name, value, *, minimum):
    """Raises a one-line ValueError unless `value` is an integer >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}, got {value!r}."
        )
