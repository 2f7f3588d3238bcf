"""The built-in image datasets' loaders: `(split, seed)` -> float32 images in [-1, 1] and int32 labels.

``digits`` (scikit-learn's 8x8 digits, ganzoo's fixed split), ``fashion_mnist`` (the IDX files, see
`ganzoo.data.idx`) and ``fashion_mnist_32`` (the same zero-padded to 32x32); `ganzoo.data` registers them.
"""

from __future__ import annotations

import numpy as np

from ganzoo.data import idx

DIGITS_TRAIN_SIZE = 1500
DIGITS_SPLIT_SEED = 0
DIGITS_COUNT = 1797
DIGITS_MAX = 16.0


def uint8_to_unit(images: np.ndarray) -> np.ndarray:
    return (images.astype(np.float32) / 127.5 - 1.0).astype(np.float32)


def digits(split: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    del seed  # The split is fixed by DIGITS_SPLIT_SEED; seed only shuffles.
    # Imported here because scikit-learn adds about half a second to startup.
    from sklearn.datasets import load_digits  # pylint: disable=import-outside-toplevel

    bunch = load_digits()
    images = (bunch.images / (DIGITS_MAX / 2.0) - 1.0).astype(np.float32)[..., np.newaxis]
    labels = bunch.target.astype(np.int32)
    if split == "all":
        return images, labels
    order = np.random.RandomState(DIGITS_SPLIT_SEED).permutation(len(labels))
    chosen = order[:DIGITS_TRAIN_SIZE] if split == "train" else order[DIGITS_TRAIN_SIZE:]
    return images[chosen], labels[chosen]


def fashion_mnist(split: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    del seed  # Official splits; seed only shuffles.
    images, labels = idx.fashion_mnist_arrays(split)
    return uint8_to_unit(images), labels


def fashion_mnist_32(split: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    images, labels = fashion_mnist(split, seed)  # 2 background pixels (-1) on every side: 32x32
    return np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=-1.0), labels
