"""`PixelShuffle`: sub-pixel upsampling (Shi et al., 2016) through `keras.ops.depth_to_space`."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ganzoo")
class PixelShuffle(keras.layers.Layer):
    """Rearranges `(N, H, W, C * r * r)` into `(N, H * r, W * r, C)` (channels last).

    After a convolution to `C * r * r` channels, it upsamples by `r` with
    learned sub-pixel filters instead of interpolation (SRResNet, ESRGAN).
    Exports to TFLite as one DEPTH_TO_SPACE op.

    Args:
        block_size: The upsampling factor r (>= 2).
    """

    def __init__(self, block_size, **kwargs):
        super().__init__(**kwargs)
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 2:
            raise ValueError(f"`block_size` must be an integer >= 2, got {block_size!r}.")
        self.block_size = block_size

    def call(self, inputs):
        return ops.depth_to_space(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        n, height, width, channels = input_shape
        grow = lambda side: None if side is None else side * self.block_size  # noqa: E731
        return (n, grow(height), grow(width), channels // self.block_size**2)

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}
