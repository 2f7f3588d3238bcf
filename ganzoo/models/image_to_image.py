"""`ImageToImageGAN`: the GAN whose generator maps an image to an image (pix2pix, super-resolution).

The batch convention is Keras' own for a model with inputs and targets:
``fit(inputs, targets)`` or a dataset of ``(inputs, targets)`` pairs, both
float image batches (``ganzoo.data`` yields them for paired datasets such as
``fashion_mnist_edges``). The generator maps ``inputs`` to an image shaped like
``targets``; ``targets`` are the real samples the discriminator sees. The base
`GAN` would take such a pair for ``(images, labels)``; it refuses pairs, and
this class refuses anything but pairs, so the two can never be confused.

The step is `GAN.train_step` unchanged (the D update on real vs. generated
outputs, then the G update), through the hooks below:

* `unpack_batch` returns ``targets`` as the real samples and ``(inputs, targets)``
  as the context every hook receives;
* `fake_batch` runs the generator on ``inputs`` (no latents: its dropout,
  active in training only, is the noise, as in pix2pix);
* the discriminator judges ``concat(inputs, image)`` along channels when
  ``paired_discriminator`` (pix2pix's conditional PatchGAN) or the image alone
  (SRGAN), and its output may be one logit or a grid of patch logits: the
  adversarial losses and the R1 / gradient penalties average over every logit;
* the generator loss adds ``reconstruction_weight`` times the mean absolute
  (``"l1"``) or squared (``"l2"``) error to the targets and, with a
  ``perceptual`` feature network (`ganzoo.models.perceptual`),
  ``perceptual_weight`` times the mean squared difference of the output's and
  the target's features (SRGAN's content loss).

The EMA generator, the penalties, the two optimizers, saving every random
stream (dropout included) and the JAX state threading are the base class's.
"""

import keras
import numpy as np
from keras import ops

from ganzoo.models import ema, perceptual as perceptual_lib
from ganzoo.models.base import GAN

RECONSTRUCTIONS = ("l1", "l2")


@keras.saving.register_keras_serializable(package="ganzoo")
class ImageToImageGAN(GAN):
    """A GAN trained on ``(inputs, targets)`` image pairs; `translate` maps inputs to outputs.

    Args:
        generator: A `keras.Model` from input images to output images in [-1, 1].
        discriminator: A `keras.Model` from an output image (with
            ``paired_discriminator``: the input and the output image
            concatenated along channels) to one logit or a grid of logits.
        reconstruction_weight: Weight of the reconstruction term (100 in
            pix2pix); 0 trains on the adversarial loss alone.
        reconstruction: ``"l1"`` (pix2pix) or ``"l2"``.
        adversarial_weight: Weight of the adversarial term of the generator
            loss (1 in pix2pix; 1e-3 in SRGAN); 0 trains the generator on the
            reconstruction alone (the discriminator still trains and logs).
        paired_discriminator: Whether the discriminator sees the input beside
            the output.
        perceptual: Feature network of the perceptual content loss:
            ``"fashion_mnist"`` (ganzoo's own, not an evaluation judge) or
            ``"vgg19:PATH"`` (a user's no-top VGG19 weights file), or None.
        perceptual_weight: Weight of the perceptual term (needs `perceptual`).
        **kwargs: Arguments of `GAN` (``r1_weight``, ``ema_decay``, ``seed``, ...);
            ``latent_dim``, ``pack`` and ``augment`` do not apply.
    """

    def __init__(self, generator, discriminator, *, reconstruction_weight=100.0, reconstruction="l1",
                 adversarial_weight=1.0, paired_discriminator=True, perceptual=None, perceptual_weight=0.0,
                 **kwargs):
        for key, default in (("pack", 1), ("augment", None)):
            if kwargs.get(key, default) not in (default, [], ()):
                raise ValueError(f"`{key}` does not apply to image-to-image GANs; leave it at {default!r}.")
        if kwargs.get("ema_decay") is not None and ema.batch_norms(generator):
            raise ValueError("an image-to-image EMA generator cannot re-estimate batch-norm statistics "
                             "without latents; use instance or group normalization (as the zoo's builders do).")
        if kwargs.pop("latent_dim", None) is not None:
            raise ValueError("image-to-image generators take no latents; leave `latent_dim` unset.")
        for key, value in (("reconstruction_weight", reconstruction_weight),
                           ("adversarial_weight", adversarial_weight), ("perceptual_weight", perceptual_weight)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
                raise ValueError(f"`{key}` must be a number >= 0, got {value!r}.")
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"`reconstruction` must be one of {RECONSTRUCTIONS}, got {reconstruction!r}.")
        if (perceptual is None) != (perceptual_weight == 0):
            raise ValueError("`perceptual` (a feature network) and `perceptual_weight` > 0 go together; "
                             f"got {perceptual!r} and {perceptual_weight!r}.")
        features = None if perceptual is None else perceptual_lib.feature_loss(
            perceptual, tuple(generator.outputs[0].shape[1:]))
        super().__init__(generator, discriminator, latent_dim=None, **kwargs)
        self.perceptual, self.perceptual_weight, self._feature_loss = perceptual, float(perceptual_weight), features
        self.reconstruction_weight = float(reconstruction_weight)
        self.reconstruction = reconstruction
        self.adversarial_weight = float(adversarial_weight)
        self.paired_discriminator = bool(paired_discriminator)

    # --------------------------------------------------------------- the step
    def unpack_batch(self, data):
        """`(targets, (inputs, targets))` of an ``(inputs, targets)`` batch."""
        inputs, targets, _ = keras.utils.unpack_x_y_sample_weight(data)
        if targets is None or len(targets.shape) != 4 or len(inputs.shape) != 4:
            raise ValueError(
                f"{type(self).__name__} trains on (inputs, targets) pairs of image batches; got "
                f"{'no targets' if targets is None else f'targets of shape {tuple(targets.shape)}'}. "
                "Load a paired dataset (ganzoo.data.load('fashion_mnist_edges', ...)) or call "
                "fit(inputs, targets).")
        return targets, (inputs, targets)

    def sample_latents(self, batch_size):
        raise ValueError("image-to-image generators take no latents; call translate(images).")

    def fake_batch(self, batch_size, labels=None, *, training=True, latents=None):
        """The generator's outputs for the context's inputs (`batch_size` and `latents` are unused)."""
        inputs, _ = labels
        return self.generator(inputs, training=training)

    def _logits(self, inputs, images, *, training):
        if self.paired_discriminator:
            images = ops.concatenate([inputs, images], axis=-1)
        return self.discriminator(images, training=training)

    def discriminator_loss(self, real, fake, labels=None, *, training=True):
        inputs, _ = labels
        real_logits = self._logits(inputs, real, training=training)
        fake_logits = self._logits(inputs, fake, training=training)
        loss = self.adversarial_loss.discriminator(real_logits, fake_logits)
        if training:
            loss = loss + self.penalties(
                real, fake, lambda images: self._logits(inputs, images, training=False))
        return loss, {"d_real": ops.mean(ops.sigmoid(real_logits)),
                      "d_fake": ops.mean(ops.sigmoid(fake_logits))}

    def generator_loss(self, fake, labels=None, *, training=True):
        inputs, targets = labels
        loss = self.adversarial_weight * self.adversarial_loss.generator(
            self._logits(inputs, fake, training=training))
        error = ops.subtract(fake, ops.cast(targets, fake.dtype))
        error = ops.abs(error) if self.reconstruction == "l1" else ops.square(error)
        loss = loss + self.reconstruction_weight * ops.mean(error)
        if self._feature_loss is not None:
            loss = loss + self.perceptual_weight * self._feature_loss(fake, targets)
        return loss, {}

    # -------------------------------------------------------------- inference
    def translate(self, images, *, batch_size=64):
        """Maps a batch of input images (NumPy or tensor, NHWC in [-1, 1]) to output images.

        Runs the sampling generator (the EMA copy when ``ema_decay`` is set) in
        inference mode, so dropout is off and equal inputs give equal outputs.

        Returns:
            A float32 NumPy array of output images in [-1, 1].
        """
        images = np.asarray(images, dtype=np.float32)
        expected = tuple(self.sampling_generator.inputs[0].shape[1:])
        if images.ndim != 4 or any(e is not None and e != g for e, g in zip(expected, images.shape[1:])):
            raise ValueError(f"expected images of shape (n,) + {expected}, got {images.shape}.")
        outputs = [ops.convert_to_numpy(self.sampling_generator(images[i:i + batch_size], training=False))
                   for i in range(0, len(images), batch_size)]
        return np.concatenate(outputs).astype(np.float32) if outputs else np.zeros((0,), np.float32)

    def picture_tiles(self, inputs, targets):
        """Tiles input, output, target per pair (`ganzoo.plots.pair_tiles`), for sample pictures."""
        from ganzoo import plots  # pylint: disable=import-outside-toplevel

        return plots.pair_tiles(inputs, self.translate(inputs), targets)

    def upscale(self, images, *, batch_size=64):
        """`translate` for super-resolution models: low-resolution images of any size -> larger images."""
        return self.translate(images, batch_size=batch_size)

    def generate(self, n, *, labels=None, seed=None, batch_size=256):
        raise ValueError(f"{type(self).__name__} maps images to images; call translate(images).")

    def recompute_ema_statistics(self, n=4096):
        """Nothing to re-estimate: the generator has no batch norm (checked when built)."""

    def get_config(self):
        config = super().get_config()
        for key in ("latent_dim", "pack", "augment"):
            config.pop(key)
        config.update(reconstruction_weight=self.reconstruction_weight, reconstruction=self.reconstruction,
                      adversarial_weight=self.adversarial_weight,
                      paired_discriminator=self.paired_discriminator, perceptual=self.perceptual,
                      perceptual_weight=self.perceptual_weight)
        return config
