"""Discriminator-side layers and functions against mode collapse."""

from ganzoo.layers.minibatch_stddev import MinibatchStdDev
from ganzoo.layers.packing import pack, packed_shape
from ganzoo.layers.spectral import SpectralNormalization, spectral_normalized

__all__ = [
    "MinibatchStdDev",
    "SpectralNormalization",
    "pack",
    "packed_shape",
    "spectral_normalized",
]
