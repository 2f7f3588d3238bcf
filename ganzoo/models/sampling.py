"""Sampling from any generator model with seeded NumPy latents (the same on every backend)."""

import numpy as np
from keras import ops


def latents(n, latent_dim, *, seed=None):
    """Standard normal latents from NumPy, identical on every backend for a seed."""
    check_int("n", n, minimum=1)
    return np.random.default_rng(seed).standard_normal((n, latent_dim), dtype=np.float32)


def generate(generator, n, *, seed=None, batch_size=256):
    """Runs a generator model in inference mode on `n` seeded latents, in batches.

    Works for any single-input generator (e.g. a loaded `generator.keras`);
    `GAN.generate` calls it.
    """
    check_int("batch_size", batch_size, minimum=1)
    z = latents(n, generator.input_shape[-1], seed=seed)
    chunks = [
        ops.convert_to_numpy(generator(z[i : i + batch_size], training=False))
        for i in range(0, n, batch_size)
    ]
    return np.concatenate(chunks).astype(np.float32)


def check_int(name, value, *, minimum):
    """Raises a one-line ValueError unless `value` is an integer >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}, got {value!r}."
        )
