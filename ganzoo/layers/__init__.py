"""Layers: against mode collapse (discriminator side), and fast-training convolutions and batch normalization."""

from ganzoo.layers.conv import Conv2D, Conv2DTranspose
from ganzoo.layers.dropout import seeded_dropout
from ganzoo.layers.minibatch_stddev import MinibatchStdDev
from ganzoo.layers.normalization import BatchNormalization
from ganzoo.layers.packing import pack, packed_shape
from ganzoo.layers.pixel_shuffle import PixelShuffle
from ganzoo.layers.spectral import SpectralNormalization, spectral_normalized

__all__ = [
    "BatchNormalization",
    "Conv2D",
    "Conv2DTranspose",
    "MinibatchStdDev",
    "PixelShuffle",
    "SpectralNormalization",
    "pack",
    "packed_shape",
    "seeded_dropout",
    "spectral_normalized",
]
