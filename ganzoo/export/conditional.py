"""Generators with a second, integer input, as the export sees them.

Two kinds of ganzoo generator take `[z, integer]`:

* a conditional generator (`ganzoo.models.conditional`) takes the class label;
  its export's second input is ``labels``;
* a MAD-GAN mixture of K generators (`ganzoo.models.mixture`) draws sample i
  from generator i mod K by batch position. That cannot be exported as it is
  (a sample would depend on its batch position), so the export takes
  `mixture.indexed_generator`, the same weights behind `[z, generator]`: its
  second input ``generator`` says which of the K generators draws each
  sample (docs/export.md says why this and not K outputs).

Both export as one signature, ``serve(z, labels)`` or ``serve(z, generator)``
(z float32 ``[batch, latent_dim]``, the second input int32 ``[batch]``), so
one conversion, one parity gate and one runtime (`ganzoo.runtime`) serve
both. The parity latents' labels cycle through the values (0, 1, ..., C - 1,
0, ...), as ``GAN.generate`` and ``TFLiteGenerator.generate`` do by default.
"""

from ganzoo import labels as labels_lib
from ganzoo.export.errors import ExportError
from ganzoo.models import mixture, sampling

__all__ = ["LABELS_INPUT", "cycled_labels", "exportable", "keras_samples"]

LABELS_INPUT = "labels"


def exportable(generator):
    """The Keras model to export for `generator` and its condition.

    Args:
        generator: A generator `keras.Model` (a GAN's `sampling_generator`).

    Returns:
        `(model, condition)`: `condition` is None for a single-input
        generator, else `{"name", "dtype": "int32", "shape": [None],
        "num_values", "meaning"}` describing the second input; `model` is
        `generator` itself, or `mixture.indexed_generator(generator)` for a
        mixture.

    Raises:
        ExportError: for a two-input generator that is neither conditional
            nor a mixture.
    """
    count = mixture.count_generators(generator)
    if count is not None:
        return mixture.indexed_generator(generator), _condition(
            mixture.GENERATOR_INPUT, count, "which generator of the mixture draws the sample"
        )
    try:
        classes = sampling.num_classes(generator)
    except ValueError as e:
        raise ExportError(str(e)) from None
    if classes is None:
        return generator, None
    return generator, _condition(LABELS_INPUT, classes, "class label")


def _condition(name, count, meaning):
    return {"name": name, "dtype": "int32", "shape": [None], "num_values": int(count),
            "meaning": meaning}


def cycled_labels(n, condition):
    """The labels of `n` parity or sample latents: None, or cycling through the values."""
    return None if condition is None else labels_lib.cycled(n, condition["num_values"])


def keras_samples(generator, n, *, seed=0):
    """`n` samples of the Keras model an export of `generator` is made from, with their labels.

    The latents (seed `seed`) and the labels (cycled) are those
    `TFLiteGenerator.generate(n, seed=seed)` draws, so the two compare
    sample by sample.

    Returns:
        `(samples, labels)`; labels is None for a single-input generator.
    """
    model, condition = exportable(generator)
    latents = sampling.latents(n, int(model.inputs[0].shape[-1]), seed=seed)
    labels = cycled_labels(n, condition)
    return sampling.run(model, latents, labels), labels
