"""DCGAN and the MLP GAN through the conformance suite."""

import numpy as np

from conformance import GANConformance
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
