"""Convolutions as matrix products, in Keras ops, and the padding geometry they share.

These forms name no backend: each is a product of shifted views of the input
with the kernel laid out for it, so every backend differentiates it into
products too. `ganzoo.backend.kernels` picks them where they were measured
faster (XLA on a CPU); TensorFlow's forms in `ganzoo.backend.tf_kernels` use
the same geometry (`conv_padding`, `phase_kernel`, `transpose_crop`).
"""

import keras


def same_padding(size, kernel, stride):
    """(before, after) zero padding of Keras' (and TensorFlow's) "same" convolution along one axis."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv_padding(sizes, kernel_sizes, strides, padding):
    """[(before, after)] zero padding per spatial axis of a "valid" or "same" convolution."""
    if padding == "valid":
        return [(0, 0) for _ in sizes]
    return [same_padding(n, k, s) for n, k, s in zip(sizes, kernel_sizes, strides)]


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
    (top, bottom), (left, right) = conv_padding((height, width), (kernel_h, kernel_w), (1, 1), padding)
    taps = keras.ops.pad(taps, [[0, 0], [top, bottom], [left, right], [0, 0], [0, 0], [0, 0]])
    rows, cols = height + top + bottom - kernel_h + 1, width + left + right - kernel_w + 1
    outputs = None
    for a in range(kernel_h):
        for b in range(kernel_w):
            tap = taps[:, a:a + rows, b:b + cols, a, b]
            outputs = tap if outputs is None else outputs + tap
    return outputs


def phase_kernel(kernel, strides):
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
    kernel = phase_kernel(kernel, strides)
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
    (top, out_rows), (left, out_cols) = (transpose_crop(n, k, s, padding) for n, k, s in
                                         ((height, kernel_h, stride_h), (width, kernel_w, stride_w)))
    return full[:, top:top + out_rows, left:left + out_cols, :]


def transpose_crop(size, kernel, stride, padding):
    """(first index, length) of a transposed convolution's output in its uncropped rows or columns."""
    overhang = max(kernel - stride, 0)
    if padding == "same":
        return overhang // 2, size * stride
    return 0, size * stride + overhang
