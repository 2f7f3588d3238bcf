"""`GAN`: the one adversarial training loop of ganzoo, for every Keras backend."""

import keras
from keras import ops

from ganzoo import losses, regularizers
from ganzoo.augment import build_augmenter
from ganzoo.layers.packing import pack as pack_samples
from ganzoo.models import ema, learning_rates, optimizers, pretraining, random_streams, validation
from ganzoo.models.sampling import check_int, generate
from ganzoo.backend import distribution
from ganzoo.backend.gradients import (
    constant, forward, minimize, minimize_through, stateless_test_step, stateless_train_step,
)


@keras.saving.register_keras_serializable(package="ganzoo")
class GAN(keras.Model):
    """A generative adversarial network trained with `fit` on any backend.

    `train_step` alternates `d_steps_per_g_step` discriminator updates (each
    with fresh latents, on the same real batch) and one generator update, and
    the generator update reuses the last discriminator update's generated
    batch (one generator forward serves both, as in the PyTorch DCGAN
    example), scored by the updated discriminator. It
    logs `d_loss`, `g_loss` and the mean discriminator probability on the real
    (`d_real`) and fake (`d_fake`) batches.

    Args:
        generator: A `keras.Model` mapping latents of shape `(latent_dim,)` to
            samples (images in [-1, 1], or points).
        discriminator: A `keras.Model` mapping samples to one logit each.
        latent_dim: Size of the latent vector fed to the generator.
        d_steps_per_g_step: Discriminator updates per generator update.
        d_pretrain_steps: Discriminator-only updates on real batches against
            the initial generator's samples, run at the start of the first
            `fit` (before any generator update).
        gradient_penalty_weight: Weight of the WGAN-GP penalty (10 in the
            paper); 0 disables it.
        r1_weight: R1 weight gamma (the added term is gamma/2 times the mean
            squared gradient norm on real data); 0 disables it.
        ema_decay: If set (e.g. 0.999), keep an exponential moving average of
            the generator's weights (batch-norm statistics are copied), and
            use it for `generate`, `sampling_generator`, saving and export.
        augment: Names of differentiable transforms (`ganzoo.augment`)
            applied to real and fake images before the discriminator
            (DiffAugment), e.g. `["translation", "flip"]`.
        pack: PacGAN packing degree m: the discriminator judges m samples
            at once, concatenated along channels (images) or features. Its
            input must be built for that (`build_discriminator(pack=m)`) and
            the batch size must be a multiple of m.
        seed: Seed of the model's random stream (latents during training).
        **kwargs: Passed to `keras.Model` (e.g. `name`).

    Example:

    ```python
    gan = ganzoo.models.GAN(generator, discriminator, latent_dim=64, seed=0)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    gan.fit(ganzoo.data.load("digits", batch_size=64), epochs=10)
    images = gan.generate(16, seed=0)
    ```
    """

    def __init__(
        self,
        generator,
        discriminator,
        *,
        latent_dim,
        d_steps_per_g_step=1,
        d_pretrain_steps=0,
        gradient_penalty_weight=0.0,
        r1_weight=0.0,
        ema_decay=None,
        augment=None,
        pack=1,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if latent_dim is not None:  # None: the generator takes no latents (image-to-image families)
            check_int("latent_dim", latent_dim, minimum=1)
        check_int("d_steps_per_g_step", d_steps_per_g_step, minimum=1)
        check_int("d_pretrain_steps", d_pretrain_steps, minimum=0)
        check_int("pack", pack, minimum=1)
        for key, value in (("gradient_penalty_weight", gradient_penalty_weight), ("r1_weight", r1_weight)):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"`{key}` must be a number >= 0, got {value!r}.")
        if ema_decay is not None and not 0.0 < ema_decay < 1.0:
            raise ValueError(f"`ema_decay` must be in (0, 1), e.g. 0.999, or None; got {ema_decay!r}.")
        for role, network in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(network, keras.Model):
                raise TypeError(
                    f"`{role}` must be a keras.Model, got {type(network).__name__}; "
                    "build one with ganzoo.models.dcgan or ganzoo.models.mlp."
                )
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.d_steps_per_g_step = d_steps_per_g_step
        self.d_pretrain_steps = d_pretrain_steps
        self.gradient_penalty_weight = float(gradient_penalty_weight)
        self.r1_weight = float(r1_weight)
        self.ema_decay = ema_decay
        self.augment = list(augment) if augment else None
        self.pack = pack
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.ema_generator = ema.copy_generator(generator) if ema_decay is not None else None
        self.augmenter = (build_augmenter(self.augment, seed=seed, input_shape=generator.output.shape)
                          if self.augment else None)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.adversarial_loss = None
        self._pretraining = False
        self.built = generator.built and discriminator.built

    # ----------------------------------------------------------------- compile
    def compile(self, *, d_optimizer, g_optimizer, loss="non_saturating", **kwargs):
        """Configures the two optimizers and the adversarial loss.

        Args:
            d_optimizer: Optimizer (instance, name or config) of the
                discriminator. A learning rate different from the generator's
                gives two time-scale updates (TTUR).
            g_optimizer: Optimizer of the generator.
            loss: Name of a loss in `ganzoo.losses` ("non_saturating",
                "minimax", ...) or an `AdversarialLoss`.
            **kwargs: `keras.Model.compile` options such as `jit_compile`,
                `run_eagerly` and `steps_per_execution`.
        """
        self.adversarial_loss = losses.get(loss)
        # One optimizer object over both, so Keras' JAX trainer threads both states.
        d_variables = [v for d in self.discriminators for v in d.trainable_variables]
        super().compile(optimizer=optimizers.combine(d_optimizer, g_optimizer, d_variables), **kwargs)
        self.optimizer.build(self.trainable_variables)
        self._gan_compile_options = {"loss": self.adversarial_loss.name, **kwargs}

    @property
    def discriminators(self):
        """The networks `d_optimizer` updates (CycleGAN has two)."""
        return (self.discriminator,)

    @property
    def d_optimizer(self):
        """The discriminator's optimizer (its `iterations` counts D updates)."""
        return self.optimizer.optimizers[0]

    @property
    def g_optimizer(self):
        """The generator's optimizer (its `iterations` counts G updates)."""
        return self.optimizer.optimizers[1]

    def get_compile_config(self):
        return optimizers.compile_config(self, self._gan_compile_options) if self.compiled else {}

    def compile_from_config(self, config):
        self.compile(**optimizers.from_compile_config(config))

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.d_real_tracker,
            self.d_fake_tracker,
        ]

    # --------------------------------------------------------------- training
    def call(self, latents, training=False):
        return self.generator(latents, training=training)

    def sample_latents(self, batch_size):
        """Draws a batch of standard normal latents from the model's seed stream."""
        return distribution.per_sample(
            lambda n: keras.random.normal((n, self.latent_dim), seed=self.seed_generator), batch_size)

    def unpack_batch(self, data):
        """Splits a batch into `(real samples, context)`, the context passed to every hook below.

        Here a batch is images, or `(images, labels)` (context: the labels,
        None without them; unconditional GANs ignore them). An image-to-image
        family reads `(inputs, targets)` instead (`ImageToImageGAN`); a batch
        of image pairs given to this GAN is refused rather than trained on
        with the inputs taken for real images.
        """
        real, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if labels is not None and len(labels.shape) > 2:
            raise ValueError(
                f"{type(self).__name__} trains on images or (images, class labels), but the batch's "
                f"second part has shape {tuple(labels.shape)}: (inputs, targets) image pairs need an "
                "image-to-image family such as ganzoo.models.pix2pix.")
        return real, labels

    @stateless_train_step
    def train_step(self, data):
        real, labels = self.unpack_batch(data)
        batch_size = ops.shape(real)[0]
        generator_variables = self.generator.trainable_variables

        # The last discriminator update's fakes also train the generator, through
        # the updated discriminator: one generator forward serves both updates.
        d_steps = 1 if self._pretraining else self.d_steps_per_g_step
        for i in range(d_steps):
            if i == d_steps - 1 and not self._pretraining:
                fake, pullback = forward(lambda: self.fake_batch(batch_size, labels), generator_variables)
            else:
                fake = constant(lambda: self.fake_batch(batch_size, labels))
            d_loss, probabilities = minimize(
                lambda: self.discriminator_loss(real, ops.stop_gradient(fake), labels),
                self.discriminator.trainable_variables,
                self.d_optimizer,
            )
        self.d_loss_tracker.update_state(d_loss)
        self.d_real_tracker.update_state(probabilities["d_real"])
        self.d_fake_tracker.update_state(probabilities["d_fake"])

        if not self._pretraining:
            g_loss, _ = minimize_through(
                lambda samples: self.generator_loss(samples, labels),
                fake, pullback, generator_variables, self.g_optimizer,
            )
            self.g_loss_tracker.update_state(g_loss)
            if self.ema_generator is not None:
                self.update_ema()
        # One MultiOptimizer iteration per train step, so callbacks see step counts.
        self.optimizer.iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    @stateless_test_step
    def test_step(self, data):
        return validation.test_step(self, data)

    def fake_batch(self, batch_size, labels=None, *, training=True, latents=None):
        """A generator batch on fresh (or the given) latents (`labels`: conditional GANs only)."""
        latents = self.sample_latents(batch_size) if latents is None else latents
        return self.generator(latents, training=training)

    def critic(self, samples, *, training):
        """The discriminator as the loss sees it: augmented, packed, then judged."""
        if self.augmenter is not None:  # (under replicas: the draws of the whole batch, as on one device)
            samples = distribution.on_global_batch(lambda x: self.augmenter(x, training=training), samples)
        return self.discriminator(pack_samples(samples, self.pack), training=training)

    def discriminator_loss(self, real, fake, labels=None, *, training=True):
        """Returns the discriminator loss on `real` and `fake` (a constant batch), and D's mean probabilities.

        With `training=False` (validation) nothing is augmented or updated and
        the gradient penalties are left out.
        """
        real_logits = self.critic(real, training=training)
        fake_logits = self.critic(fake, training=training)
        loss = self.adversarial_loss.discriminator(real_logits, fake_logits)
        return loss + (self.penalties(real, fake) if training else 0.0), {
            "d_real": ops.mean(ops.sigmoid(real_logits)),
            "d_fake": ops.mean(ops.sigmoid(fake_logits)),
        }

    def judge(self, samples):
        """The discriminator's real-vs-fake logit for gradient penalties (no augmentation, no state updates)."""
        return self.discriminator(pack_samples(samples, self.pack), training=False)

    def penalties(self, real, fake, judge=None):
        """The weighted gradient penalty and R1 terms of the discriminator loss.

        `judge` maps samples to real-vs-fake logits (default `self.judge`).
        """
        judge = judge or self.judge
        total = 0.0
        if self.gradient_penalty_weight:
            total += self.gradient_penalty_weight * regularizers.gradient_penalty(
                judge, real, fake, seed=self.seed_generator
            )
        if self.r1_weight:
            total += 0.5 * self.r1_weight * regularizers.r1(judge, real)
        return total

    def generator_loss(self, fake, labels=None, *, training=True):
        """Returns the generator loss on the generated batch `fake`."""
        return self.adversarial_loss.generator(self.critic(fake, training=training)), {}

    def update_ema(self):
        """Moves the EMA generator towards the generator (statistics are copied): `ema.update`."""
        ema.update(self.ema_generator, self.generator, self.ema_decay)

    def recompute_ema_statistics(self, n=4096):
        """Re-estimates the EMA generator's batch-norm statistics for its own weights.

        See `ema.recompute_statistics`; the latents are seeded by the GAN's
        seed. `fit` calls this when training ends; it does nothing without EMA.
        """
        if self.ema_generator is not None:
            ema.recompute_statistics(self.ema_generator, latent_dim=self.latent_dim, seed=self.seed, n=n)

    @property
    def sampling_generator(self):
        """The generator used for sampling and export: the EMA copy when `ema_decay` is set."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def fit(self, x=None, *args, **kwargs):
        """Trains with `keras.Model.fit`, first pre-training D if configured.

        The `d_pretrain_steps` discriminator-only updates run once, when the
        discriminator has never been updated, on the first batches of `x`.
        When training ends, before other callbacks' `on_train_end`, the EMA
        generator's batch-norm statistics are re-estimated
        (`recompute_ema_statistics`). Learning-rate callbacks keep the
        discriminator/generator rate ratio (`learning_rates.KeepRateRatio`).
        """
        self._check_compiled()
        pretraining.pretrain_discriminator(self, x, batch_size=kwargs.get("batch_size"),
                                           shuffle=kwargs.get("shuffle", True))
        if len(args) >= 5:  # callbacks passed by position: re-estimate after fit instead
            history = super().fit(x, *args, **kwargs)
            self.recompute_ema_statistics()
            return history
        # First in the list, so other callbacks' on_train_end (final sample grids) see the result;
        # the rate keeper last, after any callback that changes learning rates.
        kwargs["callbacks"] = [ema.RecomputeStatistics(), *(kwargs.get("callbacks") or []),
                               learning_rates.KeepRateRatio()]
        return super().fit(x, *args, **kwargs)

    def _check_compiled(self):
        if not self.compiled or self.adversarial_loss is None:
            raise RuntimeError(
                "This GAN is not compiled; call "
                "gan.compile(d_optimizer=..., g_optimizer=...) before fit()."
            )

    # -------------------------------------------------------------- sampling
    def save_preset(self, directory, *, metadata=None, overwrite=False, training_state=True):
        """Writes this GAN as a preset folder that `ganzoo.from_preset` loads (see `ganzoo.presets`)."""
        from ganzoo import presets  # pylint: disable=import-outside-toplevel

        return presets.save_preset(self, directory, metadata=metadata, overwrite=overwrite,
                                   training_state=training_state)

    def generate(self, n, *, labels=None, seed=None, batch_size=256):
        """Draws `n` samples from the generator in inference mode.

        Latents come from NumPy's generator seeded with `seed`, so a seed gives
        the same latents on every backend and the same samples for the same
        weights.

        Args:
            n: Number of samples.
            labels: Conditional GANs only: one class per sample, or one class
                for all; None cycles through the classes.
            seed: Integer seed for the latents; None draws fresh ones.
            batch_size: Samples per generator call.

        Returns:
            A float32 NumPy array of `n` samples (images in [-1, 1]).
        """
        return generate(self.sampling_generator, n, labels=labels, seed=seed, batch_size=batch_size)

    # ---------------------------------------------------------- serialization
    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "d_steps_per_g_step": self.d_steps_per_g_step,
            "d_pretrain_steps": self.d_pretrain_steps,
            "gradient_penalty_weight": self.gradient_penalty_weight,
            "r1_weight": self.r1_weight,
            "ema_decay": self.ema_decay,
            "augment": self.augment,
            "pack": self.pack,
            "seed": self.seed,
        }

    # Keras saves weights but not seed-generator states; saving every random
    # stream (latents, augmentation, dropout) lets a reloaded GAN continue
    # training exactly as the original would have. `random_streams` keys each
    # state by where its stream lives in the model.
    def save_own_variables(self, store):
        super().save_own_variables(store)
        random_streams.save(self, store)

    def load_own_variables(self, store):
        super().load_own_variables(random_streams.load(self, store))

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        return cls(**config)

