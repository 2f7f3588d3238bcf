"""GANomaly (Akçay, Atapour-Abarghouei and Breckon, ACCV 2018): anomaly scores from an encoder-decoder-encoder GAN.

Trained on normal images only, the generator is three networks in a row: an
encoder G_E (image -> latent z), a decoder G_D (z -> reconstruction x') and a
second encoder E (x' -> latent z'). The generator's loss is the paper's sum

    w_adv * |f(x) - f(x')|^2  +  w_con * |x - x'|_1  +  w_enc * |z - z'|^2

(means over elements): feature matching on the discriminator's last hidden
features f (adversarial), the L1 reconstruction (contextual) and the latent
consistency (encoder), with the paper's weights 1, 50 and 1. The
discriminator is trained as usual, real images against reconstructions, with
the compiled adversarial loss (binary cross-entropy, the paper's, by default).
An image the model never saw the like of is mapped to a latent the second
encoder does not reproduce: the anomaly score is ``mean((z - z')^2)``
(``score="latent"``, the paper's score as its code computes it), or the
reconstruction error ``mean(|x - x'|)`` (``score="reconstruction"``).

The networks are DCGAN's (`ganzoo.models.dcgan`), as in the paper: each
encoder is a DCGAN discriminator with `latent_dim` outputs, the decoder a
DCGAN generator, and the discriminator a DCGAN discriminator whose model also
outputs its flattened last-convolution features. The generator model maps
images to ``[x', z, z']``; `scorer_model` maps images to scores and is what
`ganzoo export` writes.

Not in this implementation: the paper's code re-initialises D whenever its
loss falls below 1e-5 (an implementation detail the paper does not describe).
"""

import keras
import numpy as np
from keras import layers, ops

from ganzoo.arguments import Filters, LatentSize
from ganzoo.backend.gradients import constant, minimize, stateless_test_step, stateless_train_step
from ganzoo.models import dcgan, validation
from ganzoo.models.anomaly import AnomalyScorer, ScoreDistance, check_images
from ganzoo.models.image_to_image import ImageToImageGAN

SCORE_KINDS = ("latent", "reconstruction")


def build_generator(image_shape, *, latent_dim: LatentSize = 100, base_filters: Filters = 64,
                    name: str = "generator"):
    """Builds the encoder-decoder-encoder: images -> ``[reconstructions, latents, latents of reconstructions]``.

    Args:
        image_shape: (height, width, channels) of the images.
        latent_dim: Size of the bottleneck latent z (100 in the paper).
        base_filters: Filters of the encoders' first and the decoder's last convolution.
        name: Model name.
    """
    images = keras.Input(tuple(image_shape), name="images")
    encoder = dcgan.build_discriminator(image_shape, base_filters=base_filters, num_outputs=latent_dim,
                                        name="encoder")
    decoder = dcgan.build_generator(image_shape, latent_dim=latent_dim, base_filters=base_filters, name="decoder")
    reencoder = dcgan.build_discriminator(image_shape, base_filters=base_filters, num_outputs=latent_dim,
                                          name="reencoder")
    latents = encoder(images)
    reconstructions = decoder(latents)
    return keras.Model(images, [reconstructions, latents, reencoder(reconstructions)], name=name)


def build_discriminator(image_shape, *, base_filters: Filters = 64, name: str = "discriminator"):
    """Builds the discriminator: images -> ``[logits, features]`` (its flattened last-convolution features)."""
    images = keras.Input(tuple(image_shape), name="images")
    features = dcgan.discriminator_features(images, image_shape, base_filters=base_filters)
    return keras.Model(images, [layers.Dense(1, name="logits")(features), features], name=name)


@keras.saving.register_keras_serializable(package="ganzoo")
class GANomaly(AnomalyScorer, ImageToImageGAN):
    """The GANomaly model: `fit` on normal images, then `score`, `calibrate`, `flag`.

    Args:
        generator: A `keras.Model` from images to ``[reconstructions, latents,
            latents of the reconstructions]`` (`build_generator`).
        discriminator: A `keras.Model` from images to ``[logits, features]``
            (`build_discriminator`).
        adversarial_weight: w_adv, of the feature-matching term (1 in the paper).
        reconstruction_weight: w_con, of the L1 reconstruction term (50).
        encoder_weight: w_enc, of the latent-consistency term (1).
        score_kind: The default score: ``"latent"`` (the paper's) or ``"reconstruction"``.
        threshold: The flagging threshold (set by `calibrate`), or None.
        threshold_fpr: The false-positive rate on normal data it was chosen for.
        **kwargs: Arguments of `GAN` (``r1_weight``, ``seed``, ``d_steps_per_g_step``, ...).
    """

    def __init__(self, generator, discriminator, *, adversarial_weight=1.0, reconstruction_weight=50.0,
                 encoder_weight=1.0, score_kind="latent", threshold=None, threshold_fpr=None, **kwargs):
        if len(generator.outputs) != 3 or len(discriminator.outputs) != 2:
            raise ValueError("GANomaly needs a generator with outputs [reconstructions, latents, latents of the "
                             "reconstructions] and a discriminator with outputs [logits, features]; build them "
                             "with ganzoo.models.ganomaly.build_generator / build_discriminator.")
        if score_kind not in SCORE_KINDS:
            raise ValueError(f"`score_kind` must be one of {SCORE_KINDS}, got {score_kind!r}.")
        if isinstance(encoder_weight, bool) or not isinstance(encoder_weight, (int, float)) or encoder_weight < 0:
            raise ValueError(f"`encoder_weight` must be a number >= 0, got {encoder_weight!r}.")
        for key, default in (("paired_discriminator", False), ("reconstruction", "l1"), ("perceptual", None),
                             ("perceptual_weight", None), ("ema_decay", None), ("augment", None), ("pack", 1)):
            if kwargs.pop(key, default) != default:
                raise ValueError(f"`{key}` is fixed for GANomaly; leave it at {default!r}.")
        super().__init__(generator, discriminator, adversarial_weight=adversarial_weight,
                         reconstruction_weight=reconstruction_weight, paired_discriminator=False, **kwargs)
        self.encoder_weight = float(encoder_weight)
        self.score_kind = score_kind
        self.threshold = None if threshold is None else float(threshold)
        self.threshold_fpr = None if threshold_fpr is None else float(threshold_fpr)

    @property
    def image_shape(self):
        return tuple(self.generator.inputs[0].shape[1:])

    # --------------------------------------------------------------- the step
    def unpack_batch(self, data):
        """`(images, (images, images))`: a batch is normal images, alone or with class labels (ignored)."""
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if len(images.shape) != 4 or (labels is not None and len(labels.shape) > 2):
            raise ValueError(
                f"GANomaly trains on batches of normal images (or images with class labels), got "
                f"{tuple(images.shape)}{'' if labels is None else f' with {tuple(labels.shape)}'}; give "
                "fit() the images of the normal class, e.g. ganzoo.data.load('fashion_mnist[label=7]', ...).")
        return images, (images, images)

    def fake_batch(self, batch_size, labels=None, *, training=True, latents=None):
        """``(reconstructions, latents, latents of the reconstructions)`` of the batch's images (`labels`)."""
        return tuple(self.generator(labels[0], training=training))

    def _logits(self, inputs, images, *, training):
        return self.discriminator(images, training=training)[0]

    def generator_loss(self, fake, labels=None, *, training=True):
        reconstructions, latents, again = fake
        images = labels[0]
        real_features = self.discriminator(images, training=training)[1]
        fake_features = self.discriminator(reconstructions, training=training)[1]
        adversarial = ops.mean(ops.square(ops.subtract(real_features, fake_features)))
        contextual = ops.mean(ops.abs(ops.subtract(images, reconstructions)))
        encoder = ops.mean(ops.square(ops.subtract(latents, again)))
        loss = (self.adversarial_weight * adversarial + self.reconstruction_weight * contextual
                + self.encoder_weight * encoder)
        return loss, {}

    @stateless_train_step
    def train_step(self, data):
        real, context = self.unpack_batch(data)
        d_steps = 1 if self._pretraining else self.d_steps_per_g_step
        for _ in range(d_steps):
            fake = constant(lambda: self.generator(real, training=True)[0])
            d_loss, probabilities = minimize(lambda: self.discriminator_loss(real, fake, context),
                                             self.discriminator.trainable_variables, self.d_optimizer)
        self.d_loss_tracker.update_state(d_loss)
        self.d_real_tracker.update_state(probabilities["d_real"])
        self.d_fake_tracker.update_state(probabilities["d_fake"])
        if not self._pretraining:
            g_loss, _ = minimize(lambda: self.generator_loss(self.fake_batch(None, context), context),
                                 self.generator.trainable_variables, self.g_optimizer)
            self.g_loss_tracker.update_state(g_loss)
        self.optimizer.iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    @stateless_test_step
    def test_step(self, data):
        """Validation losses of a held-out batch: D on images against reconstructions, G's whole loss."""
        real, context = self.unpack_batch(data)
        fake = self.fake_batch(None, context, training=False)
        d_loss, probabilities = self.discriminator_loss(real, fake[0], context, training=False)
        g_loss, _ = self.generator_loss(fake, context, training=False)
        return validation.log_losses(self, d_loss, g_loss, probabilities)

    # -------------------------------------------------------------- inference
    def translate(self, images, *, batch_size=64):
        """The reconstructions x' of `images` (what the sample pictures show beside the inputs)."""
        images = check_images(images, self.image_shape)
        reconstructions = keras.Model(self.generator.input, self.generator.outputs[0])
        outputs = [ops.convert_to_numpy(reconstructions(images[i:i + batch_size], training=False))
                   for i in range(0, len(images), batch_size)]
        return np.concatenate(outputs).astype(np.float32) if outputs else np.zeros((0,), np.float32)

    def picture_tiles(self, inputs, targets=None):
        """Tiles image, reconstruction and error map ``|x - x'|`` (white: large) per image, for sample pictures."""
        from ganzoo import plots  # pylint: disable=import-outside-toplevel

        reconstructions = self.translate(inputs)
        errors = np.clip(np.abs(np.asarray(inputs, np.float32) - reconstructions), 0.0, 2.0) - 1.0
        return plots.pair_tiles(inputs, reconstructions, errors)

    def scorer_model(self, kind=None):
        """A functional model from images to anomaly scores (`kind`: ``"latent"`` or ``"reconstruction"``)."""
        kind = kind or self.score_kind
        if kind not in SCORE_KINDS:
            raise ValueError(f"`kind` must be one of {SCORE_KINDS}, got {kind!r}.")
        images = keras.Input(self.image_shape, name="images")
        reconstructions, latents, again = self.generator(images)
        scores = (ScoreDistance(2, name="latent_distance")(latents, again) if kind == "latent"
                  else ScoreDistance(1, name="reconstruction_error")(images, reconstructions))
        return keras.Model(images, scores, name=f"{self.name}_scorer")

    def get_config(self):
        config = super().get_config()
        for key in ("paired_discriminator", "reconstruction", "perceptual", "perceptual_weight"):
            config.pop(key, None)
        config.update(encoder_weight=self.encoder_weight, score_kind=self.score_kind, threshold=self.threshold,
                      threshold_fpr=self.threshold_fpr)
        return config


def build_ganomaly(image_shape, *, latent_dim=100, generator=None, discriminator=None, **gan_kwargs):
    """The `GANomaly` model for `image_shape` images with the paper's weights (1, 50, 1).

    Args:
        image_shape: (height, width, channels) of the normal images.
        latent_dim: Size of the bottleneck (100 in the paper).
        generator: Keyword arguments of `build_generator` (``base_filters``).
        discriminator: Keyword arguments of `build_discriminator` (``base_filters``).
        **gan_kwargs: Arguments of `GANomaly` (weights, ``score_kind``, ``seed``, ...).
    """
    gan_kwargs.setdefault("name", "ganomaly")
    return GANomaly(build_generator(image_shape, latent_dim=latent_dim, **(generator or {})),
                    build_discriminator(image_shape, **(discriminator or {})), **gan_kwargs)
