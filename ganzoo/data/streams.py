"""`epoch_stream`: the endless, resumable stream of training batches that `ganzoo train` reads.

With TensorFlow installed the stream is a ``tf.data.Dataset``. Without it (a
JAX or torch installation, e.g. a GPU machine with CUDA builds of those two
only), in-memory datasets are served by `NumpyEpochStream`, a
``keras.utils.PyDataset`` that Keras' JAX and torch trainers read directly.
Both are seeded and resumable, but they draw different permutations, so a
run is resumed with the kind of stream it started with.

An unpaired dataset (`ganzoo.data.unpaired`) streams ``(a, b)`` batches whose
A and B follow two permutations per data epoch, A's keyed by
``(seed, epoch)`` and B's by ``(seed + B_SEED_OFFSET, epoch)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ganzoo import data
from ganzoo.data import folder, unpaired
from ganzoo.data.errors import DatasetError

if TYPE_CHECKING:
    import tensorflow as tf


def _source(name: str, with_labels: bool, limit: int | None, seed: int, options: dict):
    """``(examples, labels, to_unit)``: what a batch gathers from, and how it is scaled to [-1, 1].

    Examples are a float32 array, a uint8 array (folders held in memory) or
    the file paths of a folder that is streamed; ``to_unit`` maps a gathered
    batch to float32.
    """
    if unpaired.handler(name) or not folder.is_folder(name) or options.get("scale") is not None:  # arrays
        x, y = data.load_arrays(name, "train", with_labels, limit, seed=seed, **options)
        return x, y, lambda batch: batch
    data.info(name, **options)  # checks the options and the folder
    opts = folder.options(**options)
    to_unit = data._scale  # pylint: disable=protected-access
    if folder.fits_in_memory(len(folder.check(name, with_labels=with_labels)[1][:limit]), opts):
        x, y = data.folder_uint8_arrays(name, "train", with_labels, limit, **options)
        return x, y, to_unit
    found = folder.index(name, with_labels=with_labels, opts=opts)
    files = found.files[:limit]
    folder.check_files(files)  # a corrupt file is named now, not half-way through an epoch
    labels = found.labels[:limit] if with_labels else None
    return np.array(files), labels, lambda paths: to_unit(folder.decode(paths, opts))


def tensorflow_available() -> bool:
    """Whether TensorFlow can be imported (it is not a dependency of JAX- or torch-only installs)."""
    try:
        import tensorflow  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return False
    return True


def _numpy_stream_class():
    import keras  # pylint: disable=import-outside-toplevel

    class NumpyEpochStream(keras.utils.PyDataset):
        """Batch ``i`` of an epoch stream, by index, from NumPy arrays (no TensorFlow).

        Data epoch ``k`` visits the examples in ``numpy.random.Generator(
        Philox(key=[seed, k])).permutation(n)``; batch ``i`` of the stream is
        batch ``start_batch + i`` of the endless sequence of epochs. With
        ``apart`` (an unpaired dataset's ``(a, b)``), ``y`` follows its own
        permutation, keyed by ``[seed + B_SEED_OFFSET, k]``.
        """

        def __init__(self, x, y, *, batch_size, seed, start_batch, per_epoch, apart=False):
            super().__init__()
            self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
            self.start_batch, self.per_epoch, self.apart = start_batch, per_epoch, apart
            self._orders = {}

        def __len__(self):
            return 2**31 - 1 - self.start_batch  # endless in practice; fit's steps_per_epoch ends epochs

        def permutation(self, epoch, key=None):
            """The example order of data epoch `epoch` for `key` (default `seed`; cached for the current epoch)."""
            key = self.seed if key is None else key
            if self._orders.get(key, (None,))[0] != epoch:
                rng = np.random.Generator(np.random.Philox(key=[key, epoch]))
                self._orders[key] = (epoch, rng.permutation(len(self.x)))
            return self._orders[key][1]

        def __getitem__(self, i):
            epoch, offset = divmod(self.start_batch + int(i), self.per_epoch)
            batch = slice(offset * self.batch_size, (offset + 1) * self.batch_size)
            chosen = self.permutation(epoch)[batch]
            if self.apart:
                return self.x[chosen], self.y[self.permutation(epoch, self.seed + unpaired.B_SEED_OFFSET)[batch]]
            return (self.x[chosen], self.y[chosen]) if self.y is not None else self.x[chosen]

    return NumpyEpochStream


def _numpy_stream(name, *, batch_size, seed, with_labels, limit, start_batch, options):
    if unpaired.reads_with_tensorflow(name):
        kind = "'tfds:' datasets" if name.startswith(data.TFDS_PREFIX) else "'folder:' datasets"
        kind = kind if not unpaired.is_unpaired(name) else f"unpaired datasets with a TFDS or folder side ({name!r})"
        raise DatasetError(
            f"{kind} are read with TensorFlow, which is not installed; install it with "
            "`pip install tensorflow-cpu` (or `pip install ganzoo[tensorflow]`), or train on a built-in dataset"
        )
    x, y = data.load_arrays(name, "train", with_labels, limit, seed=seed, **options)
    per_epoch = _per_epoch(name, len(x), batch_size)
    stream = _numpy_stream_class()(x, y, batch_size=batch_size, seed=int(seed), start_batch=start_batch,
                                   per_epoch=per_epoch, apart=unpaired.is_unpaired(name))
    return stream, per_epoch


def _per_epoch(name, count, batch_size):
    if count < batch_size:
        raise DatasetError(
            f"dataset {name!r} has {count} examples, fewer than batch_size={batch_size}; "
            "lower batch_size or raise limit"
        )
    return count // batch_size


def epoch_stream(
    name: str,
    *,
    batch_size: int = 64,
    seed: int = 0,
    with_labels: bool = False,
    limit: int | None = None,
    start_batch: int = 0,
    **options,
) -> tuple[tf.data.Dataset, int]:
    """An endless, resumable stream of training batches.

    Data epoch ``k`` visits the examples in a permutation that depends only
    on ``(seed, k)`` (a stateless shuffle of the examples' fixed order), and
    the stream can start at any batch. So a run resumed at batch
    ``start_batch`` sees exactly the batches an uninterrupted run would have
    seen from there on. Each data epoch has ``len(x) // batch_size`` full
    batches (the remainder is dropped). A ``folder:`` dataset too big to hold
    in memory is decoded batch by batch in the same order. An unpaired
    dataset yields ``(a, b)``, A and B in two independent permutations per
    data epoch (B's keyed by ``seed + B_SEED_OFFSET``), as resumable.

    ``tfds:`` names get `load` repeated, whose order restarts on resume.
    Without TensorFlow the stream is a `NumpyEpochStream` (built-in datasets
    only), with the same guarantees.

    Args:
        name: A name from `available`, ``"tfds:<name>"`` or ``"folder:PATH"``,
            or a class filter or unpaired dataset.
        batch_size: Examples per batch.
        seed: Shuffle seed; also the generation seed of ``ring8``/``grid25``.
        with_labels: Yield ``(x, label_int32)`` instead of ``x`` (a paired
            dataset always yields ``(inputs, targets)``, an unpaired one ``(a, b)``).
        limit: Keep only the first ``limit`` examples.
        start_batch: Batches of the stream to skip (0 starts at data epoch 0).
        **options: Folder options (see `ganzoo.data.info`).

    Returns:
        ``(dataset, batches_per_epoch)``.

    Raises:
        DatasetError: As `load`, and for a negative ``start_batch``.
    """
    data._check_int(batch_size, "batch_size", 1)  # pylint: disable=protected-access
    data._check_int(start_batch, "start_batch", 0)  # pylint: disable=protected-access
    if not tensorflow_available():
        return _numpy_stream(name, batch_size=batch_size, seed=seed, with_labels=with_labels, limit=limit,
                             start_batch=start_batch, options=options)
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    if data._is_tfds(name):  # pylint: disable=protected-access
        ds = data.load(name, batch_size=batch_size, seed=seed, with_labels=with_labels, limit=limit, **options)
        per_epoch = int(ds.cardinality())
        if per_epoch < 0:  # unknown: count the batches once
            per_epoch = int(ds.reduce(0, lambda count, _: count + 1))
        return ds.repeat(), per_epoch
    x, y, to_unit = _source(name, with_labels, limit, seed, options)
    per_epoch = _per_epoch(name, len(x), batch_size)
    x = tf.constant(x)
    y = None if y is None else tf.constant(y)  # labels, a paired dataset's targets or an unpaired one's B
    count, used = len(x), per_epoch * batch_size
    keys = [int(seed)] + ([int(seed) + unpaired.B_SEED_OFFSET] if unpaired.is_unpaired(name) else [])

    def epoch_batches(epoch):
        orders = tuple(tf.reshape(tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int32), seed=tf.stack([tf.constant(key, tf.int64), epoch]))[:used],
            (per_epoch, batch_size)) for key in keys)
        return tf.data.Dataset.from_tensor_slices(orders if len(orders) > 1 else orders[0])

    def gather(indices, b_indices=None):
        images = to_unit(tf.gather(x, indices))
        if b_indices is not None:  # unpaired: B in its own order
            return images, to_unit(tf.gather(y, b_indices))
        return images if y is None else (images, tf.gather(y, indices))

    first_epoch, offset = divmod(start_batch, per_epoch)
    ds = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch_batches).skip(offset)
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE), per_epoch
