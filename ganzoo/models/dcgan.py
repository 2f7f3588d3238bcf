"""DCGAN (Radford et al., 2016): transposed-conv generator, strided-conv discriminator.

Both networks are sized from the image shape: the generator starts from a
`start x start` map (8x8 -> 4, 28x28 -> 7, 32x32 -> 4, 64x64 -> 4) and doubles
it with stride-2 transposed convolutions, halving the filters each time; the
discriminator mirrors it with stride-2 convolutions.
"""

from typing import Optional

import keras
from keras import layers

from ganzoo.arguments import Filters, GroupSize, LatentSize, PackSize
from ganzoo.layers import (BatchNormalization, Conv2D, Conv2DTranspose, MinibatchStdDev, packed_shape,
                           spectral_normalized)


def upsampling_plan(image_shape):
    """Returns `(start_height, start_width, n_upsamplings)` for an image shape.

    The image is halved while both sides stay even and at least 4 after halving.

    Raises:
        ValueError: if the shape is not (height, width, channels) or cannot be
            reached by doubling a map of side >= 2.
    """
    if len(image_shape) != 3 or min(image_shape) < 1:
        raise ValueError(
            f"DCGAN needs an image shape (height, width, channels), got {tuple(image_shape)}."
        )
    height, width, _ = image_shape
    n = 0
    while height % 2 == 0 and width % 2 == 0 and min(height, width) // 2 >= 4:
        height, width, n = height // 2, width // 2, n + 1
    if n == 0:
        raise ValueError(
            f"DCGAN cannot upsample to {image_shape[0]}x{image_shape[1]}: use sides "
            "that are a multiple of 8 or a 7 x 2^k size such as 28."
        )
    return height, width, n


def build_generator(
    image_shape, *, latent_dim: LatentSize = 100, base_filters: Filters = 64, name: str = "generator"
):
    """Builds the DCGAN generator: latent -> image in [-1, 1].

    Args:
        image_shape: (height, width, channels) of the images to generate.
        latent_dim: Size of the latent input.
        base_filters: Filters of the last transposed convolution; each earlier
            one has twice as many.
        name: Model name.

    Returns:
        A functional `keras.Model`.
    """
    start_h, start_w, n_up = upsampling_plan(image_shape)
    filters = base_filters * 2**n_up
    latents = keras.Input((latent_dim,), name="z")
    x = layers.Dense(start_h * start_w * filters, use_bias=False)(latents)
    x = BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((start_h, start_w, filters))(x)
    for _ in range(n_up):
        filters //= 2
        x = Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = BatchNormalization()(x)
        x = layers.ReLU()(x)
    images = Conv2D(image_shape[-1], 3, padding="same", activation="tanh")(x)
    return keras.Model(latents, images, name=name)


def build_discriminator(
    image_shape,
    *,
    base_filters: Filters = 64,
    batch_norm: Optional[bool] = None,
    spectral_norm: bool = False,
    minibatch_stddev: bool = False,
    minibatch_group_size: GroupSize = 4,
    pack: PackSize = 1,
    num_outputs: int = 1,
    name: str = "discriminator",
):
    """Builds the DCGAN discriminator: image (or pack of images) -> one logit.

    Args:
        image_shape: (height, width, channels) of the input images.
        base_filters: Filters of the first convolution; each later one doubles.
        batch_norm: Batch normalization after every convolution but the
            first, as in the DCGAN paper. None (the default) means "on unless
            `spectral_norm`", so that spectral normalization alone governs D.
        spectral_norm: Wrap every convolution and the final dense layer in
            `ganzoo.layers.SpectralNormalization` (Miyato et al., 2018).
        minibatch_stddev: Append a `MinibatchStdDev` channel to the last
            convolution block's output, before the flatten.
        minibatch_group_size: `group_size` of that layer.
        pack: Samples per PacGAN pack: the input holds `pack` images stacked
            on the channel axis, shape `packed_shape(image_shape, pack)`.
        num_outputs: Logits per input: 1 (real vs fake), or K + 1 for a
            mixture of K generators (`ganzoo.models.mixture`).
        name: Model name.

    Returns:
        A functional `keras.Model`.

    Raises:
        ValueError: if `batch_norm=True` and `spectral_norm=True` are both given.
    """
    images = keras.Input(packed_shape(image_shape, pack), name="images")
    x = discriminator_features(
        images, image_shape, base_filters=base_filters, batch_norm=batch_norm,
        spectral_norm=spectral_norm, minibatch_stddev=minibatch_stddev,
        minibatch_group_size=minibatch_group_size,
    )
    logits = spectral_normalized(layers.Dense(num_outputs), spectral_norm)(x)
    return keras.Model(images, logits, name=name)


def discriminator_features(
    images,
    image_shape,
    *,
    base_filters: Filters = 64,
    batch_norm: Optional[bool] = None,
    spectral_norm: bool = False,
    minibatch_stddev: bool = False,
    minibatch_group_size: GroupSize = 4,
):
    """The discriminator's strided-conv stack on the symbolic `images`, flattened.

    Shared by `build_discriminator` and the conditional discriminators of
    `ganzoo.models.conditional`; the arguments are `build_discriminator`'s.
    """
    batch_norm = resolve_batch_norm(batch_norm, spectral_norm)
    _, _, n_up = upsampling_plan(image_shape)
    x = images
    for i in range(max(n_up, 2)):
        conv = Conv2D(base_filters * 2**i, 4, strides=2, padding="same")
        x = spectral_normalized(conv, spectral_norm)(x)
        if batch_norm and i > 0:
            x = BatchNormalization()(x)
        x = layers.LeakyReLU(0.2)(x)
    if minibatch_stddev:
        x = MinibatchStdDev(minibatch_group_size)(x)
    return layers.Flatten()(x)


def resolve_batch_norm(batch_norm, spectral_norm):
    """The discriminator's batch-norm switch: `batch_norm`, or when None, "on unless `spectral_norm`".

    Raises:
        ValueError: if both are True (the config check calls this too).
    """
    if batch_norm and spectral_norm:
        raise ValueError(
            "batch_norm=True and spectral_norm=True do not combine; leave batch_norm "
            "unset (or False) when using spectral_norm."
        )
    return not spectral_norm if batch_norm is None else batch_norm
