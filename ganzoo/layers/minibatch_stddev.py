"""Minibatch standard deviation (Karras et al., 2018, "Progressive Growing of GANs").

A discriminator that sees one sample at a time cannot tell that a generator
emits the same sample over and over. This layer gives it a batch statistic: the
average standard deviation of its features within small groups of samples. A
collapsed generator yields groups with a near-zero statistic, which the
discriminator learns to reject.
"""

import keras
from keras import ops

# Keeps sqrt (and its gradient) finite when every sample of a group is the same.
_EPSILON = 1e-8


@keras.saving.register_keras_serializable(package="ganzoo")
class MinibatchStdDev(keras.layers.Layer):
    """Appends the within-group feature standard deviation as one extra feature.

    The batch is split into consecutive groups of `group` samples (samples
    `[g * group, (g + 1) * group)` form group `g`), where `group` is
    `min(group_size, batch_size)`. For every group the layer computes the
    standard deviation of each feature over the group's samples, averages it
    over all features to one scalar, and appends that scalar to every sample
    of the group: as one extra channel filled with it for NHWC feature maps,
    as one extra feature for rank-2 inputs. Any rank >= 2 with channels last
    works the same way.

    The batch size must be a multiple of `group` (always true when it is
    smaller than `group_size`). With a static batch size a mismatch raises a
    `ValueError`; with an unknown one (a TensorFlow graph traced for any
    batch) the reshape fails when the batch arrives.

    Args:
        group_size: Samples per group; 4 as in the paper.
        **kwargs: Base `keras.layers.Layer` arguments (name, dtype, ...).

    Example:

    ```python
    x = keras.Input((4, 4, 64))
    y = MinibatchStdDev(group_size=4)(x)  # (None, 4, 4, 65)
    ```
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(group_size, int) or isinstance(group_size, bool) or group_size < 1:
            raise ValueError(
                f"MinibatchStdDev needs an integer group_size >= 1, got {group_size!r}; "
                "pass e.g. group_size=4."
            )
        self.group_size = group_size

    def call(self, inputs):
        features = tuple(inputs.shape[1:])
        groups = ops.reshape(inputs, (-1, self._group(inputs)) + features)
        deviations = groups - ops.mean(groups, axis=1, keepdims=True)
        stddev = ops.sqrt(ops.mean(ops.square(deviations), axis=1, keepdims=True) + _EPSILON)
        statistic = ops.mean(stddev, axis=tuple(range(2, len(features) + 2)), keepdims=True)
        # Broadcasting against a zero map tiles the statistic without a dynamic shape.
        feature_map = ops.zeros_like(groups[..., :1]) + statistic
        feature_map = ops.reshape(feature_map, (-1,) + features[:-1] + (1,))
        return ops.concatenate([inputs, feature_map], axis=-1)

    def _group(self, inputs):
        """Returns the group size for this batch: an int, or a tensor if the batch is unknown."""
        batch_size = inputs.shape[0]
        if batch_size is None:
            return ops.minimum(self.group_size, ops.shape(inputs)[0])
        group = min(self.group_size, batch_size)
        if batch_size % group:
            raise ValueError(
                f"MinibatchStdDev(group_size={self.group_size}) got a batch of {batch_size}, "
                f"not a multiple of {group}; use a batch size that is a multiple of group_size."
            )
        return group

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"MinibatchStdDev needs inputs of shape (batch, ..., channels) with known "
                f"channels, got {tuple(input_shape)}; flatten or reshape the input first."
            )
        return tuple(input_shape[:-1]) + (input_shape[-1] + 1,)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}
