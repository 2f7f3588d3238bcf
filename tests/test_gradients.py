"""`ganzoo.backend.gradients`: what the seam does at its edges, on every backend."""

import keras
import numpy as np
from keras import ops

from ganzoo.models import GAN, build_gan


class _BlindGeneratorLoss(GAN):
    """A generator loss that does not reach the generated images (a stop_gradient in its path)."""

    def generator_loss(self, fake, labels=None):
        return ops.mean(ops.stop_gradient(self.critic(fake, training=True))), {}


def test_a_generator_loss_blind_to_the_images_leaves_the_generator_as_it_was():
    # Zero gradient, so Adam's first steps move nothing. TensorFlow's pullback used to receive
    # None here and train the generator on the gradient of sum(G(z)) instead.
    built = build_gan("dcgan", (8, 8, 1), latent_dim=8, generator={"base_filters": 4},
                      discriminator={"base_filters": 4}, seed=0)
    gan = _BlindGeneratorLoss(built.generator, built.discriminator, latent_dim=8, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    before = [ops.convert_to_numpy(v).copy() for v in gan.generator.trainable_variables]
    d_before = [ops.convert_to_numpy(v).copy() for v in gan.discriminator.trainable_variables]
    gan.fit(np.random.default_rng(0).uniform(-1, 1, (16, 8, 8, 1)).astype("float32"), batch_size=8,
            epochs=1, verbose=0)
    for start, variable in zip(before, gan.generator.trainable_variables):
        np.testing.assert_array_equal(ops.convert_to_numpy(variable), start, err_msg=variable.path)
    assert any(not np.array_equal(ops.convert_to_numpy(v), s)
               for s, v in zip(d_before, gan.discriminator.trainable_variables))  # D did train
