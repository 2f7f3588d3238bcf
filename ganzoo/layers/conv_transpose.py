"""`Conv2DTranspose`: Keras' layer with gradients that train fast on every backend."""

import keras
from keras import ops

from ganzoo.training import step


@keras.saving.register_keras_serializable(package="ganzoo")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` computed through `ganzoo.training.step.conv_transpose`.

    The same arguments, weights, config and outputs as the Keras layer
    (channels-last, no dilation, no output padding). On JAX it is computed as
    a matrix product and an overlap-add, whose gradients XLA runs several times
    faster on a CPU than those of Keras' op (`benchmarks/train_step.py`); on
    TensorFlow and PyTorch it is the Keras layer.

    Raises:
        ValueError: for `data_format="channels_first"`, a dilation rate other
            than 1 or an `output_padding`: use the Keras layer for those.
    """

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        if self.data_format != "channels_last" or self.dilation_rate != (1, 1) or self.output_padding:
            raise ValueError(
                "ganzoo.layers.Conv2DTranspose supports channels_last, dilation_rate=1 and no "
                f"output_padding; got data_format={self.data_format!r}, dilation_rate="
                f"{self.dilation_rate}, output_padding={self.output_padding}. Use "
                "keras.layers.Conv2DTranspose for those."
            )

    def call(self, inputs):
        outputs = step.conv_transpose(inputs, self.kernel, strides=self.strides, padding=self.padding)
        if self.use_bias:
            outputs = ops.add(outputs, self.bias)
        return self.activation(outputs) if self.activation is not None else outputs
