"""The GAN's `test_step`: its losses on held-out data, with nothing updated.

`gan.evaluate(data)` and `gan.fit(..., validation_data=data)` run it on every
batch. It reports the same names as training (``d_loss``, ``g_loss``,
``d_real``, ``d_fake``; ``val_`` ones in `fit`'s history), computed with
every layer in inference mode (no augmentation, batch norm on its moving
statistics) and without the gradient penalties, which are regularizers of
the update rather than part of the game's value. The generated half of each
batch comes from fixed latents (`VALIDATION_SEED`), so validation neither
draws from nor advances the training random stream, and the same weights
give the same validation losses every time.
"""

from __future__ import annotations

import keras
from keras import ops

from ganzoo.backend import distribution

VALIDATION_SEED = 20_231_127


def test_step(model, data):
    """Scores one held-out batch of `model` (a ganzoo GAN); returns the metric results."""
    real, labels = model.unpack_batch(data)
    batch_size = ops.shape(real)[0]
    latents = None  # image-to-image generators take no latents
    if model.latent_dim is not None:
        latents = distribution.per_sample(  # (under replicas: each its rows of the whole batch's)
            lambda n: keras.random.normal((n, model.latent_dim), seed=VALIDATION_SEED), batch_size)
    fake = model.fake_batch(batch_size, labels, training=False, latents=latents)
    d_loss, probabilities = model.discriminator_loss(real, fake, labels, training=False)
    g_loss, _ = model.generator_loss(fake, labels, training=False)
    return log_losses(model, d_loss, g_loss, probabilities)


def log_losses(model, d_loss, g_loss, probabilities):
    """Adds one batch's losses and D's mean probabilities to `model`'s trackers; returns the metric results."""
    model.d_loss_tracker.update_state(d_loss)
    model.g_loss_tracker.update_state(g_loss)
    model.d_real_tracker.update_state(probabilities["d_real"])
    model.d_fake_tracker.update_state(probabilities["d_fake"])
    return {m.name: m.result() for m in model.metrics}
