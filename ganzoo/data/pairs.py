"""Paired image datasets for image-to-image models: ``(inputs, targets)``, both float images in [-1, 1].

A paired dataset yields ``(inputs, targets)`` batches wherever ganzoo yields
data (`ganzoo.data.load`, `load_arrays`, `epoch_stream`): Keras' own
convention for a model with inputs and targets, read by
`ganzoo.models.image_to_image.ImageToImageGAN`. ``with_labels`` does not apply
(the second part is always the targets); the class labels of the images a
pair came from, for scoring whether a translation keeps the class, come from
`load_pair_arrays`.

Built in:

* ``fashion_mnist_edges``: input = `edges` of a Fashion-MNIST image, target =
  the image; the official splits (``train`` 60 000, ``test`` 10 000).
* ``fashion_mnist_x4``: super-resolution x4, input = the 7x7 `downsample`
  (4x4 block means) of a 28x28 Fashion-MNIST image, target = the image.
* ``digits_x2``: super-resolution x2 on scikit-learn's 8x8 digits (4x4
  inputs), digits' fixed split; small enough for tests.
"""

from __future__ import annotations

import numpy as np

from ganzoo.data import idx

# Sobel's 3x3 kernels reach 4 for a unit step (on images in [0, 1]); the magnitude is divided by it.
_SOBEL_STEP = 4.0


def edges(images) -> np.ndarray:
    """The Sobel edge magnitude of images: the input of ``fashion_mnist_edges``.

    Each image is first averaged over its channels; the gradient magnitude
    ``sqrt(sobel_x ** 2 + sobel_y ** 2)`` (Sobel's 3x3 kernels as two
    `scipy.ndimage.correlate1d` passes per axis, edges of the image extended
    by reflection) is divided by 4, the magnitude of a step
    from black to white, clipped to 1 and mapped to [-1, 1]: -1 where the image
    is flat, 1 on the strongest edges.

    Args:
        images: float array (N, H, W, C) in [-1, 1].

    Returns:
        float32 array (N, H, W, 1) in [-1, 1].
    """
    from scipy import ndimage  # pylint: disable=import-outside-toplevel

    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"edges() takes a batch of images (N, H, W, C), got shape {images.shape}")
    gray = (images.mean(axis=-1) + 1.0) / 2.0  # [0, 1]

    def sobel(derivative_axis, smoothing_axis):  # within each image: ndimage.sobel would smooth across the batch
        derivative = ndimage.correlate1d(gray, [-1.0, 0.0, 1.0], axis=derivative_axis, mode="reflect")
        return ndimage.correlate1d(derivative, [1.0, 2.0, 1.0], axis=smoothing_axis, mode="reflect")

    magnitude = np.hypot(sobel(1, 2), sobel(2, 1))
    return (np.clip(magnitude / _SOBEL_STEP, 0.0, 1.0) * 2.0 - 1.0)[..., np.newaxis].astype(np.float32)


def downsample(images, factor: int) -> np.ndarray:
    """Area (box) downsampling: the mean of each `factor` x `factor` block, the super-resolution inputs.

    Args:
        images: float array (N, H, W, C), H and W multiples of `factor`.

    Returns:
        float32 array (N, H / factor, W / factor, C).
    """
    images = np.asarray(images, dtype=np.float32)
    n, height, width, channels = images.shape
    if height % factor or width % factor:
        raise ValueError(f"images of {height}x{width} do not divide into {factor}x{factor} blocks")
    blocks = images.reshape(n, height // factor, factor, width // factor, factor, channels)
    return blocks.mean(axis=(2, 4), dtype=np.float32)


def _downsampled(name: str, factor: int):
    def load(split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from ganzoo import data  # pylint: disable=import-outside-toplevel  (data imports this module)

        targets, labels = data.load_arrays(name, split, with_labels=True)
        return downsample(targets, factor), targets, labels

    return load


def _fashion_mnist_edges(split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images, labels = idx.fashion_mnist_arrays(split)
    targets = (images.astype(np.float32) / 127.5 - 1.0).astype(np.float32)
    return edges(targets), targets, labels


# name -> (input shape, target shape, splits, loader(split) -> (inputs, targets, labels))
PAIRED = {
    "fashion_mnist_edges": ((28, 28, 1), (28, 28, 1), {"train": 60_000, "test": 10_000}, _fashion_mnist_edges),
    "fashion_mnist_x4": ((7, 7, 1), (28, 28, 1), {"train": 60_000, "test": 10_000}, _downsampled("fashion_mnist", 4)),
    "digits_x2": ((4, 4, 1), (8, 8, 1), {"train": 1500, "test": 297}, _downsampled("digits", 2)),
}


# The image domain of each paired dataset's targets: whose shipped judges score the outputs.
DOMAIN = {"fashion_mnist_edges": "fashion_mnist", "fashion_mnist_x4": "fashion_mnist", "digits_x2": "digits"}


def is_paired(name) -> bool:
    """Whether `name` is a paired dataset (its batches are ``(inputs, targets)``), ``pairs:PATH`` included."""
    from ganzoo.data import paired_folder  # pylint: disable=import-outside-toplevel

    return isinstance(name, str) and (name in PAIRED or paired_folder.is_paired_folder(name))


def load_pair_arrays(name: str, split: str = "train", limit: int | None = None, **options):
    """``(inputs, targets, labels)`` of a paired dataset's split, in split order.

    ``labels`` are the int32 classes of the images the pairs came from (None
    for a ``pairs:PATH`` folder, whose `options` are those of `ganzoo.data.load_arrays`).
    """
    if name not in PAIRED:
        from ganzoo import data  # pylint: disable=import-outside-toplevel

        inputs, targets = data.load_arrays(name, split, limit=limit, **options)
        return inputs, targets, None
    inputs, targets, labels = PAIRED[name][3](split)
    end = None if limit is None else int(limit)
    return inputs[:end], targets[:end], labels[:end]
