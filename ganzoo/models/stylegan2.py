"""StyleGAN2 (Karras et al., 2020), small: the style-based generator and its regularisers.

The generator (`build_generator`) is three parts in one functional model,
``z -> mapping -> mean_w -> repeat -> synthesis -> clip``:

* ``mapping``: z normalised to unit second moment, then `mapping_layers`
  equalized dense layers (learning-rate multiplier 0.01) to w;
* ``mean_w`` (`ganzoo.layers.style.MeanW`): the tracked average of w and the
  truncation trick (psi 1 in the model: w unchanged);
* ``synthesis``: a learned 4x4 constant, then per resolution two modulated,
  demodulated 3x3 convolutions with noise (the first doubling the
  resolution, bilinear) and a toRGB layer; the images of all resolutions
  are summed, each upsampled (the skip generator). It takes one w per layer,
  ``ws`` of shape ``(num_ws, w_dim)`` (`num_ws`: 2 log2(size) - 2);
* the composite clips to [-1, 1] for sampling and export; training judges
  the synthesis network's unclipped images, as the reference does.

The discriminator (`build_discriminator`) is the reference's: fromRGB, per
resolution two 3x3 convolutions (the second after 2x2 average pooling:
bilinear-free downsampling), with a residual 1x1 skip when
``architecture="resnet"`` (the reference's high-resolution D; ``"orig"``
is its CIFAR-10 one), then minibatch standard deviation, a 3x3 convolution
and two dense layers. Every layer has an equalized learning rate.

`StyleGAN2` trains them with `fit` like every ganzoo GAN: each step one
discriminator update and one generator update on the same fakes, plus the
lazy regularisers, each **its own optimizer update** on the steps it runs:
R1 (weight ``r1_weight * r1_interval / 2``) every `r1_interval` steps
(16) and path-length regularisation every `pl_interval` steps (4) when
`pl_weight` > 0. So after S steps ``d_optimizer.iterations`` is
``S + ceil(S / r1_interval)`` (with R1 on) and ``g_optimizer.iterations`` is ``S`` plus
``ceil(S / pl_interval)`` with path-length on (`lazy_updates`). Style mixing
(probability `style_mixing`) draws a second w for the layers after a random
crossover. EMA (`ema_decay`) and DiffAugment (`augment`) are `GAN`'s.
"""

import itertools
import math
from typing import Annotated, Optional

import keras
from keras import ops

from ganzoo import regularizers
from ganzoo.arguments import Filters, GroupSize, LatentSize, OneOf, Range
from ganzoo.backend import distribution
from ganzoo.backend.gradients import forward, input_gradients, minimize, minimize_through, stateless_train_step
from ganzoo.layers import MinibatchStdDev
from ganzoo.layers.style import ConstantInput, EqualizedConv2D, EqualizedDense, MeanW, StyleConv
from ganzoo.models.base import GAN
from ganzoo.models.sampling import check_int, generate as run_generator
from ganzoo.models.style_sampling import (check_truncation, interpolate, mix_ws, parts,
                                           style_mix, with_truncation)

MappingLayers = Annotated[int, Range(1, 16)]
LearningRateMultiplier = Annotated[float, Range(exclusive_minimum=0.0, maximum=1.0)]
_NOT_FOR_STYLEGAN2 = {"d_steps_per_g_step": 1, "d_pretrain_steps": 0, "gradient_penalty_weight": 0.0, "pack": 1}


def num_layers(image_shape):
    """`(resolutions, num_ws)` for square images of side 2^k >= 8 (8x8 to 64x64 are built in the tests)."""
    if len(image_shape) != 3 or image_shape[0] != image_shape[1] or image_shape[0] < 8 or \
            image_shape[0] & (image_shape[0] - 1):
        raise ValueError(f"StyleGAN2 needs square images whose side is a power of two >= 8, got "
                         f"{tuple(image_shape)}; pad or resize them (e.g. dataset fashion_mnist_32).")
    levels = int(math.log2(image_shape[0])) - 1  # 4x4, 8x8, ..., size
    return [4 * 2 ** i for i in range(levels)], 2 * levels


def _filters(resolution, size, base_filters, max_filters):
    return min(base_filters * size // resolution, max_filters)


def build_mapping(latent_dim, *, w_dim=128, mapping_layers=2, mapping_lr=0.01, name="mapping"):
    """The mapping network z -> w: z normalised to unit second moment, then equalized dense layers."""
    z = keras.Input((latent_dim,), name="z")
    w = z * ops.rsqrt(ops.mean(ops.square(z), axis=1, keepdims=True) + 1e-8)
    for i in range(mapping_layers):
        w = EqualizedDense(w_dim, lr_multiplier=mapping_lr, activation="lrelu", name=f"dense{i}")(w)
    return keras.Model(z, w, name=name)


def build_synthesis(image_shape, *, w_dim=128, base_filters=64, max_filters=256, seed=None, name="synthesis"):
    """The synthesis network ws ``(num_ws, w_dim)`` -> unclipped images (the skip generator)."""
    resolutions, num_ws = num_layers(image_shape)
    size = image_shape[0]
    ws = keras.Input((num_ws, w_dim), name="ws")
    # Noise streams start at seed + 10 000: the GAN's latent and augmentation streams use `seed` itself.
    seeds = itertools.count(seed + 10_000) if seed is not None else itertools.repeat(None)
    x = ConstantInput(4, _filters(4, size, base_filters, max_filters), name="const")(ws)
    images, index = None, 0
    for resolution in resolutions:
        filters = _filters(resolution, size, base_filters, max_filters)
        if resolution > 4:
            x = StyleConv(filters, upsample=True, seed=next(seeds), name=f"b{resolution}_conv0")([x, ws[:, index]])
            index += 1
        x = StyleConv(filters, seed=next(seeds), name=f"b{resolution}_conv1")([x, ws[:, index]])
        index += 1
        rgb = StyleConv(image_shape[-1], 1, demodulate=False, noise=False, activation=None,
                        name=f"b{resolution}_torgb")([x, ws[:, index]])
        images = rgb if images is None else keras.layers.UpSampling2D(interpolation="bilinear")(images) + rgb
    return keras.Model(ws, images, name=name)


def build_generator(
    image_shape,
    *,
    latent_dim: LatentSize = 128,
    w_dim: LatentSize = 128,
    mapping_layers: MappingLayers = 2,
    mapping_lr: LearningRateMultiplier = 0.01,
    base_filters: Filters = 64,
    max_filters: Filters = 256,
    seed: Optional[int] = None,
    name: str = "generator",
):
    """The StyleGAN2 generator: latents -> images in [-1, 1] (see the module docstring).

    Args:
        image_shape: `(size, size, channels)`, size a power of two >= 8.
        latent_dim: Size of z.
        w_dim: Size of w.
        mapping_layers: Dense layers of the mapping network (2 in the reference's CIFAR-10 config, 8 above).
        mapping_lr: The mapping network's learning-rate multiplier (0.01).
        base_filters: Channels at the output resolution; each halving doubles them, up to `max_filters`.
        max_filters: Most channels of any resolution.
        seed: Seed of the noise streams and fixed noise maps.
        name: Model name.
    """
    _, num_ws = num_layers(image_shape)
    mapping = build_mapping(latent_dim, w_dim=w_dim, mapping_layers=mapping_layers, mapping_lr=mapping_lr)
    synthesis = build_synthesis(image_shape, w_dim=w_dim, base_filters=base_filters, max_filters=max_filters,
                                seed=seed)
    z = keras.Input((latent_dim,), name="z")
    w = MeanW(name="mean_w")(mapping(z))
    images = synthesis(keras.layers.RepeatVector(num_ws, name="repeat")(w))
    return keras.Model(z, ops.clip(images, -1.0, 1.0), name=name)


def build_discriminator(
    image_shape,
    *,
    base_filters: Filters = 64,
    max_filters: Filters = 256,
    architecture: Annotated[str, OneOf("orig", "resnet")] = "orig",
    minibatch_group_size: GroupSize = 4,
    name: str = "discriminator",
):
    """The StyleGAN2 discriminator: images -> one logit (see the module docstring)."""
    resolutions, _ = num_layers(image_shape)
    size = image_shape[0]
    images = keras.Input(image_shape, name="images")
    x = EqualizedConv2D(_filters(size, size, base_filters, max_filters), 1, name="fromrgb")(images)
    for resolution in reversed(resolutions[1:]):
        filters = _filters(resolution // 2, size, base_filters, max_filters)
        y = EqualizedConv2D(_filters(resolution, size, base_filters, max_filters), 3, name=f"b{resolution}_conv0")(x)
        y = EqualizedConv2D(filters, 3, downsample=True, name=f"b{resolution}_conv1")(y)
        if architecture == "resnet":
            skip = EqualizedConv2D(filters, 1, downsample=True, use_bias=False, activation=None,
                                   name=f"b{resolution}_skip")(x)
            y = keras.layers.Rescaling(math.sqrt(0.5))(keras.layers.Add()([skip, y]))
        x = y
    x = MinibatchStdDev(minibatch_group_size, name="minibatch_stddev")(x)
    x = EqualizedConv2D(_filters(4, size, base_filters, max_filters), 3, name="b4_conv")(x)
    x = EqualizedDense(_filters(4, size, base_filters, max_filters), activation="lrelu",
                       name="b4_dense")(keras.layers.Flatten()(x))
    return keras.Model(images, EqualizedDense(1, name="logit")(x), name=name)


@keras.saving.register_keras_serializable(package="ganzoo")
class StyleGAN2(GAN):
    """A StyleGAN2 trained with `fit`; see the module docstring.

    Args:
        generator, discriminator: From `build_generator` and `build_discriminator`.
        latent_dim: Size of z.
        r1_weight: R1 gamma (0.01 in the reference's CIFAR-10 config).
        r1_interval: Steps between R1 updates (16; 1 regularises every step).
        pl_weight: Path-length weight (2 in the reference's high-resolution configs; 0: off).
        pl_interval: Steps between path-length updates (4).
        style_mixing: Probability of a second w after a random crossover (0.9 in
            the high-resolution configs; 0: off, as the CIFAR-10 config).
        ema_decay, augment, seed: As `GAN`.
    """

    def __init__(self, generator, discriminator, *, latent_dim, r1_weight=0.01, r1_interval=16, pl_weight=0.0,
                 pl_interval=4, style_mixing=0.0, **kwargs):
        for key, default in _NOT_FOR_STYLEGAN2.items():
            if kwargs.pop(key, default) != default:
                raise ValueError(f"`{key}` does not apply to StyleGAN2; leave it at {default!r}.")
        check_int("r1_interval", r1_interval, minimum=1)
        check_int("pl_interval", pl_interval, minimum=1)
        for key, value, high in (("pl_weight", pl_weight, float("inf")), ("style_mixing", style_mixing, 1.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
                raise ValueError(f"`{key}` must be a number in [0, {high}], got {value!r}.")
        super().__init__(generator, discriminator, latent_dim=latent_dim, r1_weight=r1_weight, **kwargs)
        self.num_ws = int(self.synthesis.inputs[0].shape[1])
        self.r1_interval, self.pl_interval = int(r1_interval), int(pl_interval)
        self.pl_weight, self.style_mixing = float(pl_weight), float(style_mixing)
        self.pl_mean = self.add_weight(shape=(), initializer="zeros", trainable=False, name="pl_mean")
        self._phase = (False, False)  # (R1, path length) in the step being traced
        self._next_step = None

    # Properties, not attributes: an attribute would save the generator's parts twice.
    @property
    def mapping(self):
        return parts(self.generator)[0]

    @property
    def mean_w(self):
        return parts(self.generator)[1]

    @property
    def synthesis(self):
        return parts(self.generator)[2]

    # --------------------------------------------------------------- the step
    def lazy_updates(self, step):
        """Whether step `step` (counting from 0) runs the R1 and the path-length update."""
        return (self.r1_weight > 0 and step % self.r1_interval == 0,
                self.pl_weight > 0 and step % self.pl_interval == 0)

    def ws(self, batch_size, *, training, latents=None):
        """Per-layer ws of fresh (or the given) latents; in training w's average is tracked and styles mixed."""
        latents = self.sample_latents(batch_size) if latents is None else latents
        w = self.mapping(latents, training=training)
        if training:
            self.mean_w.track(w)
        if not training or not self.style_mixing:
            return ops.repeat(w[:, None], self.num_ws, axis=1)
        second = self.mapping(self.sample_latents(batch_size), training=training)
        crossover = distribution.per_sample(
            lambda n: keras.random.randint((n,), 1, self.num_ws, seed=self.seed_generator), batch_size)
        mixed = distribution.per_sample(
            lambda n: keras.random.uniform((n,), seed=self.seed_generator), batch_size) < self.style_mixing
        return mix_ws(w, second, ops.where(mixed, crossover, self.num_ws), self.num_ws)

    def fake_batch(self, batch_size, labels=None, *, training=True, latents=None):
        """The synthesis network's unclipped images (what the discriminator judges, in training and validation)."""
        return self.synthesis(self.ws(batch_size, training=training, latents=latents), training=training)

    def penalties(self, real, fake, judge=None):
        """No penalty (0.0) in the main update: R1 runs lazily as its own update (`r1_penalty`)."""
        return 0.0

    def r1_penalty(self, real):
        """The lazy R1 update's loss: ``r1_weight / 2 * r1_interval * E||grad D(real)||^2`` (no augmentation)."""
        return 0.5 * self.r1_weight * self.r1_interval * regularizers.r1(self.judge, real), {}

    def path_length_penalty(self, batch_size):
        """The lazy path-length update's loss (on half a batch, as the reference; w is held constant)."""
        n = max(1, batch_size // 2) if isinstance(batch_size, int) else ops.maximum(batch_size // 2, 1)
        ws = ops.stop_gradient(self.ws(n, training=False))
        shape = (n, *self.synthesis.outputs[0].shape[1:])
        noise = distribution.per_sample(
            lambda k: keras.random.normal((k, *shape[1:]), seed=self.seed_generator), n) / math.sqrt(shape[1] * shape[2])
        grads = input_gradients(lambda x: self.synthesis(x, training=False) * noise, ws)
        lengths = ops.sqrt(ops.mean(ops.sum(ops.square(grads), axis=2), axis=1))
        mean = self.pl_mean + 0.01 * (distribution.global_mean(ops.mean(ops.stop_gradient(lengths))) - self.pl_mean)
        self.pl_mean.assign(mean)
        return self.pl_weight * self.pl_interval * ops.mean(ops.square(lengths - mean)), {}

    def r1_variables(self):
        """What the R1 update changes: the discriminator's variables but the last layer's bias.

        A constant added to the logit has no gradient with respect to the input, so R1 cannot
        reach it; leaving it out (as the reference's optimizer skips parameters without a
        gradient) keeps Adam from moving it with stale momentum on JAX and torch, whose
        gradients there are zeros where TensorFlow's are None.
        """
        skip = getattr(self.discriminator.layers[-1], "bias", None)
        return [v for v in self.discriminator.trainable_variables if v is not skip]

    def path_length_variables(self):
        """What the path-length update changes: the synthesis network's variables but the toRGB biases.

        w is held constant (the mapping network gets no gradient) and the toRGB biases add
        constants to the image, so neither moves the Jacobian; see `r1_variables`.
        """
        skip = [layer.bias for layer in self.synthesis.layers if layer.name.endswith("_torgb")]
        return [v for v in self.synthesis.trainable_variables if not any(v is s for s in skip)]

    @stateless_train_step
    def train_step(self, data):
        real, _ = self.unpack_batch(data)
        batch_size = ops.shape(real)[0]
        g_variables = self.generator.trainable_variables
        d_variables = self.discriminator.trainable_variables
        fake, pullback = forward(lambda: self.fake_batch(batch_size), g_variables)
        d_loss, probabilities = minimize(lambda: self.discriminator_loss(real, ops.stop_gradient(fake)),
                                         d_variables, self.d_optimizer)
        if self._phase[0]:
            minimize(lambda: self.r1_penalty(real), self.r1_variables(), self.d_optimizer)
        g_loss, _ = minimize_through(lambda samples: self.generator_loss(samples), fake, pullback, g_variables,
                                     self.g_optimizer)
        if self._phase[1]:
            minimize(lambda: self.path_length_penalty(batch_size), self.path_length_variables(), self.g_optimizer)
        if self.ema_generator is not None:
            self.update_ema()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(probabilities["d_real"])
        self.d_fake_tracker.update_state(probabilities["d_fake"])
        self.optimizer.iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    def make_train_function(self, force=False):
        """One compiled step per combination of lazy updates; each call runs the one its step needs.

        The step number is counted here from `optimizer.iterations` (one per step), read when
        `fit` begins (after `BackupAndRestore` restores) and on the first call outside `fit`.
        """
        if self.train_function is not None and not force:
            return self.train_function
        functions = {}
        # Every phase's function is made now, not at its first step: under a JAX distribution Keras
        # reads the variables' shardings to make one, and `fit` has taken their values out by then.
        for phase in itertools.product((False, True), repeat=2):
            step = type(self).train_step.__get__(self)

            def phase_step(*step_args, _phase=phase, _step=step):
                self._phase = _phase  # a new function per phase: JAX caches traces by function
                return _step(*step_args)

            saved, self.train_step = self.train_function, phase_step
            try:
                super(StyleGAN2, self).make_train_function(force=True)
            finally:
                del self.train_step
            functions[phase], self.train_function = self.train_function, saved

        def dispatch(*args, **kwargs):
            if self._next_step is None:
                self._next_step = int(ops.convert_to_numpy(self.optimizer.iterations))
            phase = self.lazy_updates(self._next_step)
            self._next_step += 1
            self._phase = phase  # read when a function is traced (its first call)
            return functions[phase](*args, **kwargs)

        if getattr(self, "steps_per_execution", 1) not in (1, None):
            raise ValueError("StyleGAN2 counts its lazy updates per step: compile with steps_per_execution=1.")
        self.train_function = dispatch
        return dispatch

    def fit(self, x=None, *args, **kwargs):
        """`GAN.fit`; the lazy-update schedule continues from `optimizer.iterations`."""
        if len(args) >= 5:  # callbacks given by position: fit(x, y, batch_size, epochs, verbose, callbacks)
            args = (*args[:4], [*(args[4] or []), _StepCounter()], *args[5:])
        else:
            kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), _StepCounter()]
        return super().fit(x, *args, **kwargs)

    # -------------------------------------------------------------- sampling
    def generate(self, n, *, labels=None, seed=None, batch_size=256, truncation=1.0):
        """`GAN.generate` with the truncation trick: ``truncation`` psi (1: none, 0: the mean-w image)."""
        generator = self.sampling_generator
        if truncation != 1:
            generator = with_truncation(generator, check_truncation(truncation))
        return run_generator(generator, n, labels=labels, seed=seed, batch_size=batch_size)

    def style_mix(self, first, second, *, crossover, truncation=1.0):
        """`style_mix` of the sampling generator."""
        return style_mix(self.sampling_generator, first, second, crossover=crossover, truncation=truncation)

    def interpolate(self, start, end, steps, *, truncation=1.0):
        """`interpolate` of the sampling generator."""
        return interpolate(self.sampling_generator, start, end, steps, truncation=truncation)

    def get_config(self):
        config = super().get_config()
        for key in _NOT_FOR_STYLEGAN2:
            config.pop(key)
        return {**config, "r1_interval": self.r1_interval, "pl_weight": self.pl_weight,
                "pl_interval": self.pl_interval, "style_mixing": self.style_mixing}


class _StepCounter(keras.callbacks.Callback):
    """Reads the step count when `fit` begins (after BackupAndRestore restores the model)."""

    def on_train_begin(self, logs=None):
        self.model._next_step = int(ops.convert_to_numpy(self.model.optimizer.iterations))


def build_stylegan2(image_shape, *, latent_dim=128, generator=None, discriminator=None, seed=None, **gan_kwargs):
    """A `StyleGAN2` with `build_generator(**generator)` and `build_discriminator(**discriminator)`."""
    generator = build_generator(image_shape, latent_dim=latent_dim, seed=seed, **(generator or {}))
    discriminator = build_discriminator(image_shape, **(discriminator or {}))
    return StyleGAN2(generator, discriminator, latent_dim=latent_dim, seed=seed, **gan_kwargs)
