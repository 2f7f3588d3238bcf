"""`seeded_dropout`: Keras' Dropout with an explicit seed, so its random stream is saved and resumed."""

import random

import keras
from keras import layers, ops

from ganzoo.backend import distribution


@keras.saving.register_keras_serializable(package="ganzoo")
class Dropout(layers.Dropout):
    """`keras.layers.Dropout`, whose masks differ from replica to replica under a TensorFlow MirroredStrategy.

    Keras' layer draws each replica's mask from the same seed state, so every
    replica would drop the same units of its part of the batch. Under several
    replicas this layer draws the global batch's mask and keeps its own rows
    (`distribution.per_sample`); everywhere else it is Keras' layer.
    """

    def call(self, inputs, training=False):
        if not training or not self.rate or self.noise_shape is not None or distribution.replicas() == 1:
            return super().call(inputs, training=training)
        keep = distribution.per_sample(
            lambda n: keras.random.uniform((n, *inputs.shape[1:]), seed=self.seed_generator),
            ops.shape(inputs)[0]) >= self.rate
        return ops.where(keep, inputs / (1.0 - self.rate), ops.zeros_like(inputs))


def seeded_dropout(rate, **kwargs):
    """`Dropout(rate)` with a seed drawn from Python's RNG.

    `keras.utils.set_random_seed` seeds Python's RNG, so the seed is
    reproducible. An explicit seed makes every backend use Keras' seeded
    dropout, whose state the GAN saves (`ganzoo.models.random_streams`); with
    ``seed=None`` torch draws from its own global generator, which a saved
    model cannot restore, and a resumed run would differ.
    """
    return Dropout(rate, seed=random.randint(1, 2**31 - 1), **kwargs)
