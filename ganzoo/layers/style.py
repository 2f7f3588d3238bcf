"""The layers of StyleGAN2 (Karras et al., 2020), in backend-neutral Keras ops.

* `EqualizedDense`, `EqualizedConv2D`: weights drawn from a normal with standard deviation 1 / lr_multiplier
  and scaled at run time by ``lr_multiplier / sqrt(fan_in)`` (equalized learning
  rate), activations ``leaky_relu(0.2) * sqrt(2)``.
* `StyleConv`: a synthesis layer, ``w`` -> style ``s`` (an affine layer whose bias
  starts at 1) -> modulated convolution with weight demodulation -> per-pixel
  noise times a learned strength -> bias -> activation; optionally doubling the
  resolution first. ``demodulate=False, noise=False, activation=None`` with a
  1x1 kernel is StyleGAN2's toRGB layer.
* `ConstantInput`: the learned 4x4 input of the synthesis network.
* `MeanW`: keeps the average of w (tracked during training) and applies the
  truncation trick ``w_avg + psi * (w - w_avg)``.

The modulated convolution is computed as the reference's non-fused path:
``conv(x * s, W) * d`` with ``d = 1 / sqrt(sum_{k,k,in} (W * s)^2 + 1e-8)``,
which equals the convolution with the per-sample demodulated weights
(`StyleConv.modulated_kernels`) but uses one shared kernel, so it runs as one
ordinary convolution on every backend and converts to TFLite unchanged.
Upsampling is bilinear (``ops.image.resize``) where the reference uses a
transposed convolution with a FIR filter.
"""

import math

import keras
from keras import ops

from ganzoo.backend import distribution

SQRT2 = math.sqrt(2.0)


def _activate(x, activation):
    if activation == "lrelu":
        return ops.leaky_relu(x, 0.2) * SQRT2
    if activation is None:
        return x
    raise ValueError(f"activation must be 'lrelu' or None, got {activation!r}.")


@keras.saving.register_keras_serializable(package="ganzoo")
class EqualizedDense(keras.layers.Layer):
    """A dense layer with an equalized learning rate (the mapping network uses lr_multiplier 0.01)."""

    def __init__(self, units, *, lr_multiplier=1.0, bias_init=0.0, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.lr_multiplier, self.bias_init, self.activation = int(units), float(lr_multiplier), \
            float(bias_init), activation

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self.gain = self.lr_multiplier / math.sqrt(fan_in)
        self.kernel = self.add_weight(shape=(fan_in, self.units), name="kernel",
                                      initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier))
        self.bias = self.add_weight(shape=(self.units,), name="bias",
                                    initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier))

    def call(self, x):
        return _activate(ops.matmul(x, self.kernel * self.gain) + self.bias * self.lr_multiplier, self.activation)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "lr_multiplier": self.lr_multiplier,
                "bias_init": self.bias_init, "activation": self.activation}


@keras.saving.register_keras_serializable(package="ganzoo")
class EqualizedConv2D(keras.layers.Layer):
    """A 'same' convolution with an equalized learning rate, optionally halving the resolution first
    (2x2 average pooling, then the convolution: the discriminator's downsampling)."""

    def __init__(self, filters, kernel_size, *, downsample=False, use_bias=True, activation="lrelu", **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.downsample = int(filters), int(kernel_size), bool(downsample)
        self.use_bias, self.activation = bool(use_bias), activation

    def build(self, input_shape):
        fan_in = int(input_shape[-1]) * self.kernel_size ** 2
        self.gain = 1.0 / math.sqrt(fan_in)
        self.kernel = self.add_weight(shape=(self.kernel_size, self.kernel_size, int(input_shape[-1]), self.filters),
                                      name="kernel", initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer="zeros") if self.use_bias else None

    def call(self, x):
        if self.downsample:
            x = ops.average_pool(x, 2, strides=2, padding="valid")
        x = ops.conv(x, self.kernel * self.gain, padding="same")
        if self.bias is not None:
            x = x + self.bias
        return _activate(x, self.activation)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "downsample": self.downsample, "use_bias": self.use_bias, "activation": self.activation}


@keras.saving.register_keras_serializable(package="ganzoo")
class StyleConv(keras.layers.Layer):
    """A modulated convolution of `[x, w]`; see the module docstring.

    Args:
        filters: Output channels.
        kernel_size: 3 for synthesis layers, 1 for toRGB.
        demodulate: Normalise each output channel's per-sample weights to unit norm.
        upsample: Double the resolution (bilinear) before the convolution.
        noise: Add per-pixel noise times a learned strength (starting at 0).
            `training=True` draws fresh noise from the layer's seed stream;
            inference uses the layer's fixed noise map (`noise_const`, drawn
            at build), so a latent gives the same image every time, on every
            backend and in exported files.
        activation: "lrelu" (with gain sqrt(2)) or None.
        seed: Seed of the noise stream and the fixed noise map.
    """

    def __init__(self, filters, kernel_size=3, *, demodulate=True, upsample=False, noise=True, activation="lrelu",
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = int(filters), int(kernel_size)
        self.demodulate, self.upsample, self.noise, self.activation = bool(demodulate), bool(upsample), \
            bool(noise), activation
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if noise else None

    def build(self, input_shape):
        x_shape, w_shape = input_shape
        channels = int(x_shape[-1])
        self.affine = EqualizedDense(channels, bias_init=1.0, name="affine")
        self.affine.build(w_shape)
        self.kernel = self.add_weight(shape=(self.kernel_size, self.kernel_size, channels, self.filters),
                                      name="kernel", initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.gain = 1.0 / math.sqrt(channels * self.kernel_size ** 2)
        self.bias = self.add_weight(shape=(self.filters,), name="bias", initializer="zeros")
        if self.noise:
            size = tuple(int(s) * (2 if self.upsample else 1) for s in x_shape[1:3])
            self.noise_strength = self.add_weight(shape=(), name="noise_strength", initializer="zeros")
            self.noise_const = self.add_weight(shape=(*size, 1), name="noise_const", trainable=False,
                                               initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed))

    def styles(self, w):
        """The per-sample, per-input-channel styles ``s = affine(w)``."""
        return self.affine(w)

    def modulated_kernels(self, w):
        """The per-sample kernels ``(N, k, k, in, out)`` this layer's convolution equals (demodulated if set)."""
        kernel = self.kernel * self.gain * self.styles(w)[:, None, None, :, None]
        if self.demodulate:
            kernel = kernel * ops.rsqrt(ops.sum(ops.square(kernel), axis=(1, 2, 3), keepdims=True) + 1e-8)
        return kernel

    def call(self, inputs, training=False):
        x, w = inputs
        styles = self.styles(w)
        kernel = self.kernel * self.gain
        x = x * styles[:, None, None, :]
        if self.upsample:
            x = ops.image.resize(x, (2 * x.shape[1], 2 * x.shape[2]), interpolation="bilinear")
        x = ops.conv(x, kernel, padding="same")
        if self.demodulate:  # ||W * s||^2 per sample and output channel, as a matrix product
            power = ops.matmul(ops.square(styles), ops.sum(ops.square(kernel), axis=(0, 1)))
            x = x * ops.rsqrt(power + 1e-8)[:, None, None, :]
        if self.noise:
            if training:
                noise = distribution.per_sample(
                    lambda n: keras.random.normal((n, *x.shape[1:3], 1), seed=self.seed_generator), ops.shape(x)[0])
            else:
                noise = self.noise_const[None]
            x = x + noise * self.noise_strength
        return _activate(x + self.bias, self.activation)

    def compute_output_shape(self, input_shape):
        x_shape = input_shape[0]
        scale = 2 if self.upsample else 1
        return (x_shape[0], x_shape[1] * scale, x_shape[2] * scale, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "demodulate": self.demodulate, "upsample": self.upsample, "noise": self.noise,
                "activation": self.activation, "seed": self.seed}


@keras.saving.register_keras_serializable(package="ganzoo")
class ConstantInput(keras.layers.Layer):
    """The synthesis network's learned constant input ``(size, size, channels)``, repeated for the batch of `ws`."""

    def __init__(self, size, channels, **kwargs):
        super().__init__(**kwargs)
        self.size, self.channels = int(size), int(channels)

    def build(self, input_shape):
        self.constant = self.add_weight(shape=(self.size, self.size, self.channels), name="constant",
                                        initializer=keras.initializers.RandomNormal(0.0, 1.0))

    def call(self, ws):
        return ops.tile(self.constant[None], (ops.shape(ws)[0], 1, 1, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "channels": self.channels}


@keras.saving.register_keras_serializable(package="ganzoo")
class MeanW(keras.layers.Layer):
    """The tracked average of w, and the truncation trick ``w_avg + psi * (w - w_avg)``.

    `track(w)` moves ``w_avg`` towards the batch mean, ``w_avg = mean(w) + beta *
    (w_avg - mean(w))`` (beta 0.995, the reference's); the model calls it on
    every generator batch of training. Called on w, the layer truncates with its
    `psi` (1: w unchanged, 0: the average for every w).
    """

    def __init__(self, psi=1.0, beta=0.995, **kwargs):
        super().__init__(**kwargs)
        self.psi, self.beta = float(psi), float(beta)

    def build(self, input_shape):
        self.w_avg = self.add_weight(shape=(int(input_shape[-1]),), name="w_avg", initializer="zeros",
                                     trainable=False)

    def track(self, w):
        mean = distribution.global_mean(ops.mean(ops.stop_gradient(w), axis=0))
        self.w_avg.assign(mean + self.beta * (self.w_avg - mean))

    def truncate(self, w, psi):
        return w if psi == 1 else self.w_avg + psi * (w - self.w_avg)

    def call(self, w):
        return self.truncate(w, self.psi)

    def get_config(self):
        return {**super().get_config(), "psi": self.psi, "beta": self.beta}
