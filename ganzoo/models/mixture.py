"""A mixture of K generators whose discriminator also tells which one made a sample (MAD-GAN).

Ghosh et al. (2018), "Multi-Agent Diverse Generative Adversarial Networks":
K generators share one discriminator with K + 1 outputs, class K meaning
"real" and class k meaning "made by generator k". To fool it, each generator
must look real *and* unlike the others, which pushes them onto different
modes. Here the K generators are one Keras model: sample i of a batch comes
from generator i mod K, so `generate`, saving and export see an ordinary
single-input generator.
"""

import keras
from keras import ops

from ganzoo.models.base import GAN


@keras.saving.register_keras_serializable(package="ganzoo")
class PickByPosition(keras.layers.Layer):
    """Takes sample i of the batch from input i mod K (K = number of inputs)."""

    def call(self, outputs):
        stacked = ops.stack(outputs, axis=1)  # (B, K, ...)
        which = ops.mod(ops.arange(ops.shape(stacked)[0]), len(outputs))
        mask = ops.one_hot(which, len(outputs), dtype=stacked.dtype)
        mask = ops.reshape(mask, ops.shape(mask) + (1,) * (len(stacked.shape) - 2))
        return ops.sum(stacked * mask, axis=1)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


def build_mixture_generator(family, sample_shape, *, latent_dim, num_generators, **kwargs):
    """Builds K generators of a family as one model (sample i from generator i mod K).

    Args:
        family: A family module (`ganzoo.models.dcgan`, `ganzoo.models.mlp`).
        sample_shape: Shape of one sample.
        latent_dim: Size of the shared latent input.
        num_generators: K.
        **kwargs: Arguments of the family's `build_generator`.
    """
    latents = keras.Input((latent_dim,), name="z")
    outputs = [
        family.build_generator(sample_shape, latent_dim=latent_dim, name=f"generator_{k}", **kwargs)(
            latents
        )
        for k in range(num_generators)
    ]
    return keras.Model(latents, PickByPosition()(outputs), name="generator")


@keras.saving.register_keras_serializable(package="ganzoo")
class MixtureGAN(GAN):
    """MAD-GAN: K generators against a (K + 1)-way discriminator.

    The discriminator minimises the cross-entropy of "real" (class K) on real
    samples and "generator k" on generator k's samples; each generator
    minimises `-log p(real | G_k(z))`, the non-saturating form. All `GAN`
    options apply except `pack` (a pack would mix generator labels).

    Args:
        generator: A model from `build_mixture_generator`.
        discriminator: A model with `num_generators + 1` output logits.
        num_generators: K >= 2.
        **kwargs: `GAN` arguments.
    """

    def __init__(self, generator, discriminator, *, num_generators, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if isinstance(num_generators, bool) or not isinstance(num_generators, int) or num_generators < 2:
            raise ValueError(f"`num_generators` must be an integer >= 2, got {num_generators!r}.")
        if discriminator.output.shape[-1] != num_generators + 1:
            raise ValueError(
                f"A mixture of {num_generators} generators needs a discriminator with "
                f"{num_generators + 1} outputs, got {discriminator.output.shape[-1]}; build it "
                f"with build_discriminator(num_outputs={num_generators + 1})."
            )
        if self.pack != 1:
            raise ValueError("MixtureGAN does not support `pack`: a pack would mix generator labels.")
        self.num_generators = num_generators

    def compile(self, *, loss="non_saturating", **kwargs):
        if loss != "non_saturating":
            raise ValueError(
                f"MixtureGAN trains with the MAD-GAN multi-class loss; got loss={loss!r}. "
                "Leave `loss` at 'non_saturating'."
            )
        super().compile(loss=loss, **kwargs)

    def judge(self, samples):
        return self.discriminator(samples, training=False)[:, self.num_generators]

    def _cross_entropy(self, labels, logits):
        return ops.mean(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True))

    def _real_labels(self, batch_size):
        return ops.full((batch_size,), self.num_generators, dtype="int32")

    def discriminator_loss(self, real, fake, labels=None, *, training=True):
        batch_size = ops.shape(real)[0]
        real_logits = self.critic(real, training=training)
        fake_logits = self.critic(fake, training=training)
        # Sample i of a generated batch comes from generator i mod K (PickByPosition).
        fake_labels = ops.cast(ops.mod(ops.arange(batch_size), self.num_generators), "int32")
        loss = self._cross_entropy(self._real_labels(batch_size), real_logits) + self._cross_entropy(
            fake_labels, fake_logits
        )
        real_probability = lambda logits: ops.mean(ops.softmax(logits)[:, self.num_generators])  # noqa: E731
        return loss + (self.penalties(real, fake) if training else 0.0), {
            "d_real": real_probability(real_logits),
            "d_fake": real_probability(fake_logits),
        }

    def generator_loss(self, fake, labels=None, *, training=True):
        batch_size = ops.shape(fake)[0]
        logits = self.critic(fake, training=training)
        return self._cross_entropy(self._real_labels(batch_size), logits), {}

    def get_config(self):
        return {**super().get_config(), "num_generators": self.num_generators}
