"""Tests of ganzoo.metrics.scores on plain NumPy inputs (backend independent)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganzoo.metrics import scores


def _gaussian(n, mean, variances, seed):
    rng = np.random.default_rng(seed)
    mean = np.asarray(mean, dtype=np.float64)
    return mean + rng.standard_normal((n, mean.shape[0])) * np.sqrt(variances)


def _psd_sqrt(a):
    values, vectors = np.linalg.eigh(a)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def _reference_fid(x, y):
    """FID through the symmetric form Tr((S1^1/2 S2 S1^1/2)^1/2)."""
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root1 = _psd_sqrt(s1)
    cross = np.linalg.eigvalsh(root1 @ s2 @ root1)
    trace_term = np.sum(np.sqrt(np.clip(cross, 0.0, None)))
    return np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_term


def _one_hot(labels, num_classes):
    return np.eye(num_classes)[labels]


# ---------------------------------------------------------------- FID


def test_frechet_distance_of_set_with_itself_is_zero():
    x = np.random.default_rng(0).standard_normal((2000, 8))
    fid = scores.frechet_distance(x, x)
    assert isinstance(fid, float)
    assert 0.0 <= fid < 1e-6


def test_frechet_distance_matches_sample_moment_closed_form():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6))
    y = rng.standard_normal((400, 6)) @ rng.standard_normal((6, 6)) + 0.5
    assert scores.frechet_distance(x, y) == pytest.approx(
        _reference_fid(x, y), rel=1e-8, abs=1e-8
    )


def test_frechet_distance_approaches_population_value():
    a = np.array([1.0, 2.0, 0.5, 4.0])
    b = np.array([2.0, 1.0, 0.5, 1.0])
    mu1 = np.zeros(4)
    mu2 = np.array([1.0, 0.0, -0.5, 0.0])
    x = _gaussian(50_000, mu1, a, seed=2)
    y = _gaussian(50_000, mu2, b, seed=3)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert scores.frechet_distance(x, y) == pytest.approx(expected, abs=0.03)


def test_frechet_distance_from_moments_diagonal():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    # |mu diff|^2 = 1 + 0 + 4; trace term = (1-2)^2 + 0 + (3-1)^2.
    value = scores.frechet_distance_from_moments(mu1, np.diag(a), mu2, np.diag(b))
    assert value == pytest.approx(5.0 + 5.0, abs=1e-10)


def test_frechet_distance_singular_covariances():
    # Fewer samples than features: singular covariances must still give a
    # finite, non-negative score.
    rng = np.random.default_rng(4)
    fid = scores.frechet_distance(
        rng.standard_normal((5, 20)), rng.standard_normal((5, 20)) + 1.0
    )
    assert math.isfinite(fid) and fid > 0.0


# ---------------------------------------------------------------- KID


def test_kid_of_same_distribution_is_near_zero():
    x = _gaussian(2000, np.zeros(8), np.ones(8), seed=5)
    y = _gaussian(2000, np.zeros(8), np.ones(8), seed=6)
    result = scores.kernel_inception_distance(x, y, subsets=50, subset_size=200)
    assert set(result) == {"kid", "kid_std", "kid_stderr"}
    assert result["kid_stderr"] == pytest.approx(result["kid_std"] / math.sqrt(50))
    assert abs(result["kid"]) < 3 * result["kid_stderr"]


def test_kid_of_shifted_distributions_is_positive():
    x = _gaussian(2000, np.zeros(8), np.ones(8), seed=7)
    y = _gaussian(2000, np.full(8, 0.5), np.ones(8), seed=8)
    result = scores.kernel_inception_distance(x, y, subsets=50, subset_size=200)
    assert result["kid"] > 20 * result["kid_stderr"]


def test_kid_single_subset_and_determinism():
    x = _gaussian(100, np.zeros(3), np.ones(3), seed=9)
    y = _gaussian(80, np.ones(3), np.ones(3), seed=10)
    first = scores.kernel_inception_distance(x, y, subsets=1, seed=3)
    assert first["kid_std"] == 0.0 and first["kid_stderr"] == 0.0
    assert first == scores.kernel_inception_distance(x, y, subsets=1, seed=3)


# ---------------------------------------------------------------- IS


def test_inception_score_confident_uniform_predictions_equal_num_classes():
    num_classes = 7
    labels = np.arange(num_classes * 10 * 5) % num_classes
    result = scores.inception_score(_one_hot(labels, num_classes), splits=10)
    assert result["is"] == pytest.approx(num_classes, rel=1e-9)
    assert result["is_std"] == pytest.approx(0.0, abs=1e-9)


def test_inception_score_identical_predictions_is_one():
    row = np.array([0.1, 0.6, 0.3])
    result = scores.inception_score(np.tile(row, (100, 1)), splits=4)
    assert result["is"] == pytest.approx(1.0, abs=1e-12)


# ---------------------------------------------------------------- PR / DC


def test_identical_sets():
    x = np.random.default_rng(11).standard_normal((500, 4))
    pr = scores.precision_recall(x, x)
    dc = scores.density_coverage(x, x)
    assert pr == {"precision": 1.0, "recall": 1.0}
    assert dc["coverage"] == 1.0
    # Each real ball holds its own centre plus up to k neighbours (those on the
    # boundary up to round-off), so density lies in [1, (k + 1) / k].
    assert 1.0 <= dc["density"] <= 6 / 5


def test_same_distribution_density_near_one():
    x = _gaussian(2000, np.zeros(2), np.ones(2), seed=12)
    y = _gaussian(2000, np.zeros(2), np.ones(2), seed=13)
    dc = scores.density_coverage(x, y)
    assert dc["density"] == pytest.approx(1.0, abs=0.1)
    assert dc["coverage"] > 0.9


def test_disjoint_sets_score_zero():
    x = _gaussian(300, np.zeros(3), np.ones(3), seed=14)
    y = _gaussian(300, np.full(3, 100.0), np.ones(3), seed=15)
    assert scores.precision_recall(x, y) == {"precision": 0.0, "recall": 0.0}
    assert scores.density_coverage(x, y) == {"density": 0.0, "coverage": 0.0}


def test_fake_clustered_on_part_of_real_support():
    real = _gaussian(2000, np.zeros(2), np.ones(2), seed=16)
    fake = _gaussian(1000, np.zeros(2), np.full(2, 0.01), seed=17)
    pr = scores.precision_recall(real, fake)
    dc = scores.density_coverage(real, fake)
    assert pr["precision"] > 0.95
    assert pr["recall"] < 0.1
    assert dc["coverage"] < 0.1


# ---------------------------------------------------------------- classes


def test_class_balance_one_class_generator():
    num_classes = 10
    probs = _one_hot(np.full(64, 3), num_classes)
    result = scores.class_balance(probs)
    assert result["dominant_class"] == 3
    assert result["dominant_fraction"] == 1.0
    assert result["classes_present"] == 1
    assert result["kl_to_prior"] == pytest.approx(math.log(num_classes))
    assert sum(result["fractions"]) == pytest.approx(1.0)
    assert isinstance(result["dominant_class"], int)


def test_class_balance_uniform_predictions():
    labels = np.arange(400) % 4
    result = scores.class_balance(_one_hot(labels, 4))
    assert result["fractions"] == [0.25] * 4
    assert result["classes_present"] == 4
    assert result["kl_to_prior"] == pytest.approx(0.0, abs=1e-12)
    skewed = scores.class_balance(_one_hot(labels, 4), prior=[0.7, 0.1, 0.1, 0.1])
    assert skewed["kl_to_prior"] > 0.1


def test_label_accuracy():
    probs = _one_hot(np.array([0, 1, 2, 2]), 3)
    assert scores.label_accuracy(probs, np.array([0, 1, 2, 0])) == 0.75
    assert scores.label_accuracy(probs, [0.0, 1.0, 2.0, 2.0]) == 1.0


# ---------------------------------------------------------------- validation


def test_rejects_wrong_ndim():
    with pytest.raises(ValueError, match="must be a 2-D array"):
        scores.frechet_distance(np.zeros(10), np.zeros((10, 1)))


def test_rejects_mismatched_feature_dims():
    with pytest.raises(ValueError, match="same number of features"):
        scores.kernel_inception_distance(np.zeros((10, 3)), np.zeros((10, 4)))


def test_rejects_too_few_samples_for_k():
    x = np.random.default_rng(18).standard_normal((3, 2))
    with pytest.raises(ValueError, match=r"too few for k=3.*lower `k`"):
        scores.precision_recall(x, x, k=3)


def test_rejects_non_finite_values():
    x = np.ones((10, 2))
    x[4, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        scores.density_coverage(x, np.ones((10, 2)))


def test_rejects_unnormalised_probabilities():
    with pytest.raises(ValueError, match="must sum to 1"):
        scores.inception_score(np.full((20, 3), 0.5), splits=2)


def test_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        scores.label_accuracy(_one_hot(np.array([0, 1]), 3), [0, 3])
