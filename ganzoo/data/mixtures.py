"""2-D Gaussian-mixture toy datasets (the classic GAN mode-collapse probes).

* ``ring8``: 8 modes equally spaced on the unit circle (mode k at angle
  2*pi*k/8), isotropic standard deviation 0.01.
* ``grid25``: 25 modes at {-4, -2, 0, 2, 4} x {-4, -2, 0, 2, 4} (x varies
  slowest), isotropic standard deviation 0.05.

Points are NOT rescaled to [-1, 1]: they keep the coordinates above so mode
centres stay meaningful. Point ``i`` belongs to mode ``i % K`` (balanced, and
any prefix of at least K points covers every mode); its label is that mode
index. Sizes: ``train`` 100 000 points, ``test`` 10 000 points. The noise is
drawn from ``numpy.random.default_rng([seed, split_index])``, so the same seed
and split give the same points and train/test never share a stream.
"""

from __future__ import annotations

import numpy as np

from ganzoo.data.errors import DatasetError

SPLIT_SIZES: dict[str, int] = {"train": 100_000, "test": 10_000}
_SPLIT_STREAMS = {"train": 0, "test": 1}


def _ring(count: int, radius: float = 1.0) -> np.ndarray:
    angles = 2.0 * np.pi * np.arange(count) / count
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _grid(values: tuple[float, ...]) -> np.ndarray:
    return np.array([(x, y) for x in values for y in values], dtype=np.float64)


_MIXTURES: dict[str, tuple[np.ndarray, float]] = {
    "ring8": (_ring(8), 0.01),
    "grid25": (_grid((-4.0, -2.0, 0.0, 2.0, 4.0)), 0.05),
}


def names() -> list[str]:
    """Lists the mixture dataset names.

    Returns:
        The sorted names, e.g. ``["grid25", "ring8"]``.
    """
    return sorted(_MIXTURES)


def _lookup(name: str) -> tuple[np.ndarray, float]:
    if name not in _MIXTURES:
        raise DatasetError(
            f"dataset {name!r} is not a Gaussian mixture; expected one of {names()}"
        )
    return _MIXTURES[name]


def mode_centers(name: str) -> np.ndarray:
    """Returns the mode centres of a mixture dataset.

    Args:
        name: ``"ring8"`` or ``"grid25"``.

    Returns:
        A new float32 array of shape (K, 2); row k is the centre of mode k
        (the label of points drawn from it).

    Raises:
        DatasetError: If ``name`` is not a mixture dataset.
    """
    return _lookup(name)[0].astype(np.float32)


def mode_std(name: str) -> float:
    """Returns the per-axis standard deviation of every mode of a mixture.

    Args:
        name: ``"ring8"`` or ``"grid25"``.

    Returns:
        The isotropic standard deviation (0.01 for ring8, 0.05 for grid25).

    Raises:
        DatasetError: If ``name`` is not a mixture dataset.
    """
    return float(_lookup(name)[1])


def sample(name: str, split: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generates one split of a mixture dataset.

    Args:
        name: ``"ring8"`` or ``"grid25"``.
        split: ``"train"`` (100 000 points) or ``"test"`` (10 000 points).
        seed: Seed of the noise; equal seeds give equal data.

    Returns:
        ``(points, labels)``: float32 (N, 2) and int32 mode indices (N,).

    Raises:
        DatasetError: If the name or split is unknown.
    """
    centers, std = _lookup(name)
    if split not in SPLIT_SIZES:
        raise DatasetError(
            f"dataset {name!r} has no split {split!r}; expected one of "
            f"{sorted(SPLIT_SIZES)}; pass one of those as split="
        )
    count = SPLIT_SIZES[split]
    rng = np.random.default_rng([int(seed), _SPLIT_STREAMS[split]])
    labels = (np.arange(count) % len(centers)).astype(np.int32)
    points = centers[labels] + std * rng.standard_normal((count, 2))
    return points.astype(np.float32), labels
