"""Mode coverage of 2-D Gaussian mixtures: the protocol of VEEGAN and PacGAN.

VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018) score a
generator trained on ``ring8`` or ``grid25`` by assigning every sample to its
nearest mode centre:

* a sample is *high quality* if it lies within ``threshold * std`` (3 standard
  deviations by default) of its nearest centre;
* a mode is *covered* if it is the nearest mode of at least one high-quality
  sample;
* the *reverse KL* is ``KL(p || uniform) = sum_k p_k log(p_k K)``, where ``p``
  is the histogram over the K modes of the high-quality samples (PacGAN's
  mode-balance score; 0 when every mode gets the same share, ``log K`` when
  one mode gets all).

Even samples of the real data are not all high quality under this protocol:
the distance of a 2-D isotropic Gaussian sample to its mean is chi-distributed,
so only ``1 - exp(-threshold**2 / 2)`` of them (about 98.9 % for 3 sigma) fall
within the threshold.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from sklearn.neighbors import NearestNeighbors

from ganzoo import data

__all__ = ["ModeCoverage", "evaluate_mode_coverage", "mode_coverage"]


@dataclasses.dataclass(frozen=True)
class ModeCoverage:
    """Scores of one set of samples under the mode-coverage protocol.

    Attributes:
        modes_covered: Modes that are the nearest mode of at least one
            high-quality sample.
        num_modes: Number of modes K of the mixture.
        high_quality: Fraction in [0, 1] of the samples within the threshold
            of their nearest mode.
        reverse_kl: ``KL(p || uniform)`` of the histogram ``p`` of the
            high-quality samples over the modes, in nats; ``math.inf`` when no
            sample is high quality (the histogram is undefined, and no
            generator should look better than one that hits a mode).
        counts: High-quality samples per mode, in the order of the centres.
    """

    modes_covered: int
    num_modes: int
    high_quality: float
    reverse_kl: float
    counts: tuple[int, ...]

    def as_dict(self) -> dict:
        """Returns the scores as plain Python data (``counts`` as a list)."""
        scores = dataclasses.asdict(self)
        scores["counts"] = list(self.counts)
        return scores


def _as_matrix(name: str, values, columns: int | None = None) -> np.ndarray:
    """Returns ``values`` as a non-empty float64 (rows, columns) array or raises."""
    array = np.asarray(values, dtype=np.float64)
    expected = "(n, d)" if columns is None else f"(n, {columns}) (the width of centers)"
    wrong_width = columns is not None and array.ndim == 2 and array.shape[1] != columns
    if array.ndim != 2 or array.shape[0] == 0 or wrong_width:
        raise ValueError(
            f"mode_coverage expects {name} of shape {expected} with n >= 1; got shape "
            f"{array.shape}; pass one row per point."
        )
    return array


def _check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a positive number; got {value!r}.")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}.")
    return float(value)


def _reverse_kl(counts: np.ndarray) -> float:
    """``sum_k p_k log(p_k K)`` of the histogram ``counts``, with 0 log 0 = 0."""
    total = counts.sum()
    if total == 0:
        return math.inf
    shares = counts[counts > 0] / total
    # Clipped because rounding can leave a uniform histogram at -1e-17.
    return max(0.0, float(np.sum(shares * np.log(shares * len(counts)))))


def mode_coverage(samples, centers, std: float, *, threshold: float = 3.0) -> ModeCoverage:
    """Scores samples against the modes of a Gaussian mixture.

    Non-finite samples (a diverged generator's NaN) count as samples that are
    not high quality, so they lower ``high_quality`` instead of raising.

    Args:
        samples: Array-like of shape (n, d), n >= 1.
        centers: Array-like of shape (K, d): the mode centres.
        std: Per-axis standard deviation of every mode.
        threshold: A sample is high quality if it lies within
            ``threshold * std`` (inclusive) of its nearest centre.

    Returns:
        A `ModeCoverage`.

    Raises:
        ValueError: If a shape, ``std`` or ``threshold`` is invalid.
    """
    centers = _as_matrix("centers", centers)
    samples = _as_matrix("samples", samples, columns=centers.shape[1])
    radius = _check_positive("std", std) * _check_positive("threshold", threshold)

    finite = np.all(np.isfinite(samples), axis=1)
    # kd_tree computes distances exactly; brute force expands |x - c|^2 and
    # loses the precision the 3-sigma boundary needs far from the origin.
    search = NearestNeighbors(n_neighbors=1, algorithm="kd_tree").fit(centers)
    distances, nearest = search.kneighbors(samples[finite])
    high_quality = distances[:, 0] <= radius
    counts = np.bincount(nearest[high_quality, 0], minlength=len(centers))
    return ModeCoverage(
        modes_covered=int(np.count_nonzero(counts)),
        num_modes=len(centers),
        high_quality=float(high_quality.sum() / len(samples)),
        reverse_kl=_reverse_kl(counts),
        counts=tuple(int(c) for c in counts),
    )


def evaluate_mode_coverage(model, dataset: str, *, n: int = 2500, seed: int = 0) -> ModeCoverage:
    """Draws samples from a GAN and scores them against a mixture's modes.

    Args:
        model: A trained `ganzoo.models.GAN` (anything with
            ``generate(n, *, seed)`` returning an (n, 2) array).
        dataset: ``"ring8"`` or ``"grid25"``.
        n: Number of samples (2 500 in VEEGAN and PacGAN).
        seed: Seed of the latents, so a model scores the same every time.

    Returns:
        The `ModeCoverage` of the samples.

    Raises:
        ValueError: If ``n`` is not a positive integer, ``model`` has no
            ``generate`` method, or ``dataset`` is not a Gaussian mixture
            (a `ganzoo.data.DatasetError`).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}.")
    if not callable(getattr(model, "generate", None)):
        raise ValueError(
            f"evaluate_mode_coverage needs a GAN with a generate method; got "
            f"{type(model).__name__}; score ganzoo.models.sampling.generate(generator, n) "
            "with mode_coverage instead."
        )
    centers, std = data.mode_centers(dataset), data.mode_std(dataset)
    return mode_coverage(model.generate(n, seed=seed), centers, std)
