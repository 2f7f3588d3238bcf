"""The integer second input of a generator: class labels, or a MAD-GAN generator index.

NumPy only, so that `ganzoo.models.sampling` (Keras) and `ganzoo.runtime`
(neither Keras nor TensorFlow) check labels the same way.
"""

import numpy as np

__all__ = ["check_labels", "cycled"]


def cycled(n, count):
    """`n` labels cycling through `count` values: 0, 1, ..., count - 1, 0, ... (int32)."""
    return (np.arange(n) % count).astype(np.int32)


def check_labels(labels, n, count, *, counted="classes"):
    """Returns `labels` as an int32 array of shape `(n,)`, or raises a one-line ValueError.

    Args:
        labels: None (cycle through the values, see `cycled`), one integer
            (`n` samples of it), or one integer per sample.
        n: Number of samples.
        count: Number of values the generator takes (its classes, or the
            generators of a mixture); None for a generator without labels.
        counted: What the values are, for the messages ("classes",
            "generators").

    Raises:
        ValueError: for labels given to a generator without them, non-integer
            labels, a wrong number of labels, or a label outside [0, count).
    """
    if count is None:
        if labels is not None:
            raise ValueError("this generator is unconditional; drop `labels` (or --labels).")
        return None
    if labels is None:
        return cycled(n, count)
    array = np.asarray(labels)
    if array.ndim == 0:
        array = np.full((n,), array)
    if array.dtype.kind not in "iu" and not (
        array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array))
    ):
        raise ValueError(f"labels must be integers in [0, {count - 1}], got dtype {array.dtype}.")
    if array.shape != (n,):
        raise ValueError(
            f"got {array.size} labels for {n} samples; give one label per sample or a single label."
        )
    bad = array[(array < 0) | (array >= count)]
    if bad.size:
        raise ValueError(
            f"label {int(bad[0])} is out of range; this generator has {count} {counted}, "
            f"labels 0..{count - 1}."
        )
    return array.astype(np.int32)
