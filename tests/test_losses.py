"""Adversarial losses against hand-computed values, and regularizers across backends."""

import math

import keras
import numpy as np
import pytest

from ganzoo import losses, regularizers

REAL = np.array([[2.0], [-1.0]], dtype="float32")
FAKE = np.array([[0.5], [-3.0]], dtype="float32")


def softplus(x):
    return math.log1p(math.exp(x))


def value(x):
    return float(keras.ops.convert_to_numpy(x))


# name -> (discriminator loss, generator loss) computed by hand for REAL, FAKE
EXPECTED = {
    "minimax": (
        (softplus(-2) + softplus(1)) / 2 + (softplus(0.5) + softplus(-3)) / 2,
        -(softplus(0.5) + softplus(-3)) / 2,
    ),
    "non_saturating": (
        (softplus(-2) + softplus(1)) / 2 + (softplus(0.5) + softplus(-3)) / 2,
        (softplus(-0.5) + softplus(3)) / 2,
    ),
    "wasserstein": ((0.5 - 3) / 2 - (2 - 1) / 2, -(0.5 - 3) / 2),
    "least_squares": (
        0.5 * ((2 - 1) ** 2 + (-1 - 1) ** 2) / 2 + 0.5 * (0.5**2 + 3**2) / 2,
        0.5 * ((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2,
    ),
    "hinge": ((max(0, 1 - 2) + max(0, 1 + 1)) / 2 + (max(0, 1.5) + max(0, -2)) / 2, -(0.5 - 3) / 2),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loss_matches_hand_computed_values(name):
    loss = losses.get(name)
    d_expected, g_expected = EXPECTED[name]
    assert value(loss.discriminator(REAL, FAKE)) == pytest.approx(d_expected, rel=1e-5)
    assert value(loss.generator(FAKE)) == pytest.approx(g_expected, rel=1e-5)


def test_every_registered_loss_is_tested():
    assert set(losses.available()) == set(EXPECTED)


def test_unknown_loss_suggests_closest():
    with pytest.raises(ValueError, match="Did you mean 'hinge'"):
        losses.get("hing")


def _critic():
    """A fixed nonlinear critic x -> sum(tanh(x W)) with weights that are the same on every backend."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(
        4, activation="tanh",
        kernel_initializer=keras.initializers.Constant(
            np.linspace(-1, 1, 12).reshape(3, 4).astype("float32")
        ),
    )(inputs)
    outputs = keras.layers.Dense(1, kernel_initializer="ones")(hidden)
    return keras.Model(inputs, outputs)


POINTS_REAL = np.array([[0.1, 0.2, 0.3], [-0.5, 0.4, 1.0]], dtype="float32")
POINTS_FAKE = np.array([[1.0, -1.0, 0.0], [0.3, 0.3, -0.2]], dtype="float32")


def _numeric_gradient_norms(x):
    """Finite-difference |grad D(x)|^2 per sample, in float64 NumPy (backend-independent)."""
    weights = np.linspace(-1, 1, 12).reshape(3, 4)

    def d(v):
        return np.tanh(v @ weights).sum()

    norms = []
    for row in x.astype("float64"):
        grad = [(d(row + e) - d(row - e)) / 2e-6 for e in np.eye(3) * 1e-6]
        norms.append(np.sum(np.square(grad)))
    return np.array(norms)


def test_r1_matches_finite_differences():
    critic = _critic()
    r1 = value(regularizers.r1(lambda x: critic(x, training=False), POINTS_REAL))
    assert r1 == pytest.approx(_numeric_gradient_norms(POINTS_REAL).mean(), abs=1e-5)


def test_gradient_penalty_matches_finite_differences():
    critic = _critic()
    # eps drawn by Keras differs by backend, so check at eps = 1 (real) through identical inputs.
    penalty = value(
        regularizers.gradient_penalty(
            lambda x: critic(x, training=False), POINTS_REAL, POINTS_REAL, seed=0
        )
    )
    expected = np.mean((np.sqrt(_numeric_gradient_norms(POINTS_REAL)) - 1.0) ** 2)
    assert penalty == pytest.approx(expected, abs=1e-5)


def cross_backend_values():
    """R1 and the gradient penalty of the seeded critic on the fixed points, on this process's backend."""
    from ganzoo import regularizers  # pylint: disable=import-outside-toplevel

    critic = _critic()
    fn = lambda x: critic(x, training=False)  # noqa: E731
    return [value(regularizers.r1(fn, POINTS_REAL)), value(regularizers.gradient_penalty(fn, POINTS_FAKE, POINTS_FAKE))]


CROSS_BACKEND_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
import test_losses
print(json.dumps(test_losses.cross_backend_values()))
"""


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="compares all three backends (JAX and torch in subprocesses); runs once, in the tensorflow pass",
)
def test_regularizers_agree_across_backends():
    import json
    import os
    import subprocess
    import sys

    script = CROSS_BACKEND_SCRIPT.format(tests=os.path.dirname(__file__))
    results = {"tensorflow": cross_backend_values()}
    for backend in ("jax", "torch"):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
            env=dict(os.environ, KERAS_BACKEND=backend),
        )
        assert out.returncode == 0, out.stderr[-1500:]
        results[backend] = json.loads(out.stdout.strip().splitlines()[-1])
    for backend in ("jax", "torch"):
        np.testing.assert_allclose(results[backend], results["tensorflow"], atol=1e-5, rtol=0)
