"""Conditional GANs: "make me an image of class k".

The generator takes a latent and a class label, `[z, label]`: the label goes
through an `Embedding` (the layer named ``label_embedding``, which is how
`ganzoo.models.sampling` recognises a conditional generator) and is joined to
the latent before the DCGAN generator body. Two discriminator heads are built
on the DCGAN feature stack (`ganzoo.models.dcgan.discriminator_features`):

* **projection** (Miyato & Koyama, 2018, "cGANs with Projection
  Discriminator"): `D(x, y) = w . phi(x) + embed(y) . phi(x)`, inputs
  `[images, labels]`, one logit;
* **acgan** (Odena et al., 2017, "Conditional Image Synthesis with Auxiliary
  Classifier GANs"): `D(x)` gives one real-vs-fake logit followed by
  `num_classes` class logits; both networks also minimise the
  cross-entropy of the class head on the requested labels (D on real and fake
  images, G on its fakes), weighted by `classification_weight`.

`ConditionalGAN` trains on `(images, labels)` batches
(`ganzoo.data.load(..., with_labels=True)`); the fakes of a step use the real
batch's labels, so both sides see the data's class balance.
"""

from typing import Optional

import keras
from keras import layers, ops

from ganzoo.arguments import Filters, LatentSize
from ganzoo.layers import spectral_normalized
from ganzoo.models import dcgan
from ganzoo.models.base import GAN
from ganzoo.models.sampling import LABEL_EMBEDDING, check_int

HEADS = ("projection", "acgan")


def build_conditional_generator(
    image_shape,
    *,
    latent_dim: LatentSize,
    num_classes: int,
    embedding_dim: Optional[LatentSize] = None,
    base_filters: Filters = 64,
    name: str = "generator",
):
    """Builds a conditional DCGAN generator: `[z, label] -> image` in [-1, 1].

    Args:
        image_shape: (height, width, channels) of the images.
        latent_dim: Size of the latent input `z`.
        num_classes: Number of classes; labels are integers in [0, num_classes).
        embedding_dim: Size of the label embedding joined to `z`
            (default: `latent_dim`).
        base_filters: As in `dcgan.build_generator`.
        name: Model name.
    """
    check_int("num_classes", num_classes, minimum=2)
    embedding_dim = embedding_dim or latent_dim
    latents = keras.Input((latent_dim,), name="z")
    labels = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, embedding_dim, name=LABEL_EMBEDDING)(labels)
    joined = layers.Concatenate()([latents, embedded])
    body = dcgan.build_generator(
        image_shape, latent_dim=latent_dim + embedding_dim, base_filters=base_filters, name="body"
    )
    return keras.Model([latents, labels], body(joined), name=name)


def build_projection_discriminator(
    image_shape, *, num_classes, spectral_norm=False, name="discriminator", **features
):
    """Builds the projection discriminator: `[images, labels] -> one logit`.

    Args:
        image_shape: (height, width, channels).
        num_classes: Number of classes.
        spectral_norm: Spectral normalization of every convolution, the
            linear head and the class embedding (as in the paper).
        name: Model name.
        **features: `base_filters`, `batch_norm`, `minibatch_stddev`, ... of
            `dcgan.discriminator_features`.
    """
    check_int("num_classes", num_classes, minimum=2)
    images = keras.Input(tuple(image_shape), name="images")
    labels = keras.Input((), dtype="int32", name="label")
    phi = dcgan.discriminator_features(images, image_shape, spectral_norm=spectral_norm, **features)
    unconditional = spectral_normalized(layers.Dense(1), spectral_norm)(phi)
    embedded = spectral_normalized(
        layers.Embedding(num_classes, int(phi.shape[-1]), name="class_projection"), spectral_norm
    )(labels)
    projection = layers.Dot(axes=1)([embedded, phi])
    return keras.Model([images, labels], layers.Add()([unconditional, projection]), name=name)


def build_acgan_discriminator(image_shape, *, num_classes, name="discriminator", **kwargs):
    """Builds the ACGAN discriminator: `images -> [real logit, num_classes class logits]`.

    `**kwargs` are those of `dcgan.build_discriminator` (not `pack`).
    """
    check_int("num_classes", num_classes, minimum=2)
    return dcgan.build_discriminator(image_shape, num_outputs=1 + num_classes, name=name, **kwargs)


def build_conditional_gan(
    image_shape, *, latent_dim, num_classes, head="projection", generator=None, discriminator=None,
    **gan_kwargs,
):
    """Builds an uncompiled `ConditionalGAN` with DCGAN networks.

    Args:
        image_shape: (height, width, channels).
        latent_dim: Size of the latent vector.
        num_classes: Number of classes of the data.
        head: "projection" or "acgan".
        generator: Extra keyword arguments of `build_conditional_generator`.
        discriminator: Extra keyword arguments of the discriminator builder.
        **gan_kwargs: `ConditionalGAN` / `GAN` arguments.
    """
    _check_head(head)
    build = build_projection_discriminator if head == "projection" else build_acgan_discriminator
    return ConditionalGAN(
        build_conditional_generator(
            image_shape, latent_dim=latent_dim, num_classes=num_classes, **(generator or {})
        ),
        build(image_shape, num_classes=num_classes, **(discriminator or {})),
        latent_dim=latent_dim,
        num_classes=num_classes,
        head=head,
        **gan_kwargs,
    )


def _check_head(head):
    if head not in HEADS:
        raise ValueError(f"Unknown conditional head {head!r}; expected one of {list(HEADS)}.")


@keras.saving.register_keras_serializable(package="ganzoo")
class ConditionalGAN(GAN):
    """A GAN whose generator and discriminator see the class label.

    Trains on `(images, labels)` batches with the same alternating
    `train_step` as `GAN` (all its options apply except `pack`);
    `generate(n, labels=...)` draws images of the requested classes.

    Args:
        generator: A `[z, label]` model from `build_conditional_generator`.
        discriminator: A `[images, labels] -> logit` model (head
            "projection") or an `images -> 1 + num_classes logits` model
            (head "acgan").
        num_classes: Number of classes.
        head: "projection" or "acgan".
        classification_weight: ACGAN only: weight of the class cross-entropy
            in both losses.
        **kwargs: `GAN` arguments (`latent_dim`, `seed`, `ema_decay`, ...).
    """

    def __init__(
        self, generator, discriminator, *, num_classes, head="projection", classification_weight=1.0,
        **kwargs,
    ):
        super().__init__(generator, discriminator, **kwargs)
        check_int("num_classes", num_classes, minimum=2)
        _check_head(head)
        if self.pack != 1:
            raise ValueError("ConditionalGAN does not support `pack`: a pack would mix labels.")
        if len(generator.inputs) != 2 or generator.get_layer(LABEL_EMBEDDING).input_dim != num_classes:
            raise ValueError(
                f"the generator must take [z, label] for {num_classes} classes; build it with "
                "build_conditional_generator."
            )
        expected = (2, 1) if head == "projection" else (1, 1 + num_classes)
        got = (len(discriminator.inputs), discriminator.outputs[0].shape[-1])
        if got != expected:
            raise ValueError(
                f"a {head} discriminator for {num_classes} classes takes {expected[0]} input(s) and "
                f"gives {expected[1]} logit(s), this one {got[0]} and {got[1]}; build it with "
                f"build_{head}_discriminator."
            )
        if not isinstance(classification_weight, (int, float)) or classification_weight < 0:
            raise ValueError(f"`classification_weight` must be a number >= 0, got {classification_weight!r}.")
        self.num_classes = num_classes
        self.head = head
        self.classification_weight = float(classification_weight)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _require(self, labels):
        if labels is None:
            raise ValueError(
                "ConditionalGAN trains on (images, labels) batches; load the data with "
                "ganzoo.data.load(..., with_labels=True) or pass y= to fit."
            )
        return ops.cast(ops.reshape(labels, (-1,)), "int32")

    def _logits(self, images, labels, *, training):
        """(real-vs-fake logits, class logits or None) of the discriminator."""
        if self.augmenter is not None:
            images = self.augmenter(images, training=training)
        if self.head == "projection":
            return self.discriminator([images, labels], training=training), None
        outputs = self.discriminator(images, training=training)
        return outputs[:, :1], outputs[:, 1:]

    def _classification(self, labels, class_logits):
        return self.classification_weight * ops.mean(
            ops.sparse_categorical_crossentropy(labels, class_logits, from_logits=True)
        )

    def fake_batch(self, batch_size, labels=None, *, training=True, latents=None):
        labels = self._require(labels)
        latents = self.sample_latents(batch_size) if latents is None else latents
        return self.generator([latents, labels], training=training)

    def discriminator_loss(self, real, fake, labels=None, *, training=True):
        labels = self._require(labels)
        real_logits, real_classes = self._logits(real, labels, training=training)
        fake_logits, fake_classes = self._logits(fake, labels, training=training)
        loss = self.adversarial_loss.discriminator(real_logits, fake_logits)
        if real_classes is not None:
            loss += self._classification(labels, real_classes) + self._classification(labels, fake_classes)
        judge = lambda samples: self._judge(samples, labels)  # noqa: E731
        return loss + (self.penalties(real, fake, judge=judge) if training else 0.0), {
            "d_real": ops.mean(ops.sigmoid(real_logits)),
            "d_fake": ops.mean(ops.sigmoid(fake_logits)),
        }

    def _judge(self, samples, labels):
        """Real-vs-fake logits for the gradient penalties (no augmentation, no state updates)."""
        if self.head == "projection":
            return self.discriminator([samples, labels], training=False)
        return self.discriminator(samples, training=False)[:, :1]

    def generator_loss(self, fake, labels=None, *, training=True):
        labels = self._require(labels)
        logits, classes = self._logits(fake, labels, training=training)
        loss = self.adversarial_loss.generator(logits)
        if classes is not None:
            loss += self._classification(labels, classes)
        return loss, {}

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "head": self.head,
            "classification_weight": self.classification_weight,
        }
