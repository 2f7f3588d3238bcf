"""Discriminator regularizers as pure functions of a discriminator and data.

Both need gradients with respect to the discriminator's input; they take them
through `ganzoo.backend.gradients.input_gradients`, the backend seam, so this
module names no backend. Each returns a scalar to add, with a weight, to the
discriminator loss.
"""

import keras
from keras import ops

from ganzoo.backend import distribution
from ganzoo.backend.gradients import input_gradients


def _squared_norms(gradients):
    """Per-sample squared L2 norms of a batch of gradients."""
    flat = ops.reshape(gradients, (ops.shape(gradients)[0], -1))
    return ops.sum(ops.square(flat), axis=1)


def gradient_penalty(discriminator_fn, real, fake, *, seed=None):
    """WGAN-GP gradient penalty (Gulrajani et al., 2017).

    `E[(||grad_x D(x_hat)||_2 - 1)^2]` at `x_hat = eps * real + (1 - eps) * fake`,
    `eps ~ U[0, 1]` per sample: a soft 1-Lipschitz constraint on the critic
    along lines between real and generated samples. The paper's weight is 10.

    Args:
        discriminator_fn: Batch -> logits, without state updates
            (e.g. `lambda x: D(x, training=False)`).
        real: A batch of real samples.
        fake: A batch of generated samples of the same shape.
        seed: Seed or `keras.random.SeedGenerator` for `eps`.

    Returns:
        The scalar penalty.
    """
    shape = ops.shape(real)
    eps_shape = (shape[0],) + (1,) * (len(real.shape) - 1)
    eps = distribution.per_sample(lambda n: keras.random.uniform((n, *eps_shape[1:]), seed=seed), shape[0])
    interpolates = eps * real + (1.0 - eps) * fake
    gradients = input_gradients(discriminator_fn, interpolates)
    norms = ops.sqrt(_squared_norms(gradients) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def r1(discriminator_fn, real):
    """R1 regularizer (Mescheder et al., 2018): `E[||grad_x D(x)||_2^2]` on real data.

    Penalising the discriminator's gradient on real data makes GAN training
    locally convergent. The paper adds `gamma / 2` times this value;
    `GAN(r1_weight=gamma)` does the same.

    Args:
        discriminator_fn: Batch -> logits, without state updates.
        real: A batch of real samples.

    Returns:
        The scalar mean squared gradient norm.
    """
    return ops.mean(_squared_norms(input_gradients(discriminator_fn, real)))
