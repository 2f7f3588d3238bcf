"""Every stability option of the GAN through the conformance suite, on each backend.

Each class is one configuration (loss, regularizer, schedule, EMA, DiffAugment,
PacGAN, minibatch stddev, spectral normalization) on tiny networks and data.
"""

import keras
import numpy as np
import pytest

from conformance import GANConformance
from ganzoo.models import build_gan


def points(n):
    return np.random.default_rng(0).normal(size=(n, 2))


def images(n):
    return np.random.default_rng(0).uniform(-1, 1, (n, 8, 8, 1))


def tiny_mlp(seed, *, discriminator=None, **gan_kwargs):
    return build_gan(
        "mlp", (2,), latent_dim=4, seed=seed,
        generator={"hidden_units": (16,), "output_activation": None},
        discriminator={"hidden_units": (16,), **(discriminator or {})},
        **gan_kwargs,
    )


def tiny_dcgan(seed, *, discriminator=None, **gan_kwargs):
    return build_gan(
        "dcgan", (8, 8, 1), latent_dim=8, seed=seed,
        generator={"base_filters": 4},
        discriminator={"base_filters": 4, **(discriminator or {})},
        **gan_kwargs,
    )


class TestWassersteinGradientPenalty(GANConformance):
    """WGAN-GP: Wasserstein loss, gradient penalty, n_critic = 2, spectral-norm-free critic."""
    check_callbacks = False

    sample_range = None
    loss = "wasserstein"

    def build_model(self, seed):
        return tiny_mlp(seed, gradient_penalty_weight=10.0, d_steps_per_g_step=2)

    def unchanged_by_design(self, model):
        # The critic's output bias cancels in E[D(fake)] - E[D(real)] and in the penalty.
        return [model.discriminator.layers[-1].bias.path]

    def make_data(self, n):
        return points(n)


class TestHingeSpectralNorm(GANConformance):
    """SNGAN: hinge loss, spectral normalization (no batch norm) in D, TTUR learning rates."""
    check_callbacks = False

    loss = "hinge"
    d_learning_rate = 4e-3

    def build_model(self, seed):
        return tiny_dcgan(seed, discriminator={"spectral_norm": True})

    def unchanged_by_design(self, model):
        # The hinge loss's output-bias gradient is (fakes inside the margin - reals inside
        # the margin) / batch: zero while every logit lies in (-1, 1), as after initialisation.
        return [model.discriminator.layers[-1].layer.bias.path]

    def make_data(self, n):
        return images(n)


class TestLeastSquaresR1EMA(GANConformance):
    """LSGAN loss with R1 on real data and an EMA generator."""
    check_callbacks = False

    loss = "least_squares"

    def build_model(self, seed):
        return tiny_dcgan(seed, r1_weight=1.0, ema_decay=0.9, discriminator={"batch_norm": False})

    def make_data(self, n):
        return images(n)

    def test_ema_generator_samples_and_lags_the_generator(self):
        from ganzoo.models import sampling
        from ganzoo.models.ema import batch_norms

        model = self.trained()["model"]
        ema = model.generate(4, seed=0)
        np.testing.assert_array_equal(ema, sampling.generate(model.ema_generator, 4, seed=0))
        assert not np.allclose(ema, sampling.generate(model.generator, 4, seed=0))
        # fit re-estimated the EMA copy's batch-norm statistics for its own weights: they differ
        # from the generator's (which update_ema copies), and estimating again changes nothing.
        norms = batch_norms(model.ema_generator)
        stats = [keras.ops.convert_to_numpy(layer.moving_mean) for layer in norms]
        assert norms and not all(
            np.allclose(a, keras.ops.convert_to_numpy(b.moving_mean))
            for a, b in zip(stats, batch_norms(model.generator)))
        model.recompute_ema_statistics()
        for before, layer in zip(stats, norms):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean), before, atol=1e-6)
            assert not layer.trainable


class TestDiffAugmentPack(GANConformance):
    """DiffAugment (translation, flip, brightness, contrast) and PacGAN with packs of 2."""
    check_callbacks = False

    def build_model(self, seed):
        return tiny_dcgan(seed, augment=["translation", "flip", "brightness", "contrast"], pack=2)

    def make_data(self, n):
        return images(n)

    def test_refuses_point_data(self):
        with pytest.raises(ValueError, match="transforms images.*Remove `augment`"):
            tiny_mlp(0, augment=["flip"])

    def test_compiles_where_the_backend_can(self):
        """On JAX the step is compiled (Keras' "auto" refuses for RandomTranslation: an op-by-op epoch)."""
        model = self.compiled_model()
        assert model.jit_compile is (keras.backend.backend() == "jax")
        model.compile(d_optimizer="adam", g_optimizer="adam", jit_compile=False)
        assert model.jit_compile is False  # an explicit choice still holds

    def test_the_discriminator_sees_augmented_batches_and_the_generator_learns_through_them(
            self, monkeypatch):
        """DiffAugment: both losses judge transformed batches, and G's gradient passes the transforms.

        One test, one model: on JAX most of its time is compiling the eager ops.
        """
        from ganzoo.backend import gradients
        from ganzoo.models import base

        model = self.compiled_model()
        real, fake = self.data()[:8], model.generate(8, seed=0)

        # (a) What reaches the discriminator in the losses the step minimises is the batch
        # transformed: spy on the critic's last step before the discriminator (augment, pack, judge).
        seen, pack = [], base.pack_samples

        def spy(samples, m):
            seen.append(keras.ops.convert_to_numpy(samples))
            return pack(samples, m)

        monkeypatch.setattr(base, "pack_samples", spy)
        model.discriminator_loss(real, fake)
        model.generator_loss(fake)
        monkeypatch.undo()
        assert len(seen) == 3, "the losses should judge real, fake, then fake"
        for raw, judged in zip((real, fake, fake), seen):
            assert judged.shape == raw.shape
            # Per image: a one-pixel shift, a flip, a brightness or contrast change each move
            # some pixel by far more than float noise; a no-op augmenter moves none.
            changed = np.abs(judged - raw).reshape(len(raw), -1).max(axis=1)
            assert np.all(changed > 1e-3), f"images the discriminator saw unaugmented: {changed}"

        # (b) The generator learns from the generator loss's gradient for its images (the step
        # pulls it back through the generator): it must pass through the transforms, so be
        # nonzero, and differ from the gradient of the same loss, weights and images with the
        # augmenter left out (which a no-op augmenter would give).
        def loss(judge):
            def fn(samples):
                # Training mode (the transforms are identities at inference); a stateless scope
                # keeps the state updates (batch-norm statistics, the augmentation's seed) out
                # of the model, and lets JAX trace through them.
                with keras.StatelessScope():
                    return model.adversarial_loss.generator(judge(samples))
            return fn

        augmented = gradients.input_gradients(loss(lambda x: model.critic(x, training=True)), fake)
        assert augmented is not None, "no gradient reaches the images through the augmentation"
        plain = gradients.input_gradients(
            loss(lambda x: model.discriminator(pack(x, model.pack), training=True)), fake)
        augmented, plain = (keras.ops.convert_to_numpy(g) for g in (augmented, plain))
        per_image = np.abs(augmented).reshape(len(fake), -1).max(axis=1)
        assert np.all(per_image > 0), f"images that get no gradient through the augmentation: {per_image}"
        # Random shifts, flips and intensity changes move the gradient by O(its size); a no-op
        # augmenter leaves it bit-identical.
        difference, scale = float(np.abs(augmented - plain).max()), float(np.abs(plain).max())
        assert difference > 0.1 * scale, (
            f"the gradient through the augmentation is the unaugmented one ({difference} vs {scale})")


class TestMinibatchStdDevPack(GANConformance):
    """Minibatch standard deviation in an MLP discriminator with dropout, PacGAN packs of 4."""
    check_callbacks = False

    sample_range = None

    def build_model(self, seed):
        return tiny_mlp(
            seed, pack=4,
            discriminator={"minibatch_stddev": True, "minibatch_group_size": 2, "dropout": 0.2},
        )

    def make_data(self, n):
        return points(n)


class TestMixtureOfGenerators(GANConformance):
    """MAD-GAN: 3 generators, a 4-way discriminator, R1 on the real logit, EMA."""
    check_callbacks = False

    sample_range = None

    def build_model(self, seed):
        return tiny_mlp(seed, num_generators=3, r1_weight=0.1, ema_decay=0.9)

    def make_data(self, n):
        return points(n)

    def test_sample_i_comes_from_generator_i_mod_k(self):
        from ganzoo.models import sampling

        model = self.compiled_model()
        samples = model.generate(7, seed=0)
        z = sampling.latents(7, model.latent_dim, seed=0)
        members = [model.ema_generator.get_layer(f"generator_{k}") for k in range(3)]
        for i in range(7):
            expected = keras.ops.convert_to_numpy(members[i % 3](z[i : i + 1]))[0]
            np.testing.assert_allclose(samples[i], expected, rtol=1e-5, atol=1e-6)
