"""A mixture of K generators whose discriminator also tells which one made a sample (MAD-GAN).

Ghosh et al. (2018), "Multi-Agent Diverse Generative Adversarial Networks":
K generators share one discriminator with K + 1 outputs, class K meaning
"real" and class k meaning "made by generator k". To fool it, each generator
must look real *and* unlike the others, which pushes them onto different
modes. Here the K generators are one Keras model: sample i of a batch comes
from generator i mod K, so `generate` and saving see an ordinary
single-input generator. Export takes `indexed_generator`, the same weights
behind inputs `[z, generator]`: which generator draws each sample is then an
input, not a batch position, so a file gives the same sample for a latent at
any batch size.
"""

import keras
from keras import ops

from ganzoo.models.base import GAN


GENERATOR_INPUT = "generator"  # the name of `indexed_generator`'s second input


def _pick(outputs, which):
    """Sample i from `outputs[which[i]]`: a gather, which stays exact in full-integer TFLite."""
    stacked = ops.stack(outputs, axis=1)  # (B, K, ...)
    which = ops.reshape(ops.cast(which, "int32"), (-1, 1) + (1,) * (len(stacked.shape) - 2))
    return ops.squeeze(ops.take_along_axis(stacked, which, axis=1), axis=1)


@keras.saving.register_keras_serializable(package="ganzoo")
class PickByPosition(keras.layers.Layer):
    """Takes sample i of the batch from input i mod K (K = number of inputs)."""

    def call(self, outputs):
        return _pick(outputs, ops.mod(ops.arange(ops.shape(outputs[0])[0]), len(outputs)))

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


@keras.saving.register_keras_serializable(package="ganzoo")
class PickByIndex(keras.layers.Layer):
    """`[output_0, ..., output_{K-1}, index]`: takes sample i from output `index[i]`."""

    def call(self, inputs):
        *outputs, index = inputs
        return _pick(outputs, index)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


def count_generators(generator):
    """K of a mixture generator from `build_mixture_generator`, else None."""
    picks = [layer for layer in generator.layers if isinstance(layer, PickByPosition)]
    if len(picks) != 1:
        return None
    return len([layer for layer in generator.layers if isinstance(layer, keras.Model)])


def indexed_generator(generator):
    """The K generators of a mixture behind inputs `[z, generator]` (same weights, no copy).

    Sample i comes from generator `generator[i]` (int32 in [0, K)), so
    `indexed_generator(g)([z, ops.arange(n) % K])` equals `g(z)` for a batch
    of `n`, and a sample no longer depends on its position in the batch.

    Args:
        generator: A model from `build_mixture_generator` (or its EMA copy).

    Returns:
        A functional `keras.Model` named like `generator`.
    """
    members = [layer for layer in generator.layers if isinstance(layer, keras.Model)]
    if count_generators(generator) is None or len(members) < 2:
        raise ValueError(
            f"{generator.name!r} is not a mixture of generators; build it with "
            "build_mixture_generator."
        )
    latents = keras.Input(tuple(generator.inputs[0].shape[1:]), name="z")
    index = keras.Input((), dtype="int32", name=GENERATOR_INPUT)
    samples = PickByIndex()([member(latents) for member in members] + [index])
    return keras.Model([latents, index], samples, name=generator.name)


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
