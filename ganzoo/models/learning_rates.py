"""Keeps the discriminator's and generator's learning rates in their ratio.

A GAN compiled with two rates (two time-scale updates, e.g. D at 4e-4 and G
at 1e-4) has one Keras `optimizer` holding both. Keras' learning-rate
callbacks walk its optimizers: `ReduceLROnPlateau` multiplies each rate (the
ratio survives, unless `min_lr` clips one), but a `LearningRateScheduler`
whose schedule returns an absolute rate gives both networks the same rate,
and the two time scales silently become one.

`KeepRateRatio`, which `GAN.fit` adds after the user's callbacks, records
D/G at the start of training and restores it after every epoch boundary:
when the generator's rate was changed and the ratio no longer holds, the
discriminator's rate becomes the generator's times the ratio (so a schedule
of absolute rates schedules the generator's rate, even when it sets the rate
G already has). A change of the discriminator's rate alone, to a rate other
than G's, is taken as a new ratio. Optimizers driven by a
`LearningRateSchedule` object are left alone (their rate cannot be set).

`linear_decay` is the pix2pix/CycleGAN schedule (constant, then linearly to
zero over the last epochs) for `keras.callbacks.LearningRateScheduler`; it
schedules the generator's rate and `KeepRateRatio` keeps D's in proportion,
so it serves every family (`train.decay_epochs` in a config).
"""

from __future__ import annotations

import math

import keras

__all__ = ["KeepRateRatio", "linear_decay"]


def linear_decay(learning_rate, epochs, decay_epochs):
    """An epoch schedule: `learning_rate`, then linearly towards zero over the last `decay_epochs`.

    Epoch `e` (0-based) of `epochs` trains at
    ``learning_rate * min(1, (epochs - e) / (decay_epochs + 1))``: the last
    epoch at ``learning_rate / (decay_epochs + 1)``, as in the pix2pix and
    CycleGAN code (100 constant epochs, then 100 decaying). It depends on
    the epoch index alone, so a resumed run follows the unbroken run's rates.
    Pass it to `keras.callbacks.LearningRateScheduler`.
    """
    if not 0 <= decay_epochs <= epochs:
        raise ValueError(f"decay_epochs must be between 0 and epochs ({epochs}), got {decay_epochs}.")

    def schedule(epoch, lr=None):  # pylint: disable=unused-argument
        return learning_rate * min(1.0, (epochs - epoch) / (decay_epochs + 1))

    return schedule


def _rate(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def _scheduled(optimizer):
    return isinstance(getattr(optimizer, "_learning_rate", None),
                      keras.optimizers.schedules.LearningRateSchedule)


class KeepRateRatio(keras.callbacks.Callback):
    """Restores the D/G learning-rate ratio after other callbacks change the rates."""

    def __init__(self):
        super().__init__()
        self.ratio = self._last = None

    def _optimizers(self):
        model = self.model
        if not getattr(model, "compiled", False) or not hasattr(model, "d_optimizer"):
            return None
        d, g = model.d_optimizer, model.g_optimizer
        return None if _scheduled(d) or _scheduled(g) else (d, g)

    def on_train_begin(self, logs=None):
        optimizers = self._optimizers()
        if optimizers is None or _rate(optimizers[1]) == 0:
            self.ratio = None
            return
        d, g = optimizers
        self.ratio = _rate(d) / _rate(g)
        self._last = (_rate(d), _rate(g))

    def _restore(self):
        if self.ratio is None:
            return
        d, g = self._optimizers()
        d_rate, g_rate = _rate(d), _rate(g)
        if (d_rate, g_rate) == self._last:
            return
        if g_rate == self._last[1] and g_rate > 0 and not math.isclose(d_rate, g_rate, rel_tol=1e-6):
            self.ratio = d_rate / g_rate  # D's rate alone changed, to one of its own: a deliberate new ratio
        elif not math.isclose(d_rate, g_rate * self.ratio, rel_tol=1e-6):
            d.learning_rate = g_rate * self.ratio
        self._last = (_rate(d), g_rate)

    def on_epoch_begin(self, epoch, logs=None):
        self._restore()

    def on_epoch_end(self, epoch, logs=None):
        self._restore()
