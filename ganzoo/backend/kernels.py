"""Training kernels: convolution, transposed convolution and batch norm, per backend and device.

`conv`, `conv_transpose` and `batch_norm` compute what Keras' ops compute, with
the same values and gradients, in the form each backend trained fastest on a
CPU (`benchmarks/train_step.py`): torch's ops on the channels-last view, XLA
products of shifted slices (`ganzoo.backend.matmul`), TensorFlow's fused batch
norm and phase-laid-out transposed convolution (`ganzoo.backend.tf_kernels`).

Those forms were measured on CPUs only, so they are used only when the
computation runs on a CPU; on a GPU or TPU every call is Keras' op (cuDNN,
XLA GPU). One switch turns every custom form off on every device, for
debugging and for comparing numerics: ``GANZOO_KERNELS=keras`` in the
environment, or `set_kernel_mode("keras")` / ``with keras_kernels():`` in
Python. The choice is made when a function is traced: change it before `fit`
(or before the first call of a compiled function), not during.
"""

import contextlib
import functools

import keras

from ganzoo.backend import environment
from ganzoo.backend.matmul import conv_as_matmul, conv_padding, conv_transpose_as_matmul, transpose_crop

_BACKEND = keras.backend.backend()

if _BACKEND == "tensorflow":
    import tensorflow as tf

    from ganzoo.backend import tf_kernels
elif _BACKEND == "torch":
    import torch
elif _BACKEND == "jax":
    import jax

_mode = None  # set_kernel_mode's choice; None: the environment's


def kernel_mode():
    """The kernel mode in force: "auto" (ganzoo's forms on a CPU, Keras' ops elsewhere) or "keras".

    Raises:
        ValueError: if ``GANZOO_KERNELS`` holds anything else.
    """
    return _mode if _mode is not None else environment.kernel_mode()


def set_kernel_mode(mode):
    """Sets the kernel mode for this process ("auto" or "keras"; None: back to the environment's).

    Returns:
        The mode in force before.
    """
    global _mode  # pylint: disable=global-statement
    if mode is not None and mode not in environment.KERNEL_MODES:
        raise ValueError(f"kernel mode {mode!r} is not one of {environment.KERNEL_MODES}.")
    previous = kernel_mode()
    _mode = mode
    return previous


@contextlib.contextmanager
def keras_kernels():
    """Within the block, every kernel is Keras' op (mode "keras")."""
    global _mode  # pylint: disable=global-statement
    saved = _mode
    _mode = "keras"
    try:
        yield
    finally:
        _mode = saved


def computes_on_cpu(inputs):
    """Whether an op on `inputs` runs on a CPU: the tensor's device on PyTorch, the default device elsewhere."""
    if _BACKEND == "torch":
        return keras.ops.convert_to_tensor(inputs).device.type == "cpu"
    return _default_device_is_cpu()


@functools.cache
def _default_device_is_cpu():
    if _BACKEND == "jax":
        return jax.default_backend() == "cpu"
    if _BACKEND == "tensorflow":  # TensorFlow places ops on an accelerator whenever it sees one
        return not (tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
    return True


def uses_custom_kernels(inputs):
    """Whether ganzoo's CPU-tuned forms compute ops on `inputs`: mode "auto" and a CPU."""
    return kernel_mode() == "auto" and computes_on_cpu(inputs)


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
    process). Under XLA (`jit_compile=True`), on JAX, off a CPU and in mode
    "keras", it is Keras' `ops.moments` and `ops.batch_normalization`, which
    XLA fuses: there the fused kernel made the TensorFlow step 0.88x as fast.
    """
    if uses_custom_kernels(inputs):
        if _BACKEND == "torch":
            return _torch_batch_norm(inputs, gamma, beta, epsilon)
        if _BACKEND == "tensorflow" and len(inputs.shape) in (2, 4) and not tf_kernels.xla_compiling():
            return tf_kernels.batch_norm(tf.convert_to_tensor(inputs), gamma, beta, epsilon)
    mean, variance = keras.ops.moments(inputs, list(range(len(inputs.shape) - 1)))
    outputs = keras.ops.batch_normalization(inputs, mean, variance, axis=-1, offset=beta, scale=gamma,
                                            epsilon=epsilon)
    return outputs, mean, variance


def conv(inputs, kernel, *, strides, padding):
    """`keras.ops.conv` (2-D, channels-last, no dilation or groups) for training.

    Same values and gradients on every backend. On a CPU, on PyTorch the
    channels-last input is handed to torch as its NCHW view, which is torch's
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
    most `tf_kernels.FEW_CHANNELS` channels keeps TensorFlow's op forward with
    matmul gradients (`tf_kernels.conv_to_few_channels`). Any other, and every
    one off a CPU or in mode "keras", runs Keras' op.
    """
    if uses_custom_kernels(inputs):
        if _BACKEND == "torch":
            return _torch_conv(inputs, kernel, strides, padding)
        if _BACKEND == "jax" and tuple(strides) == (1, 1) and kernel.shape[-1] <= 16:
            return conv_as_matmul(inputs, kernel, padding=padding)
        if (_BACKEND == "tensorflow" and tuple(strides) == (1, 1) and kernel.shape[-1] <= tf_kernels.FEW_CHANNELS
                and None not in inputs.shape[1:]):
            return tf_kernels.conv_to_few_channels(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel),
                                                   padding)
    return keras.ops.conv(inputs, kernel, strides=strides, padding=padding)


def conv_transpose(inputs, kernel, *, strides, padding):
    """`keras.ops.conv_transpose` (channels-last, no dilation or output padding) for training.

    Same values and gradients on every backend. On a CPU, on JAX it is
    computed by `conv_transpose_as_matmul`, whose gradients JAX derives as
    matrix products: its own derivation of the kernel gradient of
    `ops.conv_transpose` is a convolution over a stride-dilated input that XLA
    on a CPU runs about 10x slower (0.7-0.8 s per DCGAN layer at batch 128,
    measured by `benchmarks/train_step.py`). On PyTorch it runs torch's op on
    the channels-last view (see `conv`) with the crop as torch's own padding
    where it is symmetric. On TensorFlow a "same" one with equal strides of at
    least 2, no larger than the kernel, is `tf_kernels.conv_transpose` (forward
    as one stride-1 convolution with the kernel laid out by output phase,
    TensorFlow's own gradients). Any other, and every one off a CPU or in mode
    "keras", runs Keras' op.
    """
    if uses_custom_kernels(inputs):
        if _BACKEND == "jax":
            return conv_transpose_as_matmul(inputs, kernel, strides=strides, padding=padding)
        if _BACKEND == "torch":
            return _torch_conv_transpose(inputs, kernel, strides, padding)
        if (_BACKEND == "tensorflow" and padding == "same" and 2 <= strides[0] == strides[1] <= min(kernel.shape[:2])
                and None not in inputs.shape[1:]):  # the formulation needs the spatial sizes
            return tf_kernels.conv_transpose(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel),
                                             tuple(strides))
    return keras.ops.conv_transpose(inputs, kernel, strides=strides, padding=padding)


def _torch_conv(inputs, kernel, strides, padding):
    functional = torch.nn.functional
    x = keras.ops.convert_to_tensor(inputs).permute(0, 3, 1, 2)  # channels_last memory format
    w = keras.ops.convert_to_tensor(kernel).permute(3, 2, 0, 1)  # (out, in, kh, kw)
    (top, bottom), (left, right) = conv_padding(x.shape[2:], w.shape[2:], strides, padding)
    if top != bottom or left != right:
        x, top, left = functional.pad(x, (left, right, top, bottom)), 0, 0
    return functional.conv2d(x, w, stride=tuple(strides), padding=(top, left)).permute(0, 2, 3, 1)


def _torch_conv_transpose(inputs, kernel, strides, padding):
    functional = torch.nn.functional
    x = keras.ops.convert_to_tensor(inputs).permute(0, 3, 1, 2)  # channels_last memory format
    w = keras.ops.convert_to_tensor(kernel).permute(3, 2, 0, 1)  # (in, out, kh, kw)
    crops = []  # (before, after) to cut from torch's unpadded output; negative: zeros to add
    for size, k, s in zip(x.shape[2:], w.shape[2:], strides):
        first, length = transpose_crop(size, k, s, padding)
        crops.append((first, (size - 1) * s + k - first - length))
    (top, bottom), (left, right) = crops
    if top == bottom >= 0 and left == right >= 0:
        outputs = functional.conv_transpose2d(x, w, stride=tuple(strides), padding=(top, left))
    else:
        outputs = functional.pad(functional.conv_transpose2d(x, w, stride=tuple(strides)),
                                 (-left, -right, -top, -bottom))
    return outputs.permute(0, 2, 3, 1)


def _torch_batch_norm(inputs, gamma, beta, epsilon):
    x = keras.ops.convert_to_tensor(inputs)
    to_channels_first = (0, x.ndim - 1, *range(1, x.ndim - 1))
    outputs, mean, inverse_std = torch.native_batch_norm(
        x.permute(to_channels_first), gamma, beta, None, None, True, 0.0, epsilon)
    variance = inverse_std.detach() ** -2 - epsilon
    return outputs.permute(0, *range(2, x.ndim), 1), mean.detach(), variance
