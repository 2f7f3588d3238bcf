"""`Conv2D` and `Conv2DTranspose`: Keras' layers computed the way each backend trains them fastest."""

import keras
from keras import ops

from ganzoo.backend import kernels


def _check_supported(layer, requirement, setting, supported):
    """Raises the one-line ValueError for a configuration the layer leaves to Keras' own."""
    if layer.data_format != "channels_last" or layer.dilation_rate != (1, 1) or not supported:
        name = type(layer).__name__
        raise ValueError(
            f"ganzoo.layers.{name} supports channels_last, dilation_rate=1 and {requirement}; got "
            f"data_format={layer.data_format!r}, dilation_rate={layer.dilation_rate}, {setting}. "
            f"Use keras.layers.{name} for those."
        )


@keras.saving.register_keras_serializable(package="ganzoo")
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` computed through `ganzoo.backend.kernels.conv`.

    The same arguments, weights, config and outputs as the Keras layer
    (channels-last, no dilation, one group). On PyTorch the convolution runs
    on torch's channels-last view of the input instead of a copy in NCHW; on
    JAX a stride-1 convolution to at most 16 channels is a matmul and a sum
    of shifted slices (`ganzoo.backend.matmul.conv_as_matmul`); both train faster
    (`benchmarks/train_step.py`). Otherwise it is the Keras layer.

    Raises:
        ValueError: for `data_format="channels_first"`, a dilation rate other
            than 1 or `groups` > 1: use the Keras layer for those.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        _check_supported(self, "groups=1", f"groups={self.groups}", self.groups == 1)

    def convolution_op(self, inputs, kernel):
        return kernels.conv(inputs, kernel, strides=self.strides, padding=self.padding)


@keras.saving.register_keras_serializable(package="ganzoo")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` computed through `ganzoo.backend.kernels.conv_transpose`.

    The same arguments, weights, config and outputs as the Keras layer
    (channels-last, no dilation, no output padding). On JAX it is computed as
    one matrix product of input patches (`ganzoo.backend.matmul.conv_transpose_as_matmul`),
    whose gradients XLA runs several times faster on a CPU than those of
    Keras' op; on PyTorch torch's op runs on the channels-last view of the
    input (`benchmarks/train_step.py`); on TensorFlow a "same" one with equal
    strides of 2 up to the kernel size runs forward as one stride-1
    convolution with the kernel laid out by output phase
    (`ganzoo.backend.tf_kernels.conv_transpose`), any other is the Keras layer.

    Raises:
        ValueError: for `data_format="channels_first"`, a dilation rate other
            than 1 or an `output_padding`: use the Keras layer for those.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        _check_supported(self, "no output_padding", f"output_padding={self.output_padding}", not self.output_padding)

    def call(self, inputs):
        outputs = kernels.conv_transpose(inputs, self.kernel, strides=self.strides, padding=self.padding)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return self.activation(outputs) if self.activation is not None else outputs
