"""Spectral normalization (Miyato et al., 2018) that trains on every Keras backend.

`keras.layers.SpectralNormalization` (Keras 3.15) writes the normalized kernel
back into the wrapped layer's kernel on each training call. A GAN calls its
discriminator twice in one loss (real, fake), so on PyTorch the second call
overwrites, in place, a tensor the first call saved for backward, and autograd
fails ("modified by an inplace operation"). This subclass keeps the kernel as
the raw weight `W` and runs the wrapped layer with `W / sigma(W)` substituted
through `stateless_call`: the paper's reparametrization, with no write but the
power-iteration vector `u`, the same on every backend.
"""

import keras
from keras import ops

# Lower bound of sigma: an all-zero kernel stays zero instead of becoming NaN.
_EPSILON = 1e-12


@keras.saving.register_keras_serializable(package="ganzoo")
class SpectralNormalization(keras.layers.SpectralNormalization):
    """Divides a layer's kernel by its largest singular value on every call.

    `sigma(W)` is estimated as `||W u||` with `u` the running right singular
    vector estimate: in training, `power_iterations` steps of power iteration
    refine `u` (stored in `vector_u`) before use; in inference the stored `u`
    is used as is. Gradients flow through `W / sigma(W)` with `u` held
    constant, as in the paper. The stored kernel is the unnormalized `W`.

    Args:
        layer: A layer with a `kernel` (Dense, Conv2D, ...) or `embeddings`.
        power_iterations: Power-iteration steps per training call.
        **kwargs: Base layer arguments (name, ...).

    Example:

    ```python
    dense = SpectralNormalization(keras.layers.Dense(1))
    ```
    """

    def call(self, inputs, training=False):
        weights = ops.reshape(self.kernel.value, (-1, self.kernel_shape[-1]))
        # Unit length even before the first training call (u starts as small noise).
        vector_u = ops.normalize(self.vector_u.value)
        if training:
            frozen = ops.stop_gradient(weights)
            for _ in range(self.power_iterations):
                vector_v = ops.normalize(ops.matmul(vector_u, ops.transpose(frozen)))
                vector_u = ops.normalize(ops.matmul(vector_v, frozen))
            self.vector_u.assign(vector_u)
        # sigma = v^T W u with v = W u / ||W u||, i.e. ||W u||; its gradient is v u^T.
        sigma = ops.norm(ops.matmul(weights, ops.transpose(vector_u)))
        kernel = ops.reshape(weights / ops.maximum(sigma, _EPSILON), self.kernel_shape)

        def substitute(variables):
            return [kernel if v is self.kernel else v.value for v in variables]

        outputs, _ = self.layer.stateless_call(
            substitute(self.layer.trainable_variables),
            substitute(self.layer.non_trainable_variables),
            inputs,
        )
        return ops.cast(outputs, inputs.dtype)


def spectral_normalized(layer, enabled=True):
    """Returns `layer` wrapped in `SpectralNormalization` if `enabled`.

    Lets a network builder write `spectral_normalized(layers.Dense(1), spectral_norm)`
    once instead of branching at every layer.

    Args:
        layer: A layer with a `kernel` (Dense, Conv2D, ...) or `embeddings`.
        enabled: Whether to wrap it; False returns `layer` itself.

    Returns:
        The wrapped layer or `layer`.
    """
    return SpectralNormalization(layer) if enabled else layer
