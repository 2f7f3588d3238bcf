"""pix2pix (Isola et al., 2017): a U-Net generator and a PatchGAN discriminator on image pairs.

The generator is the paper's U-Net ("encoder-decoder with skips"), sized from
the image shape: `depth` stride-2 4x4 convolutions down (filters doubling from
`base_filters` up to 8x), as many 4x4 transposed convolutions up, each joined
with the encoder output of its size, and a tanh output. An image whose sides
are not multiples of ``2 ** depth`` is zero-padded at the input and cropped at
the output (28x28 Fashion-MNIST runs at 32x32 inside). Dropout (0.5) in the
three innermost decoder blocks is the noise during training; `translate` runs
with dropout off, so an input has one output (the paper keeps dropout at test
time; one output per input is what export and parity checks need).

Normalization is instance normalization (`keras.layers.GroupNormalization`
with one group per channel; CycleGAN's choice, and what pix2pix's batch norm at
batch size 1 amounts to): it behaves the same in training and inference and
keeps no moving statistics, so an EMA generator needs no re-estimation. The
innermost encoder block has none (a 1x1 map would normalize to zero).

The discriminator is the paper's PatchGAN: `num_downsamples` stride-2 4x4
convolutions, a stride-1 one and a 1-filter stride-1 one; each output logit
judges one `receptive_field(num_downsamples)`-pixel patch (70 for the paper's 3)
of the input and output images concatenated along channels.

`build_pix2pix` assembles an `ImageToImageGAN` with the paper's L1 weight 100.
"""

import math
from typing import Annotated, Optional

import keras
from keras import layers

from ganzoo.arguments import Filters, Range
from ganzoo.layers import Conv2D, Conv2DTranspose, seeded_dropout, spectral_normalized
from ganzoo.models.image_to_image import ImageToImageGAN

Depth = Annotated[int, Range(1, 8)]
Channels = Annotated[int, Range(1, 64)]
Dropout = Annotated[float, Range(minimum=0.0, exclusive_maximum=1.0)]
MAX_FILTER_MULTIPLE = 8
DROPOUT_BLOCKS = 3  # the innermost decoder blocks with dropout, as in the paper


def default_depth(image_shape):
    """The U-Net's downsamplings for `image_shape`: halving the shorter side down to 1-3 pixels, at most 8."""
    return max(1, min(8, int(math.log2(min(image_shape[:2])))))


def receptive_field(num_downsamples):
    """Pixels one PatchGAN logit sees along each axis: 70 for 3 downsamplings, 34 for 2, 16 for 1."""
    strides = [2] * num_downsamples + [1, 1]
    return 1 + sum(3 * math.prod(strides[:i]) for i in range(len(strides)))


def _instance_norm(name):
    return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def _filters(base_filters, level):
    return base_filters * min(2 ** level, MAX_FILTER_MULTIPLE)


def build_generator(
    image_shape,
    *,
    input_channels: Optional[Channels] = None,
    base_filters: Filters = 64,
    depth: Optional[Depth] = None,
    dropout: Dropout = 0.5,
    name: str = "generator",
):
    """Builds the U-Net generator: input images `(H, W, input_channels)` -> images `image_shape` in [-1, 1].

    Args:
        image_shape: `(H, W, C)` of the output images.
        input_channels: Channels of the input images (default: C).
        base_filters: Filters of the outermost encoder block (64 in the paper).
        depth: Stride-2 downsamplings (default `default_depth(image_shape)`;
            8 for the paper's 256x256 images).
        dropout: Dropout rate of the innermost decoder blocks (0 for none).
        name: Model name.
    """
    height, width, channels = image_shape
    depth = depth or default_depth(image_shape)
    step = 2 ** depth
    padded = (-height % step, -width % step)
    inputs = keras.Input((height, width, input_channels or channels), name="images")
    x = layers.ZeroPadding2D(((padded[0] // 2, padded[0] - padded[0] // 2),
                              (padded[1] // 2, padded[1] - padded[1] // 2)))(inputs)
    skips = []
    for level in range(depth):
        x = Conv2D(_filters(base_filters, level), 4, strides=2, padding="same", name=f"down{level}")(x)
        if 0 < level < depth - 1:
            x = _instance_norm(f"down{level}_norm")(x)
        x = layers.LeakyReLU(0.2)(x)
        skips.append(x)
    for level in reversed(range(depth - 1)):
        x = Conv2DTranspose(_filters(base_filters, level), 4, strides=2, padding="same", name=f"up{level}")(x)
        x = _instance_norm(f"up{level}_norm")(x)
        if dropout and level >= depth - 1 - DROPOUT_BLOCKS:
            x = seeded_dropout(dropout)(x)
        x = layers.ReLU()(x)
        x = layers.Concatenate()([x, skips[level]])
    x = Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh", name="output")(x)
    x = layers.Cropping2D(((padded[0] // 2, padded[0] - padded[0] // 2),
                           (padded[1] // 2, padded[1] - padded[1] // 2)))(x)
    return keras.Model(inputs, x, name=name)


def build_discriminator(
    image_shape,
    *,
    input_channels: Optional[Channels] = None,
    base_filters: Filters = 64,
    num_downsamples: Depth = 3,
    spectral_norm: bool = False,
    name: str = "discriminator",
):
    """Builds the PatchGAN: `concat(input, image)` -> a grid of real-vs-fake logits.

    Args:
        image_shape: `(H, W, C)` of the output images.
        input_channels: Channels of the input images (default: C); 0 judges
            the output image alone.
        base_filters: Filters of the first block (64 in the paper).
        num_downsamples: Stride-2 blocks; sets the patch size
            (`receptive_field`: 70 pixels for the paper's 3).
        spectral_norm: Spectral normalization on every convolution instead
            of instance normalization.
        name: Model name.
    """
    height, width, channels = image_shape
    extra = channels if input_channels is None else input_channels
    inputs = keras.Input((height, width, channels + extra), name="pairs")
    x = inputs
    for level in range(num_downsamples + 1):
        stride = 2 if level < num_downsamples else 1
        x = spectral_normalized(Conv2D(_filters(base_filters, level), 4, strides=stride, padding="same",
                                       name=f"block{level}"), spectral_norm)(x)
        if level and not spectral_norm:
            x = _instance_norm(f"block{level}_norm")(x)
        x = layers.LeakyReLU(0.2)(x)
    logits = spectral_normalized(Conv2D(1, 4, padding="same", name="patch_logits"), spectral_norm)(x)
    return keras.Model(inputs, logits, name=name)


def build_pix2pix(image_shape, *, input_channels=None, generator=None, discriminator=None,
                  reconstruction_weight=100.0, **gan_kwargs):
    """The pix2pix `ImageToImageGAN` for `image_shape` outputs from `input_channels`-channel inputs.

    Args:
        image_shape: `(H, W, C)` of the targets.
        input_channels: Channels of the inputs (default: C).
        generator: Keyword arguments of `build_generator`.
        discriminator: Keyword arguments of `build_discriminator`.
        reconstruction_weight: L1 weight (100 in the paper).
        **gan_kwargs: Arguments of `ImageToImageGAN` (``adversarial_weight``,
            ``r1_weight``, ``ema_decay``, ``seed``, ...).
    """
    # A discriminator that judges the output alone (paired_discriminator=False) takes no input channels.
    judged = input_channels if gan_kwargs.get("paired_discriminator", True) else 0
    return ImageToImageGAN(
        build_generator(image_shape, input_channels=input_channels, **(generator or {})),
        build_discriminator(image_shape, input_channels=judged, **(discriminator or {})),
        reconstruction_weight=reconstruction_weight, **gan_kwargs)
