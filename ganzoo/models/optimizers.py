"""A GAN's two optimizers as the one optimizer Keras' trainers thread through a step.

`GAN.compile` takes a discriminator and a generator optimizer;
`keras.optimizers.MultiOptimizer` over them becomes `model.optimizer`, so the
JAX trainer carries both states and `fit`'s callbacks see one optimizer. The
compile config keeps the two apart, so a saved GAN reloads with each one.
"""

import keras


class _SelectByOwner:
    """Picks the discriminator's optimizer for its variables, the generator's otherwise.

    Selection is by variable identity, not by path, so layer names never matter.
    `values()` fixes the order of `MultiOptimizer.optimizers`: (d, g).
    """

    def __init__(self, d_optimizer, g_optimizer, d_variables):
        self._optimizers = (d_optimizer, g_optimizer)
        self._d_ids = {id(v) for v in d_variables}

    def values(self):
        return self._optimizers

    def __call__(self, variable):
        return self._optimizers[0 if id(variable) in self._d_ids else 1]


def combine(d_optimizer, g_optimizer, d_variables):
    """One `MultiOptimizer` updating `d_variables` with `d_optimizer` and the rest with `g_optimizer`.

    Each optimizer may be an instance, a name or a config; two distinct objects are needed, so each
    network keeps its own state.
    """
    d_optimizer = keras.optimizers.get(d_optimizer)
    g_optimizer = keras.optimizers.get(g_optimizer)
    if d_optimizer is g_optimizer:
        raise ValueError(
            "d_optimizer and g_optimizer are the same object; pass two "
            "optimizer instances so each network keeps its own state."
        )
    return keras.optimizers.MultiOptimizer(_SelectByOwner(d_optimizer, g_optimizer, d_variables))


def compile_config(model, compile_kwargs):
    """`GAN.get_compile_config`: both optimizers (with their current settings), the loss and the options."""
    return {
        "d_optimizer": keras.saving.serialize_keras_object(model.d_optimizer),
        "g_optimizer": keras.saving.serialize_keras_object(model.g_optimizer),
        **compile_kwargs,
    }


def from_compile_config(config):
    """The keyword arguments of `GAN.compile` that `compile_config` describes."""
    config = dict(config)
    for key in ("d_optimizer", "g_optimizer"):
        config[key] = keras.saving.deserialize_keras_object(config[key])
    return config
