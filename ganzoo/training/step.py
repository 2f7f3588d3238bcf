"""The backend seam: the only module in ganzoo that branches on the Keras backend.

A GAN's `train_step` is written once, in backend-neutral Keras ops, and calls
`minimize(loss_fn, variables, optimizer)` for each of its updates. This module
provides that helper for TensorFlow (gradient tape), PyTorch (autograd) and JAX
(`jax.value_and_grad` inside a `keras.StatelessScope`), and the decorator
`stateless_train_step` that adapts a `train_step(self, data)` to the JAX
trainer's `train_step(self, state, data) -> (logs, state)` contract.

On JAX, Keras' `fit` purges variable values during an epoch and threads them
through the jitted step as `state`. The decorator maps every variable of the
model (trainable, non-trainable, all optimizer slots, metrics) to its value in
`state` inside a stateless scope, runs the neutral step (whose `assign`s are
recorded by the scope, not applied), and returns the recorded values as the new
state. Both optimizers' state is threaded because `GAN.compile` installs a
`keras.optimizers.MultiOptimizer` over them as `model.optimizer`.
"""

import functools

from ganzoo.training import memory

# Before Keras and the backend start their threads: see `memory`.
memory.keep_freed_memory()

import keras  # noqa: E402  pylint: disable=wrong-import-position

_BACKEND = keras.backend.backend()

if _BACKEND == "tensorflow":
    import tensorflow as tf
elif _BACKEND == "torch":
    import torch
elif _BACKEND == "jax":
    import jax


def accelerator():
    """The device Keras computes on, e.g. ``"cpu"`` or ``"gpu: NVIDIA H100 80GB HBM3"``."""
    if _BACKEND == "jax":
        device = jax.devices()[0]
        return device.platform if device.platform == "cpu" else f"{device.platform}: {device.device_kind}"
    if _BACKEND == "torch":
        return f"gpu: {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "cpu"
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def minimize(loss_fn, variables, optimizer):
    """Computes `loss_fn`'s gradients for `variables` and applies them.

    Args:
        loss_fn: Callable with no arguments returning `(loss, aux)`: a scalar
            loss tensor and a dict of tensors to pass back (for logging).
        variables: List of the `keras.Variable`s to update.
        optimizer: The `keras.optimizers.Optimizer` that owns them. Its
            `iterations` grows by one per call.

    Returns:
        The tuple `(loss, aux)` computed on the variables' values before the
        update.
    """
    variables = list(variables)
    if _BACKEND == "tensorflow":
        with tf.GradientTape() as tape:
            loss, aux = loss_fn()
        grads = tape.gradient(loss, variables)
        optimizer.apply(grads, variables)
        return loss, aux
    if _BACKEND == "torch":
        loss, aux = loss_fn()
        grads = torch.autograd.grad(
            loss, [v.value for v in variables], allow_unused=True
        )
        grads = [
            torch.zeros_like(v.value) if g is None else g
            for g, v in zip(grads, variables)
        ]
        _apply(optimizer, grads, variables)
        return loss.detach(), {k: a.detach() for k, a in aux.items()}
    if _BACKEND == "jax":
        return _jax_minimize(loss_fn, variables, optimizer)
    raise NotImplementedError(
        f"ganzoo supports the tensorflow, jax and torch backends, not {_BACKEND!r}. "
        "Set KERAS_BACKEND to one of them."
    )


def forward(fn, variables):
    """Runs `fn()` and keeps what is needed to differentiate it later.

    Together with `minimize_through`, lets one forward pass serve two
    updates: e.g. a generator batch first trains the discriminator (as a
    constant) and then, through the updated discriminator, the generator.

    Args:
        fn: Callable with no arguments returning one tensor.
        variables: The `keras.Variable`s the later gradients are taken for.

    Returns:
        `(outputs, pullback)`: `fn()`'s value, and a function mapping a
        cotangent shaped like `outputs` to the list of gradients of
        `sum(outputs * cotangent)` for `variables` (callable once).
    """
    variables = list(variables)
    if _BACKEND == "tensorflow":
        with tf.GradientTape() as tape:
            outputs = fn()
        return outputs, lambda cotangent: tape.gradient(outputs, variables, output_gradients=cotangent)
    if _BACKEND == "torch":
        outputs = fn()

        def pullback(cotangent):
            grads = torch.autograd.grad(outputs, [v.value for v in variables], cotangent, allow_unused=True)
            return [torch.zeros_like(v.value) if g is None else g for g, v in zip(grads, variables)]

        return outputs.detach(), pullback
    if _BACKEND == "jax":
        pure, assigned = _jax_pure(lambda: (fn(), {}), variables)
        values = [_current_jax_scope()[0].get_current_value(v) for v in variables]
        outputs, vjp, (_, updates) = jax.vjp(pure, values, has_aux=True)
        for variable, value in zip(assigned, updates):
            variable.assign(value)
        return outputs, lambda cotangent: vjp(cotangent)[0]
    raise NotImplementedError(f"Unsupported backend {_BACKEND!r}.")


def minimize_through(loss_fn, outputs, pullback, variables, optimizer):
    """Applies the gradients of `loss_fn(outputs)` for `variables`, given `forward`'s pullback.

    Args:
        loss_fn: Callable mapping `outputs` to `(loss, aux)` as in `minimize`.
            Other variables it reads are constants; state it assigns (e.g.
            batch-norm statistics) is kept.
        outputs, pullback: What `forward` returned.
        variables: The variables `forward` was given.
        optimizer: The optimizer that owns them.

    Returns:
        `(loss, aux)`.
    """
    (loss, aux), cotangent = _loss_and_input_gradient(loss_fn, outputs)
    _apply(optimizer, pullback(cotangent), list(variables))
    return loss, aux


def traceable(layer):
    """Returns `layer`, marked compilable on JAX (Keras image augmentation layers).

    Keras sets `supports_jit = False` on `RandomTranslation` because
    TensorFlow's projective-transform kernel has no XLA version, and `fit`
    then runs any model holding the layer without compilation. On JAX that
    means op by op, each op compiled on its own: a 4-step epoch of the test
    suite's ACGAN with translation took ~27 s. On JAX the layer is jax ops and
    traces like any other; TensorFlow and PyTorch keep Keras' setting.
    """
    if _BACKEND == "jax":
        layer.supports_jit = True
    return layer


def constant(fn):
    """`fn()` as a constant of the step: no gradient flows into it, and PyTorch records no graph for it."""
    if _BACKEND == "torch":
        with torch.no_grad():
            return fn()
    return keras.ops.stop_gradient(fn())


def _apply(optimizer, grads, variables):
    """`optimizer.apply`, outside autograd's recording on PyTorch."""
    if _BACKEND == "torch":
        with torch.no_grad():
            optimizer.apply(grads, variables)
    else:
        optimizer.apply(grads, variables)


def _loss_and_input_gradient(loss_fn, inputs):
    if _BACKEND == "tensorflow":
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss, aux = loss_fn(inputs)
        return (loss, aux), tape.gradient(loss, inputs)
    if _BACKEND == "torch":
        inputs = inputs.detach().requires_grad_(True)
        loss, aux = loss_fn(inputs)
        (grad,) = torch.autograd.grad(loss, inputs)
        return (loss.detach(), {k: a.detach() for k, a in aux.items()}), grad
    if _BACKEND == "jax":
        pure, assigned = _jax_pure(loss_fn, [])
        (loss, (aux, updates)), grad = jax.value_and_grad(
            lambda x: pure([], x), has_aux=True)(inputs)
        for variable, value in zip(assigned, updates):
            variable.assign(value)
        return (loss, aux), grad
    raise NotImplementedError(f"Unsupported backend {_BACKEND!r}.")


def batch_norm(inputs, gamma, beta, *, epsilon):
    """Training-mode batch normalization over every axis but the last.

    Returns `(outputs, mean, variance)`: the normalized, scaled (`gamma`) and
    shifted (`beta`; either may be None) inputs, differentiable with respect
    to the inputs, `gamma` and `beta`, and the batch's mean and biased
    variance for the moving statistics, as Keras' `BatchNormalization`
    computes them. On PyTorch it is one call of torch's fused kernel on the
    channels-first view of the input (channels-last memory, as in `conv`),
    with the variance recovered from the kernel's saved inverse standard
    deviation. On TensorFlow it is TensorFlow's fused kernel
    (`FusedBatchNormV3`, a 2-D input viewed as 1x1 images), whose variance
    output carries Bessel's correction, undone here; forward and backward of
    the DCGAN generator's three batch norms took 50 ms with Keras' ops and
    23 ms fused (batch 128, one-off, median of 27 calls of a `tf.function`),
    and its whole step ran 1.19x faster (median of 8 alternated windows in one
    process). Under XLA (`jit_compile=True`), and on JAX, it is Keras'
    `ops.moments` and `ops.batch_normalization`, which XLA fuses: there the
    fused kernel made the TensorFlow step 0.88x as fast.
    """
    if _BACKEND == "torch":
        x = keras.ops.convert_to_tensor(inputs)
        to_channels_first = (0, x.ndim - 1, *range(1, x.ndim - 1))
        outputs, mean, inverse_std = torch.native_batch_norm(
            x.permute(to_channels_first), gamma, beta, None, None, True, 0.0, epsilon)
        variance = inverse_std.detach() ** -2 - epsilon
        return outputs.permute(0, *range(2, x.ndim), 1), mean.detach(), variance
    if _BACKEND == "tensorflow" and len(inputs.shape) in (2, 4) and not _tf_xla_compiling():
        return _tf_batch_norm(tf.convert_to_tensor(inputs), gamma, beta, epsilon)
    mean, variance = keras.ops.moments(inputs, list(range(len(inputs.shape) - 1)))
    outputs = keras.ops.batch_normalization(inputs, mean, variance, axis=-1, offset=beta, scale=gamma,
                                            epsilon=epsilon)
    return outputs, mean, variance


def _tf_xla_compiling():
    """Whether TensorFlow is tracing a function for XLA (`jit_compile=True`) at this point."""
    from tensorflow.python.framework import ops  # pylint: disable=import-outside-toplevel
    from tensorflow.python.ops import control_flow_util  # pylint: disable=import-outside-toplevel

    return control_flow_util.GraphOrParentsInXlaContext(ops.get_default_graph())


def _tf_batch_norm(inputs, gamma, beta, epsilon):
    """`batch_norm` on TensorFlow: one `FusedBatchNormV3` forward, its fused gradient backward."""
    shape = inputs.shape
    channels = shape[-1]
    images = tf.reshape(inputs, (-1, 1, 1, channels)) if shape.rank == 2 else inputs
    empty = tf.zeros((0,), inputs.dtype)
    outputs, mean, variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
        x=images, scale=tf.ones((channels,), inputs.dtype) if gamma is None else gamma,
        offset=tf.zeros((channels,), inputs.dtype) if beta is None else beta, mean=empty, variance=empty,
        epsilon=epsilon, exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
    count = tf.cast(tf.size(inputs) // channels, inputs.dtype)
    variance = tf.stop_gradient(variance) * (count - 1.0) / count  # the kernel's is the unbiased estimate
    return tf.reshape(outputs, tf.shape(inputs)), tf.stop_gradient(mean), variance


def conv(inputs, kernel, *, strides, padding):
    """`keras.ops.conv` (2-D, channels-last, no dilation or groups) for training.

    Same values and gradients on every backend. On PyTorch the channels-last
    input is handed to torch as its NCHW view, which is torch's
    `channels_last` memory format, so oneDNN convolves it in place; Keras'
    torch op copies it to NCHW and back to channels-last around each call
    (the DCGAN trained 13-17 % faster with both convolutions done this way,
    measured side by side by a prototype of `benchmarks/train_step.py`'s
    torch worker). On JAX a stride-1 convolution to at most 16 channels is
    `conv_as_matmul`: with both gradients, at batch 128 on 28x28x32 inputs in
    a one-off measurement, XLA's CPU backend ran it 3.6x (1 channel, the
    DCGAN's output layer) to 5x (16 channels) faster than Keras' op. On
    TensorFlow that formulation was slower from 3 channels on and its 6-D
    padding does not convert to TFLite; there a stride-1 convolution to at
    most `_TF_FEW_CHANNELS` channels keeps TensorFlow's op forward with
    matmul gradients (`_tf_conv_to_few_channels`), and any other runs Keras' op.
    """
    if _BACKEND == "torch":
        return _torch_conv(inputs, kernel, strides, padding)
    if _BACKEND == "jax" and tuple(strides) == (1, 1) and kernel.shape[-1] <= 16:
        return conv_as_matmul(inputs, kernel, padding=padding)
    if (_BACKEND == "tensorflow" and tuple(strides) == (1, 1) and kernel.shape[-1] <= _TF_FEW_CHANNELS
            and None not in inputs.shape[1:]):
        return _tf_conv_to_few_channels(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel), padding)
    return keras.ops.conv(inputs, kernel, strides=strides, padding=padding)


_TF_FEW_CHANNELS = 8  # forward + both gradients, 128x28x28x32 -> 3x3: 16 channels were slower than Keras' op


def _tf_conv_to_few_channels(inputs, kernel, padding):
    """A stride-1 convolution on TensorFlow to few channels: TensorFlow's op forward, gradients as matmuls.

    TensorFlow's gradient kernels ran the DCGAN's 1-channel output layer
    (batch 128, 28x28x32 input) at ~25 ms each for a 0.06 GFLOP product. Both
    gradients are products with one small matrix: ``q`` holds, for each input
    pixel, the output gradient at every offset a kernel tap reaches it from
    (zero-padded slices), so the input gradient is ``q @ kernel`` and the
    kernel gradient ``q^T @ inputs``. Forward and both gradients of a 3x3
    kernel on that input, one-off, ms (Keras' op -> this): 1 channel 58.6 ->
    21.3, 3 channels 88.8 -> 36.4, 8 channels 63.3 -> 38.5, 16 channels
    75.9 -> 82.8. Forward is TensorFlow's op, so exports are unchanged. The
    gradient uses static shapes only (see `_tf_conv_transpose`).
    """
    _, height, width, in_channels = inputs.shape
    kernel_h, kernel_w, _, out_channels = kernel.shape
    (top, _), (left, _) = _conv_padding((height, width), (kernel_h, kernel_w), (1, 1), padding)

    @tf.custom_gradient
    def convolve(x, w):
        def grad(dy):
            rows, cols = dy.shape[1], dy.shape[2]
            padded = tf.pad(dy, [[0, 0], [kernel_h - 1 - top, height + top - rows],
                                 [kernel_w - 1 - left, width + left - cols], [0, 0]])
            q = tf.concat([padded[:, kernel_h - 1 - a:kernel_h - 1 - a + height,
                                  kernel_w - 1 - b:kernel_w - 1 - b + width]
                           for a in range(kernel_h) for b in range(kernel_w)], -1)
            q = tf.reshape(q, (-1, kernel_h * kernel_w * out_channels))
            taps = tf.reshape(tf.transpose(w, (0, 1, 3, 2)), (-1, in_channels))
            dx = tf.reshape(tf.matmul(q, taps), (-1, height, width, in_channels))
            dw = tf.matmul(q, tf.reshape(x, (-1, in_channels)), transpose_a=True)
            dw = tf.transpose(tf.reshape(dw, (kernel_h, kernel_w, out_channels, in_channels)), (0, 1, 3, 2))
            return dx, dw

        return tf.nn.conv2d(x, w, 1, padding.upper()), grad

    return convolve(inputs, kernel)


def conv_as_matmul(inputs, kernel, *, padding):
    """A stride-1 `keras.ops.conv` as one matrix product and a sum of shifted slices, in Keras ops.

    Each input pixel times every kernel tap, ``pixel @ kernel[a, b]``, is one
    product with the kernel's taps side by side; output pixel ``(i, j)`` adds
    tap ``(a, b)`` of the (zero-padded) input pixel ``(i + a, j + b)``.
    Channels-last, no dilation or groups.
    """
    inputs, kernel = keras.ops.convert_to_tensor(inputs), keras.ops.convert_to_tensor(kernel)
    _, height, width, in_channels = inputs.shape
    kernel_h, kernel_w, _, out_channels = kernel.shape
    taps = keras.ops.matmul(keras.ops.reshape(inputs, (-1, in_channels)),
                            keras.ops.reshape(keras.ops.transpose(kernel, (2, 0, 1, 3)), (in_channels, -1)))
    taps = keras.ops.reshape(taps, (-1, height, width, kernel_h, kernel_w, out_channels))
    (top, bottom), (left, right) = _conv_padding((height, width), (kernel_h, kernel_w), (1, 1), padding)
    taps = keras.ops.pad(taps, [[0, 0], [top, bottom], [left, right], [0, 0], [0, 0], [0, 0]])
    rows, cols = height + top + bottom - kernel_h + 1, width + left + right - kernel_w + 1
    outputs = None
    for a in range(kernel_h):
        for b in range(kernel_w):
            tap = taps[:, a:a + rows, b:b + cols, a, b]
            outputs = tap if outputs is None else outputs + tap
    return outputs


def conv_transpose(inputs, kernel, *, strides, padding):
    """`keras.ops.conv_transpose` (channels-last, no dilation or output padding) for training.

    Same values and gradients on every backend. On JAX it is computed by
    `conv_transpose_as_matmul`, whose gradients JAX derives as matrix products:
    its own derivation of the kernel gradient of `ops.conv_transpose` is a
    convolution over a stride-dilated input that XLA on a CPU runs about 10x
    slower (0.7-0.8 s per DCGAN layer at batch 128, measured by
    `benchmarks/train_step.py`). On PyTorch it runs torch's op on the
    channels-last view (see `conv`) with the crop as torch's own padding where
    it is symmetric. On TensorFlow a "same" one with equal strides of at least
    2, no larger than the kernel, is `_tf_conv_transpose` (forward as one
    stride-1 convolution with the kernel laid out by output phase, TensorFlow's
    own gradients); any other runs Keras' op.
    """
    if _BACKEND == "jax":
        return conv_transpose_as_matmul(inputs, kernel, strides=strides, padding=padding)
    if _BACKEND == "torch":
        return _torch_conv_transpose(inputs, kernel, strides, padding)
    if (_BACKEND == "tensorflow" and padding == "same" and 2 <= strides[0] == strides[1] <= min(kernel.shape[:2])
            and None not in inputs.shape[1:]):  # the formulation needs the spatial sizes
        return _tf_conv_transpose(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel), tuple(strides))
    return keras.ops.conv_transpose(inputs, kernel, strides=strides, padding=padding)


def _same_padding(size, kernel, stride):
    """(before, after) zero padding of Keras' (and TensorFlow's) "same" convolution along one axis."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _conv_padding(sizes, kernel_sizes, strides, padding):
    """[(before, after)] zero padding per spatial axis of a "valid" or "same" convolution."""
    if padding == "valid":
        return [(0, 0) for _ in sizes]
    return [_same_padding(n, k, s) for n, k, s in zip(sizes, kernel_sizes, strides)]


def _torch_conv(inputs, kernel, strides, padding):
    functional = torch.nn.functional
    x = keras.ops.convert_to_tensor(inputs).permute(0, 3, 1, 2)  # channels_last memory format
    w = keras.ops.convert_to_tensor(kernel).permute(3, 2, 0, 1)  # (out, in, kh, kw)
    (top, bottom), (left, right) = _conv_padding(x.shape[2:], w.shape[2:], strides, padding)
    if top != bottom or left != right:
        x, top, left = functional.pad(x, (left, right, top, bottom)), 0, 0
    return functional.conv2d(x, w, stride=tuple(strides), padding=(top, left)).permute(0, 2, 3, 1)


def _torch_conv_transpose(inputs, kernel, strides, padding):
    functional = torch.nn.functional
    x = keras.ops.convert_to_tensor(inputs).permute(0, 3, 1, 2)  # channels_last memory format
    w = keras.ops.convert_to_tensor(kernel).permute(3, 2, 0, 1)  # (in, out, kh, kw)
    crops = []  # (before, after) to cut from torch's unpadded output; negative: zeros to add
    for size, k, s in zip(x.shape[2:], w.shape[2:], strides):
        first, length = _transpose_crop(size, k, s, padding)
        crops.append((first, (size - 1) * s + k - first - length))
    (top, bottom), (left, right) = crops
    if top == bottom >= 0 and left == right >= 0:
        outputs = functional.conv_transpose2d(x, w, stride=tuple(strides), padding=(top, left))
    else:
        outputs = functional.pad(functional.conv_transpose2d(x, w, stride=tuple(strides)),
                                 (-left, -right, -top, -bottom))
    return outputs.permute(0, 2, 3, 1)


def _tf_conv_transpose(inputs, kernel, strides):
    """A "same" transposed convolution on TensorFlow, forward as one stride-1 convolution.

    TensorFlow's transposed convolution (`Conv2DBackpropInput`) ran at about
    half the speed of its forward convolution on the DCGAN's layers (30 against
    62 GFLOP/s, batch 128, 2 CPU cores). The product of `conv_transpose_as_matmul`
    is a stride-1 "valid" convolution of the padded input with the kernel laid
    out by output phase (`_phase_kernel`, taps reversed), and `depth_to_space`
    interleaves the phases. An earlier form ran one convolution per phase on
    its own window of the input; with TensorFlow's slices, reversals and concat
    around them, that made the DCGAN's step 1.02x, 1.08x and 1.02x slower
    (median per-round ratios, 10, 16 and 16 alternated windows in one process);
    exported, LiteRT ran the DCGAN's generator 0-9 % slower (the phase grid is
    ``ceil(k / stride) - 1`` pixels wider than the input, then cropped).
    The gradients are TensorFlow's own for the transposed convolution (a
    strided convolution and `Conv2DBackpropFilter`), given static shapes: with
    a shape read at run time (`tf.shape(w)`), a run resumed from a checkpoint
    differed from an uninterrupted one in the last bits (`tests/test_resume.py`),
    here and in `_tf_conv_to_few_channels`.
    """
    _, height, width, _ = inputs.shape
    kernel_h, kernel_w, _, _ = kernel.shape
    (top, rows), (left, cols) = (_transpose_crop(n, k, s, "same") for n, k, s in
                                 ((height, kernel_h, strides[0]), (width, kernel_w, strides[1])))

    @tf.custom_gradient
    def transpose(x, w):
        phases = tf.reverse(_phase_kernel(w, strides), [0, 1])
        taps_h, taps_w = phases.shape[:2]
        padded = tf.pad(x, [[0, 0], [taps_h - 1, taps_h - 1], [taps_w - 1, taps_w - 1], [0, 0]])
        full = tf.nn.depth_to_space(tf.nn.conv2d(padded, phases, 1, "VALID"), strides[0])
        y = full[:, top:top + rows, left:left + cols]

        def grad(dy):
            dx = tf.nn.conv2d(dy, w, (1, *strides, 1), "SAME")
            dw = tf.raw_ops.Conv2DBackpropFilter(input=dy, filter_sizes=w.shape, out_backprop=x,
                                                 strides=(1, *strides, 1), padding="SAME")
            return dx, dw

        return y, grad

    return transpose(inputs, kernel)


def _phase_kernel(kernel, strides):
    """A transposed convolution's kernel (h, w, out, in) laid out by output phase.

    Returns (taps_h, taps_w, in, stride_h * stride_w * out), where tap ``a``
    of phase ``r`` is the kernel offset ``stride * a + r`` (zero past the
    kernel), and the last axis is ordered (phase row, phase column, output
    channel) as `depth_to_space` reads it.
    """
    kernel_h, kernel_w, out_channels, in_channels = kernel.shape
    stride_h, stride_w = strides
    taps_h, taps_w = -(-kernel_h // stride_h), -(-kernel_w // stride_w)
    # Zero taps make each kernel axis a whole number of strides; they only write past the crop.
    kernel = keras.ops.pad(kernel, [[0, taps_h * stride_h - kernel_h], [0, taps_w * stride_w - kernel_w],
                                    [0, 0], [0, 0]])
    kernel = keras.ops.reshape(kernel, (taps_h, stride_h, taps_w, stride_w, out_channels, in_channels))
    return keras.ops.reshape(keras.ops.transpose(kernel, (0, 2, 5, 1, 3, 4)),
                             (taps_h, taps_w, in_channels, stride_h * stride_w * out_channels))


def conv_transpose_as_matmul(inputs, kernel, *, strides, padding):
    """`keras.ops.conv_transpose` as one matrix product of input patches, in Keras ops.

    Writing each kernel offset as ``stride * a + r``, output pixel
    ``stride * i + r`` (before the crop) adds input pixel ``i - a`` times
    kernel tap ``stride * a + r``. So every output phase ``r`` on the grid
    ``i`` is a stride-1 convolution of the input with ``ceil(k / stride)``
    taps per axis, and all phases are one product: the input's
    ``taps_h x taps_w`` neighbourhoods side by side (zero-padded) times the
    kernel laid out as (tap, input channel) x (phase, output channel).
    Interleaving the phases and cropping gives the output; the gradients
    are matrix products and slices of the (small) input. Channels-last, no
    dilation or output padding.

    An earlier form multiplied each input pixel by the whole kernel and
    added the kernel-sized patches up on the output grid; in the DCGAN's
    compiled JAX step XLA re-computed that sum in each of the next batch
    norm's passes, and this form made the step 1.12x faster (median of 8
    alternated windows in one process), though alone the layer is faster
    the old way.
    """
    inputs, kernel = keras.ops.convert_to_tensor(inputs), keras.ops.convert_to_tensor(kernel)
    _, height, width, in_channels = inputs.shape
    kernel_h, kernel_w, out_channels, _ = kernel.shape
    stride_h, stride_w = strides
    kernel = _phase_kernel(kernel, strides)
    taps_h, taps_w = kernel.shape[:2]
    kernel = keras.ops.reshape(kernel, (taps_h * taps_w * in_channels, -1))
    rows, cols = height + taps_h - 1, width + taps_w - 1  # the phase grid
    padded = keras.ops.pad(inputs, [[0, 0], [taps_h - 1, taps_h - 1], [taps_w - 1, taps_w - 1], [0, 0]])
    starts = [(taps_h - 1 - a, taps_w - 1 - b) for a in range(taps_h) for b in range(taps_w)]  # pixel i - a, j - b
    patches = keras.ops.concatenate([padded[:, i:i + rows, j:j + cols] for i, j in starts], axis=-1)
    full = keras.ops.matmul(keras.ops.reshape(patches, (-1, taps_h * taps_w * in_channels)), kernel)
    full = keras.ops.reshape(full, (-1, rows, cols, stride_h, stride_w, out_channels))
    full = keras.ops.reshape(keras.ops.transpose(full, (0, 1, 3, 2, 4, 5)),
                             (-1, rows * stride_h, cols * stride_w, out_channels))
    (top, out_rows), (left, out_cols) = (_transpose_crop(n, k, s, padding) for n, k, s in
                                         ((height, kernel_h, stride_h), (width, kernel_w, stride_w)))
    return full[:, top:top + out_rows, left:left + out_cols, :]


def _transpose_crop(size, kernel, stride, padding):
    """(first index, length) of a transposed convolution's output in its uncropped rows or columns."""
    overhang = max(kernel - stride, 0)
    if padding == "same":
        return overhang // 2, size * stride
    return 0, size * stride + overhang


def input_gradients(fn, inputs):
    """Returns the gradient of `sum(fn(inputs))` with respect to `inputs`.

    The gradient stays differentiable with respect to the model's variables,
    so a penalty on its norm (WGAN-GP, R1) can be minimised inside
    `minimize`. `inputs` is treated as a constant point of evaluation: no
    gradient flows back into whatever computed it.

    Args:
        fn: Callable mapping a batch to a tensor (e.g. discriminator logits).
            It should not update state (call layers with `training=False`);
            on JAX any such update is discarded.
        inputs: The batch at which to take the gradient.

    Returns:
        A tensor shaped like `inputs`.
    """
    inputs = keras.ops.convert_to_tensor(inputs)
    if _BACKEND == "tensorflow":
        inputs = tf.stop_gradient(inputs)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = fn(inputs)
        return tape.gradient(outputs, inputs)
    if _BACKEND == "torch":
        inputs = inputs.detach().requires_grad_(True)
        (grads,) = torch.autograd.grad(fn(inputs).sum(), inputs, create_graph=True)
        return grads
    if _BACKEND == "jax":
        # Inside a train step, read the step's traced state and discard updates.
        mapping = None
        if _JAX_SCOPES:
            scope, all_variables = _JAX_SCOPES[-1]
            mapping = [(v, scope.get_current_value(v)) for v in all_variables]

        def summed(x):
            if mapping is None:
                return jax.numpy.sum(fn(x))
            with keras.StatelessScope(state_mapping=mapping):
                return jax.numpy.sum(fn(x))

        return jax.grad(summed)(jax.lax.stop_gradient(inputs))
    raise NotImplementedError(f"Unsupported backend {_BACKEND!r}.")


def stateless_train_step(step_fn):
    """Adapts `train_step(self, data) -> logs` to the backend's trainer.

    On TensorFlow and PyTorch the step is returned unchanged. On JAX the
    returned function has the signature `(self, state, data)` Keras' JAX
    trainer calls, and returns `(logs, new_state)`.

    Args:
        step_fn: A model method that updates the model in place through
            `minimize` and `Variable.assign`, and returns a dict of logs.

    Returns:
        The train step to install as `keras.Model.train_step`.
    """
    if _BACKEND != "jax":
        return step_fn

    @functools.wraps(step_fn)
    def jax_train_step(self, state, data):
        groups = _state_groups(self)
        mapping = []
        for group, values in zip(groups, state):
            mapping.extend(zip(group, values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            _JAX_SCOPES.append((scope, [v for group in groups for v in group]))
            try:
                logs = step_fn(self, data)
            finally:
                _JAX_SCOPES.pop()
        new_state = tuple(
            [scope.get_current_value(v) for v in group] for group in groups
        )
        return logs, new_state

    return jax_train_step


# The stack of (outer stateless scope, all model variables) of JAX steps in flight.
_JAX_SCOPES = []


def _state_groups(model):
    # The order of Keras' JAX trainer state: see JAXTrainer._get_jax_state.
    return (
        model.trainable_variables,
        model.non_trainable_variables,
        model.optimizer.variables,
        model.metrics_variables,
    )


def _current_jax_scope():
    if not _JAX_SCOPES:
        raise RuntimeError(
            "ganzoo's gradient helpers on JAX must run inside a train step decorated "
            "with ganzoo.training.step.stateless_train_step."
        )
    return _JAX_SCOPES[-1]


def _jax_pure(fn, variables):
    """`fn(*args) -> (value, aux)` as a pure function of `variables`' values.

    Returns `(pure, assigned)`: `pure(values, *args)` returns
    `(value, (aux, updates))`, where `updates` are the new values of the
    other variables `fn` assigned (batch-norm statistics, seed-generator
    state, spectral-normalization vectors), and `assigned` (filled while
    tracing) lists those variables. Every variable but `variables` keeps its
    current value in the step. Layers must not assign the variables being
    differentiated (ganzoo's SpectralNormalization does not).
    """
    outer, all_variables = _current_jax_scope()
    differentiated = {id(v) for v in variables}
    others = [v for v in all_variables if id(v) not in differentiated]
    other_values = [outer.get_current_value(v) for v in others]
    assigned = []

    def pure(values, *args):
        mapping = list(zip(variables, values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping) as inner:
            before_call = [inner.get_current_value(v) for v in others]
            _JAX_SCOPES.append((inner, all_variables))
            try:
                value, aux = fn(*args)
            finally:
                _JAX_SCOPES.pop()
        assigned.clear()
        updates = []
        for v, before in zip(others, before_call):
            after = inner.get_current_value(v)
            if after is not before:
                assigned.append(v)
                updates.append(after)
        return value, (aux, updates)

    return pure, assigned


def _jax_minimize(loss_fn, variables, optimizer):
    outer, _ = _current_jax_scope()
    pure, assigned = _jax_pure(loss_fn, variables)
    values = [outer.get_current_value(v) for v in variables]
    (loss, (aux, updates)), grads = jax.value_and_grad(pure, has_aux=True)(values)
    for variable, value in zip(assigned, updates):
        variable.assign(value)
    optimizer.apply(grads, variables)
    return loss, aux
