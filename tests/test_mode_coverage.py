"""Tests for ganzoo.metrics.mode_coverage on hand-computed cases and real mixture data.

Everything here is numpy: no Keras model is built, so the tests take well under
a second on every backend.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from ganzoo import data
from ganzoo.metrics import ModeCoverage, evaluate_mode_coverage, mode_coverage

MIXTURES = ("ring8", "grid25")


def score(name, samples, **kwargs):
    """Scores ``samples`` against the modes of the mixture ``name``."""
    return mode_coverage(samples, data.mode_centers(name), data.mode_std(name), **kwargs)


class FakeGAN:
    """Stands in for a trained GAN: `generate` cycles through given points."""

    def __init__(self, points):
        self.points = np.asarray(points, dtype=np.float32)
        self.calls = []

    def generate(self, n, *, seed=None):
        self.calls.append((n, seed))
        return self.points[np.arange(n) % len(self.points)]


@pytest.mark.parametrize("name", MIXTURES)
def test_samples_at_every_centre_cover_all_modes_uniformly(name):
    centers = data.mode_centers(name)
    result = score(name, np.tile(centers, (3, 1)))
    assert result == ModeCoverage(
        modes_covered=len(centers),
        num_modes=len(centers),
        high_quality=1.0,
        reverse_kl=0.0,
        counts=(3,) * len(centers),
    )


@pytest.mark.parametrize("name", MIXTURES)
def test_samples_at_one_mode_give_log_k(name):
    centers = data.mode_centers(name)
    result = score(name, np.repeat(centers[5:6], 10, axis=0))
    assert result.modes_covered == 1
    assert result.high_quality == 1.0
    assert result.reverse_kl == pytest.approx(math.log(len(centers)))
    assert result.counts == tuple(10 if k == 5 else 0 for k in range(len(centers)))


def test_samples_far_from_every_mode_are_not_high_quality():
    # The origin is at distance 1 from every ring mode, far beyond 3 * 0.01.
    result = score("ring8", np.zeros((7, 2)))
    assert result.modes_covered == 0
    assert result.high_quality == 0.0
    assert result.reverse_kl == math.inf
    assert result.counts == (0,) * 8


def test_half_high_quality_half_far():
    centers = data.mode_centers("ring8")
    # Modes 0..3 once each, then four points 0.5 away from every mode.
    samples = np.concatenate([centers[:4], 0.5 * centers[4:]])
    result = score("ring8", samples)
    assert result.high_quality == 0.5
    assert result.modes_covered == 4
    assert result.counts == (1, 1, 1, 1, 0, 0, 0, 0)
    # p = 1/4 on 4 of 8 modes: 4 * 1/4 * log(1/4 * 8) = log 2.
    assert result.reverse_kl == pytest.approx(math.log(2.0))


def test_nearest_mode_gets_the_count():
    centers = data.mode_centers("grid25")
    # 0.1 from mode 7 (inside 0.15), 0.9 from any other.
    result = score("grid25", centers[7:8] + [[0.0, 0.1]])
    assert result.counts[7] == 1 and sum(result.counts) == 1


@pytest.mark.parametrize("offset, inside", [(1.0 - 1e-9, True), (1.0 + 1e-9, False)])
def test_three_sigma_boundary(offset, inside):
    # Mode (4, 4) of grid25, far from the origin where rounding is worst.
    centers = data.mode_centers("grid25")
    radius = 3.0 * data.mode_std("grid25")
    samples = centers[24:25].astype(np.float64) + [[radius * offset, 0.0]]
    result = score("grid25", samples)
    assert result.high_quality == (1.0 if inside else 0.0)
    assert result.modes_covered == (1 if inside else 0)


def test_boundary_is_inclusive_and_threshold_scales_it():
    centers = np.array([[0.0, 0.0], [100.0, 0.0]])
    on_boundary = np.array([[3.0, 0.0], [0.0, -3.0]])
    assert mode_coverage(on_boundary, centers, 1.0).high_quality == 1.0
    assert mode_coverage(on_boundary, centers, 1.0, threshold=2.0).high_quality == 0.0
    assert mode_coverage(on_boundary, centers, 0.5, threshold=6.0).high_quality == 1.0


def test_non_finite_samples_are_not_high_quality():
    centers = data.mode_centers("ring8")
    samples = np.concatenate([centers[:2], [[np.nan, 0.0], [np.inf, 1.0]]])
    result = score("ring8", samples)
    assert result.high_quality == 0.5
    assert result.modes_covered == 2


@pytest.mark.parametrize("name", MIXTURES)
def test_real_data_covers_every_mode_at_the_chi_rate(name):
    """Real data reaches only ~98.9 % high quality, not the 1-D 99.7 %.

    The distance of a 2-D isotropic Gaussian sample to its mean is chi
    distributed with 2 degrees of freedom: P(r <= 3 sigma) = 1 - exp(-9/2).
    """
    points, _ = data.load_arrays(name, "test")
    result = score(name, points)
    expected = 1.0 - math.exp(-4.5)
    assert expected == pytest.approx(0.98889, abs=1e-5)
    # 10 000 points: the binomial standard error is about 0.001.
    assert result.high_quality == pytest.approx(expected, abs=0.004)
    assert result.modes_covered == result.num_modes == len(data.mode_centers(name))
    assert result.reverse_kl < 1e-3


def test_as_dict_is_plain_data_and_result_is_frozen():
    result = score("ring8", data.mode_centers("ring8")[:2])
    assert result.as_dict() == {
        "modes_covered": 2,
        "num_modes": 8,
        "high_quality": 1.0,
        "reverse_kl": pytest.approx(math.log(4.0)),
        "counts": [1, 1, 0, 0, 0, 0, 0, 0],
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.modes_covered = 3


@pytest.mark.parametrize(
    "samples, centers, match",
    [
        (np.zeros(4), np.zeros((8, 2)), r"samples of shape \(n, 2\).*got shape \(4,\)"),
        (np.zeros((4, 3)), np.zeros((8, 2)), r"samples of shape \(n, 2\).*got shape \(4, 3\)"),
        (np.zeros((0, 2)), np.zeros((8, 2)), r"samples of shape \(n, 2\).*got shape \(0, 2\)"),
        (np.zeros((4, 2)), np.zeros(2), r"centers of shape \(n, d\).*got shape \(2,\)"),
        (np.zeros((4, 2)), np.zeros((0, 2)), r"centers of shape \(n, d\) with n >= 1; got"),
    ],
)
def test_shape_errors(samples, centers, match):
    with pytest.raises(ValueError, match=match):
        mode_coverage(samples, centers, 0.01)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"std": 0.0}, "std must be a positive finite number; got 0.0"),
        ({"std": math.nan}, "std must be a positive finite number"),
        ({"std": "0.01"}, "std must be a positive number; got '0.01'"),
        ({"std": 0.01, "threshold": -3.0}, "threshold must be a positive finite number"),
    ],
)
def test_std_and_threshold_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mode_coverage(np.zeros((2, 2)), np.zeros((8, 2)), **kwargs)


def test_error_messages_are_one_line():
    with pytest.raises(ValueError) as caught:
        mode_coverage(np.zeros((4, 3)), np.zeros((8, 2)), 0.01)
    assert "\n" not in str(caught.value)


def test_evaluate_draws_n_seeded_samples_from_the_model():
    gan = FakeGAN(data.mode_centers("grid25")[:10])
    result = evaluate_mode_coverage(gan, "grid25", n=30, seed=4)
    assert gan.calls == [(30, 4)]
    assert result.modes_covered == 10
    assert result.counts[:10] == (3,) * 10
    assert result.high_quality == 1.0


def test_evaluate_defaults_to_2500_samples_with_seed_0():
    gan = FakeGAN(data.mode_centers("ring8"))
    assert evaluate_mode_coverage(gan, "ring8").counts == (2500 // 8 + 1,) * 4 + (2500 // 8,) * 4
    assert gan.calls == [(2500, 0)]


@pytest.mark.parametrize(
    "model, dataset, n, match",
    [
        (FakeGAN([[1.0, 0.0]]), "ring8", 0, "n must be an integer >= 1; got 0"),
        (object(), "ring8", 10, "needs a GAN with a generate method; got object"),
        (FakeGAN([[1.0, 0.0]]), "digits", 10, "not a Gaussian mixture"),
    ],
)
def test_evaluate_errors(model, dataset, n, match):
    with pytest.raises(ValueError, match=match):
        evaluate_mode_coverage(model, dataset, n=n)
