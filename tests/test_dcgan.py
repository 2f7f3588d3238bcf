"""DCGAN and the MLP GAN through the conformance suite; `ganzoo.load_model` after a bare `import ganzoo`."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from conformance import VARIANT, GANConformance
from ganzoo.models import build_gan


class TestDCGAN(GANConformance):
    def build_model(self, seed):
        return build_gan(
            "dcgan",
            (8, 8, 1),
            latent_dim=8,
            generator={"base_filters": 4},
            discriminator={"base_filters": 4},
            seed=seed,
        )

    def make_data(self, n):
        return np.random.default_rng(0).uniform(-1, 1, (n, 8, 8, 1))


class TestDCGANWithSchedule(TestDCGAN):
    """Two D steps per G step and D pre-training, 28x28 RGB-free sizing."""
    pytestmark = VARIANT
    check_callbacks = False

    def build_model(self, seed):
        return build_gan(
            "dcgan",
            (28, 28, 1),
            latent_dim=8,
            generator={"base_filters": 2},
            discriminator={"base_filters": 2},
            d_steps_per_g_step=2,
            d_pretrain_steps=3,
            seed=seed,
        )

    def make_data(self, n):
        return np.random.default_rng(0).uniform(-1, 1, (n, 28, 28, 1))


class TestMLPGAN(GANConformance):
    check_callbacks = False
    sample_range = None  # linear output for unbounded points

    def build_model(self, seed):
        return build_gan(
            "mlp",
            (2,),
            latent_dim=4,
            generator={"hidden_units": (16,), "output_activation": None, "batch_norm": True},
            discriminator={"hidden_units": (16,)},
            seed=seed,
        )

    def make_data(self, n):
        return np.random.default_rng(0).normal(size=(n, 2))


@pytest.mark.skipif(keras.backend.backend() != "torch", reason="class registration on import has no backend "
                    "code: one fresh process, on torch")
def test_load_model_after_a_bare_import(tmp_path):
    # In a fresh process `import ganzoo` registers no Keras class (it imports no Keras):
    # keras.saving.load_model cannot find 'GAN', ganzoo.load_model can.
    gan = build_gan("dcgan", (8, 8, 1), latent_dim=8, generator={"base_filters": 4},
                    discriminator={"base_filters": 4}, seed=0)
    gan.save(tmp_path / "gan.keras")
    code = (
        "import sys, keras, ganzoo\n"
        "try:\n"
        "    keras.saving.load_model(sys.argv[1])\n"
        "except Exception as error:\n"
        "    print('keras:', 'GAN' in str(error))\n"
        "gan = ganzoo.load_model(sys.argv[1])\n"
        "print(type(gan).__name__, gan.generate(2, seed=0).sum())\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "gan.keras")], capture_output=True,
                            text=True, timeout=300, check=True,
                            env={**os.environ, "KERAS_BACKEND": keras.backend.backend()})
    lines = result.stdout.splitlines()[-2:]
    assert lines[0] == "keras: True"
    name, total = lines[1].split()
    assert name == "GAN"
    np.testing.assert_allclose(float(total), gan.generate(2, seed=0).sum(), rtol=1e-4, atol=1e-4)
