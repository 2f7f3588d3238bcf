"""Packing (Lin et al., 2018, "PacGAN"): the discriminator judges m samples at once.

A discriminator that sees `m` samples of the same source (all real or all fake)
stacked together can notice that fake packs lack the variety of real ones, which
penalises mode collapse. Packing concatenates the `m` samples along the last
(channel or feature) axis, so the networks themselves need no change beyond
their input shape: `packed_shape` gives the discriminator's, `pack` maps a
batch to it.
"""

from keras import ops


def _check_pack_size(m):
    if not isinstance(m, int) or isinstance(m, bool) or m < 1:
        raise ValueError(
            f"pack needs an integer number of samples m >= 1, got {m!r}; pass e.g. m=2."
        )


def packed_shape(sample_shape, m):
    """Returns the shape of one pack of `m` samples of `sample_shape`.

    Args:
        sample_shape: Shape of one sample, `(height, width, channels)` or `(features,)`.
        m: Samples per pack.

    Returns:
        `sample_shape` with its last axis multiplied by `m`, e.g.
        `packed_shape((28, 28, 1), 4) == (28, 28, 4)`.
    """
    _check_pack_size(m)
    sample_shape = tuple(sample_shape)
    if not sample_shape:
        raise ValueError("packed_shape needs a sample shape with at least one axis, got ().")
    return sample_shape[:-1] + (sample_shape[-1] * m,)


def pack(samples, m):
    """Packs a batch into groups of `m` consecutive samples, stacked on the last axis.

    Pack `p` holds samples `p * m, ..., p * m + m - 1`; sample `i` of a pack
    fills channels (or features) `[i * C, (i + 1) * C)`. So a batch of shape
    `(B, H, W, C)` becomes `(B / m, H, W, m * C)` and `(B, D)` becomes
    `(B / m, m * D)`.

    Args:
        samples: A batch tensor of shape `(B, ..., C)`.
        m: Samples per pack; `m=1` returns `samples` unchanged.

    Returns:
        The packed batch, of shape `(B / m,) + packed_shape(samples.shape[1:], m)`.

    Raises:
        ValueError: if the batch size is known and not a multiple of `m`.
    """
    _check_pack_size(m)
    if m == 1:
        return samples
    features = tuple(samples.shape[1:])
    batch_size = samples.shape[0]
    if batch_size is not None and batch_size % m:
        raise ValueError(
            f"Cannot pack a batch of {batch_size} samples into packs of {m}; "
            f"use a batch size that is a multiple of pack={m}."
        )
    grouped = ops.reshape(samples, (-1, m) + features)
    # (B/m, m, ..., C) -> (B/m, ..., m, C): a pack's samples become adjacent channel blocks.
    grouped = ops.moveaxis(grouped, 1, -2)
    return ops.reshape(grouped, (-1,) + packed_shape(features, m))
