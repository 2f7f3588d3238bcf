"""`seeded_dropout`: Keras' Dropout with an explicit seed, so its random stream is saved and resumed."""

import random

from keras import layers


def seeded_dropout(rate, **kwargs):
    """`keras.layers.Dropout(rate)` with a seed drawn from Python's RNG.

    `keras.utils.set_random_seed` seeds Python's RNG, so the seed is
    reproducible. An explicit seed makes every backend use Keras' seeded
    dropout, whose state the GAN saves (`ganzoo.models.random_streams`); with
    ``seed=None`` torch draws from its own global generator, which a saved
    model cannot restore, and a resumed run would differ.
    """
    return layers.Dropout(rate, seed=random.randint(1, 2**31 - 1), **kwargs)
