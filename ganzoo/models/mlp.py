"""The fully connected GAN of Goodfellow et al. (2014), for flat, 2-D and small image data."""

import math
from typing import Annotated, Optional

import keras
from keras import layers

from ganzoo.arguments import GroupSize, HiddenUnits, LatentSize, OneOf, PackSize, Range
from ganzoo.layers import BatchNormalization, MinibatchStdDev, packed_shape, seeded_dropout, spectral_normalized


def build_generator(
    sample_shape,
    *,
    latent_dim: LatentSize = 2,
    hidden_units: HiddenUnits = (128, 128),
    output_activation: Annotated[Optional[str], OneOf("tanh", "sigmoid", "linear", None)] = "tanh",
    batch_norm: bool = False,
    name: str = "generator",
):
    """Builds an MLP generator: latent -> sample of `sample_shape`.

    Args:
        sample_shape: Shape of one sample, e.g. (2,) for points or (8, 8, 1).
        latent_dim: Size of the latent input.
        hidden_units: Width of each hidden ReLU layer.
        output_activation: "tanh" for data in [-1, 1] (images), None (or
            "linear") for unbounded data (2-D mixtures), "sigmoid" for [0, 1].
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
            x = BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.Dense(math.prod(sample_shape), activation=output_activation)(x)
    samples = layers.Reshape(tuple(sample_shape))(x)
    return keras.Model(latents, samples, name=name)


def build_discriminator(
    sample_shape,
    *,
    hidden_units: HiddenUnits = (128, 128),
    dropout: Annotated[float, Range(0.0, exclusive_maximum=1.0)] = 0.0,
    spectral_norm: bool = False,
    minibatch_stddev: bool = False,
    minibatch_group_size: GroupSize = 4,
    pack: PackSize = 1,
    num_outputs: int = 1,
    name: str = "discriminator",
):
    """Builds an MLP discriminator: sample (or pack of samples) -> one logit.

    Hidden layers are Dense + LeakyReLU(0.2), each followed by dropout when
    `dropout > 0` (the 2014 paper's discriminator used dropout).

    Args:
        sample_shape: Shape of one input sample.
        hidden_units: Width of each hidden layer.
        dropout: Dropout rate after each hidden layer; 0 for none.
        spectral_norm: Wrap every dense layer, the output one included, in
            `ganzoo.layers.SpectralNormalization` (Miyato et al., 2018).
        minibatch_stddev: Append a `MinibatchStdDev` feature before the output layer.
        minibatch_group_size: `group_size` of that layer.
        pack: Samples per PacGAN pack: the input holds `pack` samples stacked
            on the last axis, shape `packed_shape(sample_shape, pack)`.
        num_outputs: Logits per input: 1 (real vs fake), or K + 1 for a
            mixture of K generators (`ganzoo.models.mixture`).
        name: Model name.

    Returns:
        A functional `keras.Model`.
    """
    samples = keras.Input(packed_shape(sample_shape, pack), name="samples")
    x = layers.Flatten()(samples)
    for units in hidden_units:
        x = spectral_normalized(layers.Dense(units), spectral_norm)(x)
        x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = seeded_dropout(dropout)(x)
    if minibatch_stddev:
        x = MinibatchStdDev(minibatch_group_size)(x)
    logits = spectral_normalized(layers.Dense(num_outputs), spectral_norm)(x)
    return keras.Model(samples, logits, name=name)
