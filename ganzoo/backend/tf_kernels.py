"""TensorFlow's forms of the training kernels (see `ganzoo.backend.kernels`).

Each keeps TensorFlow's own op forward where it can, so an exported
generator holds the ops TFLite converts, and changes what TensorFlow ran
slowly on a CPU: batch norm as one fused kernel, the gradients of a
convolution to few channels as products, a strided transposed convolution
as one stride-1 convolution of output phases. Static shapes only (see
`conv_transpose`): a shape read at run time broke bit-exact resume.
"""

import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops  # pylint: disable=no-name-in-module
from tensorflow.python.ops import control_flow_util  # pylint: disable=no-name-in-module

from ganzoo.backend.matmul import conv_padding, phase_kernel, transpose_crop


def xla_compiling():
    """Whether TensorFlow is tracing a function for XLA (`jit_compile=True`) at this point."""
    return control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph())


def batch_norm(inputs, gamma, beta, epsilon):
    """`kernels.batch_norm` on TensorFlow: one `FusedBatchNormV3` forward, its fused gradient backward."""
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


FEW_CHANNELS = 8  # forward + both gradients, 128x28x28x32 -> 3x3: 16 channels were slower than Keras' op


def conv_to_few_channels(inputs, kernel, padding):
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
    gradient uses static shapes only (see `conv_transpose`).
    """
    _, height, width, in_channels = inputs.shape
    kernel_h, kernel_w, _, out_channels = kernel.shape
    (top, _), (left, _) = conv_padding((height, width), (kernel_h, kernel_w), (1, 1), padding)

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


def conv_transpose(inputs, kernel, strides):
    """A "same" transposed convolution on TensorFlow, forward as one stride-1 convolution.

    TensorFlow's transposed convolution (`Conv2DBackpropInput`) ran at about
    half the speed of its forward convolution on the DCGAN's layers (30 against
    62 GFLOP/s, batch 128, 2 CPU cores). The product of `conv_transpose_as_matmul`
    is a stride-1 "valid" convolution of the padded input with the kernel laid
    out by output phase (`phase_kernel`, taps reversed), and `depth_to_space`
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
    here and in `conv_to_few_channels`.
    """
    _, height, width, _ = inputs.shape
    kernel_h, kernel_w, _, _ = kernel.shape
    (top, rows), (left, cols) = (transpose_crop(n, k, s, "same") for n, k, s in
                                 ((height, kernel_h, strides[0]), (width, kernel_w, strides[1])))

    @tf.custom_gradient
    def transpose(x, w):
        phases = tf.reverse(phase_kernel(w, strides), [0, 1])
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
