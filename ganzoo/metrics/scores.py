"""Sample-quality scores computed from feature arrays and class probabilities.

Every function here works on plain arrays: features of real and generated
samples, shape ``(N, D)``, as produced by any embedding network (an Inception
pool layer, a domain classifier, or the raw data itself for low-dimensional
toy sets), or class probabilities, shape ``(N, C)``, from a classifier. The
scores are computed in float64 with NumPy, SciPy and scikit-learn only, so they
do not depend on the Keras backend and can be run on features saved to disk.

Scores:

* `frechet_distance` / `frechet_distance_from_moments`: FID
  (Heusel et al., 2017).
* `kernel_inception_distance`: KID (Binkowski et al., 2018).
* `inception_score`: IS (Salimans et al., 2016).
* `precision_recall`: improved precision and recall
  (Kynkaanniemi et al., 2019).
* `density_coverage`: density and coverage (Naeem et al., 2020).
* `class_balance`: histogram of predicted classes and its KL divergence to a
  prior, a mode-collapse check for class-structured data.
* `label_accuracy`: agreement of predicted classes with the conditioning
  labels of a conditional generator.

The three scores of class probabilities live in `ganzoo.metrics.class_scores`
and are exported here too. Invalid inputs raise `ValueError` with a one-line
message that names the problem and the fix (`ganzoo.metrics.checks`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.linalg
from sklearn.metrics import pairwise_distances_chunked
from sklearn.neighbors import NearestNeighbors

from ganzoo.metrics.checks import as_float_array, check_finite, check_neighbours, check_pair, check_positive_int
from ganzoo.metrics.class_scores import class_balance, inception_score, label_accuracy

__all__ = [
    "class_balance",
    "density_coverage",
    "frechet_distance",
    "frechet_distance_from_moments",
    "inception_score",
    "kernel_inception_distance",
    "label_accuracy",
    "precision_recall",
]

# Offset added to the diagonal of both covariances when the matrix square root
# of their product is not finite (as in pytorch-fid).
_SQRTM_EPS = 1e-6
# Memory budget, in MiB, of one chunk of a pairwise-distance matrix.
_WORKING_MEMORY_MIB = 256


# --------------------------------------------------------------------------
# Frechet distance (FID).
# --------------------------------------------------------------------------


def _sqrtm(a: np.ndarray) -> np.ndarray:
    # Singular products (e.g. fewer samples than features) are expected; the
    # caller checks the result for non-finite values instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.sqrtm(a)


def frechet_distance_from_moments(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between two Gaussians given their moments.

    The Frechet (2-Wasserstein) distance between `N(mu1, sigma1)` and
    `N(mu2, sigma2)` (Dowson & Landau, 1982), used as the FID by Heusel et al.,
    "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
    Equilibrium", NeurIPS 2017:

    ```
    d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))
    ```

    The matrix square root is computed with `scipy.linalg.sqrtm`. As in
    pytorch-fid, if it is not finite (nearly singular product), `1e-6 * I` is
    added to both covariances and the root is recomputed; the imaginary part
    that round-off can leave in the root is discarded. The result is clipped
    at 0, so identical moments give exactly 0 or a round-off-sized positive
    number.

    Args:
        mu1: Mean of the first distribution, shape `(D,)`.
        sigma1: Covariance of the first distribution, shape `(D, D)`.
        mu2: Mean of the second distribution, shape `(D,)`.
        sigma2: Covariance of the second distribution, shape `(D, D)`.

    Returns:
        The squared Frechet distance, a non-negative float.
    """
    mu1 = as_float_array(mu1, "mu1")
    mu2 = as_float_array(mu2, "mu2")
    sigma1 = as_float_array(sigma1, "sigma1")
    sigma2 = as_float_array(sigma2, "sigma2")
    for name, mu in (("mu1", mu1), ("mu2", mu2)):
        if mu.ndim != 1 or mu.shape[0] < 1:
            raise ValueError(
                f"`{name}` must be a non-empty 1-D mean vector of shape (D,); "
                f"received shape {mu.shape}."
            )
    if mu1.shape != mu2.shape:
        raise ValueError(
            f"`mu1` and `mu2` must have the same shape; received {mu1.shape} "
            f"and {mu2.shape}. Compute both from features of the same network."
        )
    dim = mu1.shape[0]
    for name, sigma in (("sigma1", sigma1), ("sigma2", sigma2)):
        if sigma.shape != (dim, dim):
            raise ValueError(
                f"`{name}` must be a ({dim}, {dim}) covariance matrix to match "
                f"the means; received shape {sigma.shape}."
            )
    for name, value in (
        ("mu1", mu1),
        ("sigma1", sigma1),
        ("mu2", mu2),
        ("sigma2", sigma2),
    ):
        check_finite(value, name)

    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.all(np.isfinite(covmean)):
        offset = np.eye(dim) * _SQRTM_EPS
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
        if not np.all(np.isfinite(covmean)):
            raise ValueError(
                "The matrix square root of sigma1 @ sigma2 is not finite even "
                f"after adding {_SQRTM_EPS} * I to both covariances; check the "
                "covariances are symmetric positive semi-definite."
            )
    covmean = np.real(covmean)
    distance = (
        diff @ diff
        + np.trace(sigma1)
        + np.trace(sigma2)
        - 2.0 * np.trace(covmean)
    )
    return float(max(distance, 0.0))


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = x.mean(axis=0)
    # `atleast_2d` keeps the (1, 1) shape when D == 1.
    sigma = np.atleast_2d(np.cov(x, rowvar=False, ddof=1))
    return mu, sigma


def frechet_distance(real, fake) -> float:
    """Frechet distance between two feature sets (FID).

    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a
    Local Nash Equilibrium", NeurIPS 2017. Each set is summarised by its mean
    `mu` and unbiased (`ddof=1`) covariance `sigma`, and the score is the
    Frechet distance between the two Gaussians:

    ```
    FID = ||mu_r - mu_f||^2 + Tr(sigma_r + sigma_f - 2 (sigma_r sigma_f)^(1/2))
    ```

    See `frechet_distance_from_moments` for the numerics. The estimate is
    biased upwards for small sets; compare scores computed with the same
    number of samples (the usual protocol uses 50 000 samples and 2048-D
    Inception pool features).

    Args:
        real: Features of real samples, shape `(N_r, D)`, `N_r >= 2`.
        fake: Features of generated samples, shape `(N_f, D)`, `N_f >= 2`.

    Returns:
        The FID, a non-negative float (0 for identical feature sets).
    """
    real, fake = check_pair(real, fake)
    mu1, sigma1 = _moments(real)
    mu2, sigma2 = _moments(fake)
    return frechet_distance_from_moments(mu1, sigma1, mu2, sigma2)


# --------------------------------------------------------------------------
# Kernel inception distance (KID).
# --------------------------------------------------------------------------


def _polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the kernel `k(a, b) = (a.b / d + 1)^3`."""
    m, dim = x.shape
    k_xx = (x @ x.T / dim + 1.0) ** 3
    k_yy = (y @ y.T / dim + 1.0) ** 3
    k_xy = (x @ y.T / dim + 1.0) ** 3
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float(
        (sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m)
    )


def kernel_inception_distance(
    real,
    fake,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> dict:
    """Kernel inception distance (KID) between two feature sets.

    Binkowski et al., "Demystifying MMD GANs", ICLR 2018. KID is the squared
    maximum mean discrepancy with the cubic polynomial kernel

    ```
    k(x, y) = (x . y / d + 1)^3
    ```

    estimated with the unbiased U-statistic on `m` samples from each set:

    ```
    MMD^2 = 1/(m(m-1)) sum_{i != j} [k(x_i, x_j) + k(y_i, y_j)]
            - 2/m^2 sum_{i, j} k(x_i, y_j)
    ```

    The estimate is averaged over `subsets` pairs of random subsets of
    `m = min(subset_size, N_r, N_f)` samples, drawn without replacement from
    each set with `np.random.default_rng(seed)`. Unlike FID the estimator is
    unbiased, so it can be slightly negative when the distributions match.

    Note that the subsets are drawn from one finite sample, so they are not
    independent and `kid_stderr` understates the sampling error of the full
    sets when `m` is close to `N`; with `m == N_r == N_f` every subset gives
    the same value and the spread is 0.

    Args:
        real: Features of real samples, shape `(N_r, D)`, `N_r >= 2`.
        fake: Features of generated samples, shape `(N_f, D)`, `N_f >= 2`.
        subsets: Number of random subset pairs, `>= 1`.
        subset_size: Maximum number of samples per subset, `>= 2`.
        seed: Seed of the subset sampler.

    Returns:
        A dict with `"kid"` (mean over subsets), `"kid_std"` (standard
        deviation over subsets, `ddof=1`; 0 for a single subset) and
        `"kid_stderr"` (`kid_std / sqrt(subsets)`).
    """
    real, fake = check_pair(real, fake)
    subsets = check_positive_int(subsets, "subsets")
    subset_size = check_positive_int(subset_size, "subset_size", minimum=2)
    m = min(subset_size, real.shape[0], fake.shape[0])
    rng = np.random.default_rng(seed)
    values = np.empty(subsets, dtype=np.float64)
    for i in range(subsets):
        x = real[rng.choice(real.shape[0], m, replace=False)]
        y = fake[rng.choice(fake.shape[0], m, replace=False)]
        values[i] = _polynomial_mmd2_unbiased(x, y)
    std = float(np.std(values, ddof=1)) if subsets > 1 else 0.0
    return {
        "kid": float(np.mean(values)),
        "kid_std": std,
        "kid_stderr": std / math.sqrt(subsets),
    }


# --------------------------------------------------------------------------
# k-NN manifold scores: precision / recall, density / coverage.
# --------------------------------------------------------------------------


def _knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row of `x` to its k-th nearest other row of `x`."""
    # Column 0 of the neighbour distances is the point itself (distance 0).
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    return distances[:, k]


def _ball_counts(
    queries: np.ndarray, centres: np.ndarray, radii: np.ndarray
) -> np.ndarray:
    """Per query, the number of balls `B(centres[i], radii[i])` containing it.

    The distance matrix is computed in row chunks of bounded memory, so
    10 000 x 10 000 sets need a few hundred MiB at most. Distances use the
    BLAS form `sqrt(|q|^2 + |c|^2 - 2 q.c)`, while the radii come from
    `NearestNeighbors`, so a query lying exactly on a ball boundary (e.g. a
    fake that duplicates a real point's k-th neighbour) may fall either side
    by round-off, as in the reference implementations.
    """

    def reduce(chunk: np.ndarray, start: int) -> np.ndarray:
        del start
        return np.count_nonzero(chunk <= radii[None, :], axis=1)

    counts = pairwise_distances_chunked(
        queries,
        centres,
        reduce_func=reduce,
        metric="euclidean",
        working_memory=_WORKING_MEMORY_MIB,
    )
    return np.concatenate(list(counts))


def precision_recall(real, fake, *, k: int = 3) -> dict:
    """Improved precision and recall of generated samples.

    Kynkaanniemi et al., "Improved Precision and Recall Metric for Assessing
    Generative Models", NeurIPS 2019. The real manifold is the union of the
    balls `B(r_i, NND_k(r_i))` around the real points, where `NND_k(r_i)` is
    the distance from `r_i` to its k-th nearest real neighbour (itself
    excluded); the fake manifold is built the same way from the fake points.

    ```
    precision = 1/M sum_j 1[f_j in real manifold]
    recall    = 1/N sum_i 1[r_i in fake manifold]
    ```

    with `x in manifold` iff `||x - c|| <= NND_k(c)` for at least one centre
    `c`. Precision measures fidelity (fakes look real), recall diversity (the
    fakes cover the real support).

    Args:
        real: Features of real samples, shape `(N, D)`, `N > k`.
        fake: Features of generated samples, shape `(M, D)`, `M > k`.
        k: Neighbourhood size, `>= 1` (the paper uses 3).

    Returns:
        A dict with `"precision"` and `"recall"`, both in `[0, 1]`.
    """
    real, fake = check_pair(real, fake)
    k = check_neighbours(k, real, fake)
    real_radii = _knn_radii(real, k)
    fake_radii = _knn_radii(fake, k)
    precision = np.mean(_ball_counts(fake, real, real_radii) > 0)
    recall = np.mean(_ball_counts(real, fake, fake_radii) > 0)
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real, fake, *, k: int = 5) -> dict:
    """Density and coverage of generated samples.

    Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative
    Models", ICML 2020. With `NND_k(r_i)` the distance from real point `r_i`
    to its k-th nearest real neighbour (itself excluded), `N` real and `M`
    fake points:

    ```
    density  = 1/(k M) sum_j sum_i 1[||f_j - r_i|| <= NND_k(r_i)]
    coverage = 1/N sum_i 1[min_j ||f_j - r_i|| <= NND_k(r_i)]
    ```

    Density counts how many real balls each fake falls in, so it is robust to
    real outliers and not bounded by 1 (its expectation is 1 when real and
    fake follow the same distribution); coverage is the fraction of real
    balls that contain at least one fake, in `[0, 1]`. When the fakes are
    copies of the real points, each ball contains its centre and its `k`
    neighbours, so density approaches `(k + 1) / k` (the neighbours exactly on
    the boundary are counted up to round-off).

    Args:
        real: Features of real samples, shape `(N, D)`, `N > k`.
        fake: Features of generated samples, shape `(M, D)`, `M > k`.
        k: Neighbourhood size, `>= 1` (the paper uses 5).

    Returns:
        A dict with `"density"` and `"coverage"`.
    """
    real, fake = check_pair(real, fake)
    k = check_neighbours(k, real, fake)
    real_radii = _knn_radii(real, k)
    counts = _ball_counts(fake, real, real_radii)
    density = counts.sum() / (k * fake.shape[0])
    nearest_fake, _ = (
        NearestNeighbors(n_neighbors=1).fit(fake).kneighbors(real)
    )
    coverage = np.mean(nearest_fake[:, 0] <= real_radii)
    return {"density": float(density), "coverage": float(coverage)}
