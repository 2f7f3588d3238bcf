"""The fully connected GAN of Goodfellow et al. (2014), for flat, 2-D and small image data."""

import math

import keras
from keras import layers


def build_generator(
    sample_shape,
    *,
    latent_dim=2,
    hidden_units=(128, 128),
    output_activation="tanh",
    batch_norm=False,
    name="generator",
):
    """Builds an MLP generator: latent -> sample of `sample_shape`.

    Args:
        sample_shape: Shape of one sample, e.g. (2,) for points or (8, 8, 1).
        latent_dim: Size of the latent input.
        hidden_units: Width of each hidden ReLU layer.
        output_activation: "tanh" for data in [-1, 1] (images), None for
            unbounded data (2-D mixtures).
        batch_norm: Batch normalization before each hidden activation.
        name: Model name.

    Returns:
        A functional `keras.Model`.
    """
    latents = keras.Input((latent_dim,), name="z")
    x = latents
    for units in hidden_units:
        x = layers.Dense(units, use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.Dense(math.prod(sample_shape), activation=output_activation)(x)
    samples = layers.Reshape(tuple(sample_shape))(x)
    return keras.Model(latents, samples, name=name)


def build_discriminator(sample_shape, *, hidden_units=(128, 128), name="discriminator"):
    """Builds an MLP discriminator: sample -> one logit (LeakyReLU hidden layers).

    Args:
        sample_shape: Shape of one input sample.
        hidden_units: Width of each hidden layer.
        name: Model name.

    Returns:
        A functional `keras.Model`.
    """
    samples = keras.Input(tuple(sample_shape), name="samples")
    x = layers.Flatten()(samples)
    for units in hidden_units:
        x = layers.Dense(units)(x)
        x = layers.LeakyReLU(0.2)(x)
    logits = layers.Dense(1)(x)
    return keras.Model(samples, logits, name=name)
