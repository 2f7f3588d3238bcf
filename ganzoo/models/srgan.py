"""Super-resolution: the SRResNet generator and an SRGAN discriminator (Ledig et al., 2017).

The generator maps a low-resolution image of any size to one `scale` times
larger: a 9x9 convolution, `residual_blocks` residual blocks of two 3x3
convolutions (PReLU between), a 3x3 convolution joined to the first one's
output, log2(`scale`) sub-pixel upsampling steps (a 3x3 convolution to 4x the
filters, `PixelShuffle(2)`, PReLU) and a 9x9 convolution to the image's
channels with tanh (images are in [-1, 1]). It has no batch normalization
(ESRGAN's finding: it adds artifacts; and no moving statistics means an EMA
generator needs no re-estimation). Every layer is convolutional and PReLU
shares its slopes over space, so the input's height and width are free.

The discriminator judges a high-resolution image: pairs of 3x3 convolutions
(stride 1, then stride 2) with filters doubling from `base_filters`, global
average pooling (so it takes any size too), a dense layer and one logit.

`build_srgan` assembles an `ImageToImageGAN` whose discriminator sees the
output alone: `reconstruction` "l2" (MSE, the paper's pixel loss) plus
`adversarial_weight` 1e-3 times the adversarial loss (the paper's weight);
``adversarial_weight=0`` is SRResNet, trained on the pixel loss alone.
"""

import math
from typing import Annotated

import keras
from keras import layers

from ganzoo.arguments import Filters, OneOf, Range
from ganzoo.layers import Conv2D, PixelShuffle, spectral_normalized
from ganzoo.models.image_to_image import ImageToImageGAN

Scale = Annotated[int, OneOf(2, 4, 8)]
Blocks = Annotated[int, Range(1, 32)]
MAX_FILTER_MULTIPLE = 8


def _prelu():
    return layers.PReLU(shared_axes=[1, 2])  # one slope per channel: any height and width


def build_generator(
    image_shape,
    *,
    scale: Scale = 4,
    filters: Filters = 64,
    residual_blocks: Blocks = 16,
    name: str = "generator",
):
    """Builds SRResNet: images `(h, w, C)` of any size -> images `(scale * h, scale * w, C)` in [-1, 1].

    Args:
        image_shape: `(H, W, C)` of the high-resolution images (C is used).
        scale: Upsampling factor: 2, 4 (the paper's) or 8.
        filters: Filters of every convolution before the output (64 in the paper).
        residual_blocks: Residual blocks (16 in the paper).
        name: Model name.
    """
    channels = image_shape[-1]
    inputs = keras.Input((None, None, channels), name="images")
    x = _prelu()(Conv2D(filters, 9, padding="same", name="head")(inputs))
    head = x
    for block in range(residual_blocks):
        y = _prelu()(Conv2D(filters, 3, padding="same", name=f"residual{block}_a")(x))
        x = layers.Add()([x, Conv2D(filters, 3, padding="same", name=f"residual{block}_b")(y)])
    x = layers.Add()([head, Conv2D(filters, 3, padding="same", name="body")(x)])
    for step in range(int(math.log2(scale))):
        x = Conv2D(filters * 4, 3, padding="same", name=f"upsample{step}")(x)
        x = _prelu()(PixelShuffle(2)(x))
    outputs = Conv2D(channels, 9, padding="same", activation="tanh", name="output")(x)
    return keras.Model(inputs, outputs, name=name)


def build_discriminator(
    image_shape,
    *,
    base_filters: Filters = 64,
    num_blocks: Annotated[int, Range(1, 8)] = 4,
    dense_units: Annotated[int, Range(1, 65536)] = 1024,
    spectral_norm: bool = False,
    name: str = "discriminator",
):
    """Builds the SRGAN discriminator: images `image_shape` -> one real-vs-fake logit.

    Args:
        image_shape: `(H, W, C)` of the high-resolution images.
        base_filters: Filters of the first block (64 in the paper).
        num_blocks: Blocks of a stride-1 and a stride-2 3x3 convolution (4 in the paper).
        dense_units: Units of the dense layer before the logit (1024 in the paper).
        spectral_norm: Spectral normalization on every convolution and dense layer.
        name: Model name.
    """
    inputs = keras.Input(tuple(image_shape), name="images")
    x = inputs
    for block in range(num_blocks):
        filters = base_filters * min(2**block, MAX_FILTER_MULTIPLE)
        for stride in (1, 2):
            x = spectral_normalized(Conv2D(filters, 3, strides=stride, padding="same",
                                           name=f"block{block}_{stride}"), spectral_norm)(x)
            x = layers.LeakyReLU(0.2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.LeakyReLU(0.2)(spectral_normalized(layers.Dense(dense_units), spectral_norm)(x))
    return keras.Model(inputs, spectral_normalized(layers.Dense(1), spectral_norm)(x), name=name)


def build_srgan(image_shape, *, input_shape=None, generator=None, discriminator=None,
                reconstruction_weight=1.0, adversarial_weight=1e-3, **gan_kwargs):
    """The SRGAN `ImageToImageGAN` (``adversarial_weight=0``: SRResNet) for `image_shape` outputs.

    Args:
        image_shape: `(H, W, C)` of the high-resolution targets.
        input_shape: The low-resolution inputs' shape; sets `scale` (H over
            its height) unless the generator arguments give one.
        generator: Keyword arguments of `build_generator`.
        discriminator: Keyword arguments of `build_discriminator`.
        reconstruction_weight: Weight of the pixel loss (MSE unless
            ``reconstruction="l1"`` is passed).
        adversarial_weight: Weight of the adversarial term (1e-3 in the paper).
        **gan_kwargs: Arguments of `ImageToImageGAN` (``r1_weight``, ``ema_decay``, ``seed``, ...).
    """
    generator = dict(generator or {})
    if input_shape is not None:
        scale, remainder = divmod(image_shape[0], input_shape[0])
        if remainder or image_shape[1] != scale * input_shape[1]:
            raise ValueError(f"outputs {tuple(image_shape)} are not an integer multiple of inputs {tuple(input_shape)}.")
        generator.setdefault("scale", scale)
    gan_kwargs.setdefault("reconstruction", "l2")
    return ImageToImageGAN(
        build_generator(image_shape, **generator), build_discriminator(image_shape, **(discriminator or {})),
        reconstruction_weight=reconstruction_weight, adversarial_weight=adversarial_weight,
        paired_discriminator=False, **gan_kwargs)
