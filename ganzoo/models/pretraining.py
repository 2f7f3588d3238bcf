"""Discriminator pre-training: `d_pretrain_steps` discriminator-only updates before a GAN's first `fit`."""

import logging

import keras
from keras import ops

logger = logging.getLogger(__name__)


def pretrain_discriminator(gan, x, *, batch_size=None, shuffle=True):
    """Runs `gan.d_pretrain_steps` discriminator-only steps on the first batches of `x`.

    Only once: when the discriminator has never been updated (its optimizer
    has made no step). The GAN's step reads `gan._pretraining` while tracing,
    so the train function is rebuilt before and after.
    """
    if not gan.d_pretrain_steps or int(ops.convert_to_numpy(gan.d_optimizer.iterations)) != 0:
        return
    logger.info("Pre-training the discriminator for %d steps.", gan.d_pretrain_steps)
    _retrace(gan, pretraining=True)
    try:
        keras.Model.fit(gan, x, epochs=1, steps_per_epoch=gan.d_pretrain_steps, batch_size=batch_size,
                        shuffle=shuffle, verbose=0)
    finally:
        _retrace(gan, pretraining=False)


def _retrace(gan, *, pretraining):
    gan._pretraining = pretraining  # pylint: disable=protected-access
    gan.train_function = None
