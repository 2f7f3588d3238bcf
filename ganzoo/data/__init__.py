"""Datasets as ``tf.data.Dataset`` pipelines, images scaled to [-1, 1].

Built-in datasets (see `available`):

* ``digits``: scikit-learn's bundled 8x8 digits (1 797 images, values 0..16
  mapped linearly to [-1, 1]), shape (8, 8, 1), 10 classes. It has no official
  split, so ganzoo fixes one: ``numpy.random.RandomState(0).permutation(1797)``
  (stable across NumPy versions); its first 1 500 indices are ``train``, the
  remaining 297 are ``test``; ``all`` is every image in the original order.
* ``fashion_mnist``: the four Fashion-MNIST IDX files, shape (28, 28, 1),
  10 classes, ``train`` 60 000 / ``test`` 10 000. Where the files are looked
  for (``GANZOO_DATA``, the Debian package, the Keras cache, TFDS) and the
  ``GANZOO_DATA_ONLY=1`` switch for hermetic tests are documented in
  `ganzoo.data.idx`. ``fashion_mnist_32``: the same zero-padded to (32, 32, 1)
  (two background pixels, -1, on every side). Loaders: `ganzoo.data.builtin`.
* ``ring8`` and ``grid25``: 2-D Gaussian mixtures generated from ``seed``
  (kind ``"points"``, NOT rescaled to [-1, 1]; labels are mode indices);
  ``train`` 100 000 points, ``test`` 10 000. See `ganzoo.data.mixtures`.
* ``tfds:<name>``: any TensorFlow Datasets builder with a fixed-size uint8
  image feature, e.g. ``tfds:mnist`` (never downloaded unless
  ``GANZOO_TFDS_DOWNLOAD=1``; see `ganzoo.data.tfds_source`).
* ``folder:PATH``: a folder of the user's PNG, JPEG, BMP or GIF images,
  labels from its sub-folders; options ``image_size``, ``channels`` and
  ``resize`` (see `ganzoo.data.folder`). One split, ``train``.
* ``NAME[label=K]``: one class, e.g. ``fashion_mnist[label=7]`` (`ganzoo.data.filtered`); ``A|B``,
  ``unpaired:PATH``, ``tfds:cycle_gan/<config>``: two unpaired image sets (`ganzoo.data.unpaired`).

Built-in datasets are held in memory as numpy arrays, so the whole split is
the shuffle buffer. ``tfds:`` datasets are streamed, cached in memory as uint8
and shuffled with a buffer of the whole split when it fits in 1 GiB. Folders
are decoded once and held in memory as uint8 up to 2 GiB, and streamed beyond.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import TYPE_CHECKING, Callable

import numpy as np

from ganzoo.data import builtin, folder, mixtures, paired_folder, pairs, tfds_source
from ganzoo.data.described import DatasetInfo

if TYPE_CHECKING:
    import tensorflow as tf
from ganzoo.data.errors import DatasetError
from ganzoo.data.mixtures import mode_centers, mode_std

__all__ = [
    "DatasetError",
    "DatasetInfo",
    "FOLDER_PREFIX",
    "TFDS_PREFIX",
    "available",
    "epoch_stream",
    "info",
    "load",
    "load_arrays",
    "mode_centers",
    "mode_std",
]

TFDS_PREFIX = "tfds:"
FOLDER_PREFIX = folder.PREFIX
_TFDS_SHUFFLE_BYTES = 1 << 30


# Each loader maps (split, seed) to float32 x and int32 labels for the split.
_Loader = Callable[[str, int], tuple[np.ndarray, np.ndarray]]


def _mixture(name: str) -> _Loader:
    return lambda split, seed: mixtures.sample(name, split, seed)


_REGISTRY: dict[str, tuple[DatasetInfo, _Loader]] = {
    "digits": (
        DatasetInfo("digits", (8, 8, 1), 10, {"train": builtin.DIGITS_TRAIN_SIZE,
                                              "test": builtin.DIGITS_COUNT - builtin.DIGITS_TRAIN_SIZE,
                                              "all": builtin.DIGITS_COUNT}, "image"),
        builtin.digits,
    ),
    "fashion_mnist": (
        DatasetInfo("fashion_mnist", (28, 28, 1), 10, {"train": 60_000, "test": 10_000}, "image"),
        builtin.fashion_mnist,
    ),
    "fashion_mnist_32": (
        DatasetInfo("fashion_mnist_32", (32, 32, 1), 10, {"train": 60_000, "test": 10_000}, "image"),
        builtin.fashion_mnist_32,
    ),
    **{
        name: (
            DatasetInfo(name, (2,), len(mode_centers(name)), dict(mixtures.SPLIT_SIZES), "points"),
            _mixture(name),
        )
        for name in mixtures.names()
    },
    **{  # (inputs, targets) pairs: the loader's second array is the targets
        name: (DatasetInfo(name, target, None, dict(splits), "pairs", input_shape=source),
               lambda split, seed, load=load: load(split)[:2])
        for name, (source, target, splits, load) in pairs.PAIRED.items()
    },
}


def available() -> list[str]:
    """Lists the built-in dataset names.

    Returns:
        Sorted names; any ``"tfds:<name>"`` and ``"folder:PATH"`` is accepted
        in addition.
    """
    return sorted(_REGISTRY)


def _unknown(name: object) -> DatasetError:
    close = difflib.get_close_matches(str(name), available(), n=1)
    if not close and isinstance(name, str) and tfds_source.is_known(name):
        close = [TFDS_PREFIX + name]
    hint = f"did you mean {close[0]!r}? " if close else ""
    return DatasetError(
        f"unknown dataset {name!r}; {hint}expected one of {', '.join(available())} "
        f", '{TFDS_PREFIX}<name>' for a TensorFlow Datasets builder, '{FOLDER_PREFIX}PATH' for a folder "
        f"of images, '{paired_folder.PREFIX}PATH' for a folder of image pairs, 'NAME[label=K]' for one class, "
        "or 'A|B', 'unpaired:PATH' or 'tfds:cycle_gan/<config>' for two unpaired image sets")


def _is_tfds(name: object) -> bool:  # a plain 'tfds:' dataset: a class filter or CycleGAN set is served from arrays
    return isinstance(name, str) and name.startswith(TFDS_PREFIX) and unpaired.handler(name) is None


def _tfds_meta(name: str) -> tuple[DatasetInfo, tfds_source.TfdsMeta]:
    tfds_name = name[len(TFDS_PREFIX):].strip()
    if not tfds_name:
        raise DatasetError(
            f"dataset {name!r} names no TFDS builder; expected "
            f"'{TFDS_PREFIX}<name>', e.g. 'tfds:mnist'"
        )
    meta = tfds_source.describe(tfds_name)
    return DatasetInfo(name, meta.shape, meta.num_classes, meta.num_examples, "image"), meta


def _options(name: str, options: dict) -> folder.Options | None:
    """The checked options of a ``folder:`` or ``pairs:`` dataset (None for the others, which take none)."""
    unknown = sorted(set(options) - {"image_size", "channels", "resize", "direction", "scale"})
    if unknown:
        raise DatasetError(f"unknown dataset option {unknown[0]!r}; expected image_size, channels, resize, "
                           "direction or scale")
    if unpaired.handler(name):  # class filters and unpaired sets check their own
        return unpaired.options(name, options)
    if options.get("scale") is not None and not folder.is_folder(name):
        raise DatasetError(f"scale applies to '{FOLDER_PREFIX}PATH' datasets only, not to {name!r}; remove it")
    direction = options.get("direction")
    if direction is not None and not paired_folder.is_paired_folder(name):
        raise DatasetError(f"direction applies to '{paired_folder.PREFIX}PATH' datasets only, not to {name!r}; "
                           "remove it")
    if direction is not None and direction not in paired_folder.DIRECTIONS:
        raise DatasetError(f"direction={direction!r} is invalid; expected one of {', '.join(paired_folder.DIRECTIONS)}")
    if folder.is_folder(name) or paired_folder.is_paired_folder(name):
        return folder.options(**{k: v for k, v in options.items() if k not in ("direction", "scale")})
    given = sorted(k for k, v in options.items() if v is not None)
    if given:
        raise DatasetError(
            f"{given[0]} applies to '{FOLDER_PREFIX}PATH' datasets only, not to {name!r}; remove it"
        )
    return None


def info(name: str, **options) -> DatasetInfo:
    """Describes a dataset without loading its data.

    Args:
        name: A name from `available`, ``"tfds:<name>"`` or ``"folder:PATH"``.
        **options: For ``folder:`` only: ``image_size`` (height, width),
            ``channels`` (1 or 3), ``resize`` ("crop" or "stretch").

    Returns:
        The dataset's `DatasetInfo`.

    Raises:
        DatasetError: If the name is unknown, or a folder is missing, empty or
            has no images.
    """
    opts = _options(name, options)
    if unpaired.handler(name):
        return unpaired.handler(name).info(name, **options)
    if paired_folder.is_paired_folder(name):
        inputs, targets = paired_folder.shapes(opts)
        return DatasetInfo(name, targets, None, paired_folder.split_sizes(name), "pairs", input_shape=inputs)
    if opts is not None and options.get("scale") is not None:  # super-resolution pairs from a folder
        scale = paired_folder.check_scale(options["scale"], opts.image_size)
        target = (*opts.image_size, opts.channels)
        return DatasetInfo(name, target, None, {"train": folder.describe(name)[0]}, "pairs",
                           input_shape=(target[0] // scale, target[1] // scale, target[2]))
    if opts is not None:
        count, classes = folder.describe(name)
        return DatasetInfo(name, (*opts.image_size, opts.channels), len(classes) if classes else None,
                           {"train": count}, "image", classes)
    if _is_tfds(name):
        return _tfds_meta(name)[0]
    if not isinstance(name, str) or name not in _REGISTRY:
        raise _unknown(name)
    described = _REGISTRY[name][0]
    # A copy, so callers cannot edit the registry's split counts in place.
    return dataclasses.replace(described, num_examples=dict(described.num_examples or {}))


def _check_int(value: object, what: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise DatasetError(f"{what}={value!r} is invalid; expected an integer >= {minimum}")


def _check_request(name: str, with_labels: bool, limit: int | None, seed: int, options: dict) -> None:
    if limit is not None:
        _check_int(limit, "limit", 1)
    _check_int(seed, "seed", 0)
    described = info(name, **options)
    if folder.is_folder(name) and not unpaired.handler(name):
        folder.check(name, with_labels=with_labels)  # the folder's own words for missing labels
    if with_labels and described.kind == "unpaired":
        raise unpaired.with_labels_error(name)
    if with_labels and described.kind == "pairs":
        raise DatasetError(f"dataset {name!r} yields (inputs, targets) image pairs; with_labels does not apply "
                           "(ganzoo.data.pairs.load_pair_arrays gives the classes); drop with_labels")
    if with_labels and not described.has_labels:
        raise DatasetError(
            f"dataset {name!r} has no labels, but with_labels=True was given; "
            "call with with_labels=False"
        )


def load_arrays(
    name: str,
    split: str = "train",
    with_labels: bool = False,
    limit: int | None = None,
    *,
    seed: int = 0,
    **options,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Loads a dataset split as numpy arrays (unshuffled, in split order).

    Args:
        name: A name from `available` or ``"tfds:<name>"``.
        split: Split name (see `info`); ``tfds:`` accepts any TFDS split
            expression.
        with_labels: Whether to return labels.
        limit: Keep only the first ``limit`` examples, or None for all.
        seed: Generation seed for ``ring8``/``grid25``; ignored otherwise.
        **options: Folder options, as `info`.

    Returns:
        ``(x, y)``: float32 images NHWC in [-1, 1] (or points (N, 2)), and
        int32 labels (N,) when ``with_labels`` else None; for a paired
        dataset, ``(inputs, targets)``; unpaired, ``(a, b)`` (`ganzoo.data.unpaired`).

    Raises:
        DatasetError: For an unknown name or split, missing/corrupt files,
            invalid ``limit``/``seed``, or labels asked of a label-free set.
    """
    _check_request(name, with_labels, limit, seed, options)
    if unpaired.handler(name):
        return unpaired.handler(name).load_arrays(name, split, limit, **options)
    if paired_folder.is_paired_folder(name):
        inputs, targets = paired_folder.load(name, split, limit=limit, **options)
        return builtin.uint8_to_unit(inputs), builtin.uint8_to_unit(targets)
    if folder.is_folder(name) and options.get("scale") is not None:
        if split != "train":
            raise DatasetError(f"dataset {name!r} has one split, 'train', not {split!r}; pass split='train'")
        targets = builtin.uint8_to_unit(paired_folder.super_resolution_targets(name, limit=limit, seed=seed, **options))
        return pairs.downsample(targets, options["scale"]), targets
    if folder.is_folder(name):
        images, labels = folder_uint8_arrays(name, split, with_labels, limit, **options)
        return builtin.uint8_to_unit(images), labels
    if _is_tfds(name):
        images, labels = tfds_source.uint8_arrays(_tfds_meta(name)[1], split, with_labels, limit)
        return builtin.uint8_to_unit(images), labels
    splits = _REGISTRY[name][0].num_examples or {}
    if split not in splits:
        raise DatasetError(
            f"dataset {name!r} has no split {split!r}; expected one of "
            f"{', '.join(map(repr, splits))}; pass one of those as split="
        )
    x, y = _REGISTRY[name][1](split, int(seed))
    end = None if limit is None else int(limit)
    return x[:end], (y[:end] if with_labels or _REGISTRY[name][0].kind == "pairs" else None)


def folder_uint8_arrays(name: str, split: str, with_labels: bool, limit: int | None, **options):
    """A folder's images as uint8 arrays (its only split is ``train``); see `folder.uint8_arrays`."""
    if split != "train":
        raise DatasetError(f"dataset {name!r} has one split, 'train', not {split!r}; pass split='train'")
    images, labels, _ = folder.uint8_arrays(name, with_labels=with_labels, opts=folder.options(**options),
                                            limit=limit)
    return images, labels


def _scale(images: tf.Tensor) -> tf.Tensor:
    import tensorflow as tf

    return tf.cast(images, tf.float32) / 127.5 - 1.0


def _tfds_elements(
    name: str, split: str, with_labels: bool, limit: int | None
) -> tuple[tf.data.Dataset, int, int]:
    meta = _tfds_meta(name)[1]
    ds = tfds_source.element_dataset(meta, split, with_labels, limit).cache()
    count = int(ds.cardinality())
    return ds, count, tfds_source.shuffle_buffer(meta, count, _TFDS_SHUFFLE_BYTES)


def load(
    name: str,
    *,
    split: str = "train",
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int = 0,
    with_labels: bool = False,
    drop_remainder: bool = True,
    limit: int | None = None,
    **options,
) -> tf.data.Dataset:
    """Builds a batched ``tf.data.Dataset`` for training or evaluation.

    The pipeline is: in-memory data (so caching is implicit) -> seeded
    shuffle -> batch -> prefetch. It works with ``keras.Model.fit`` on every
    Keras backend.

    Args:
        name: A name from `available` or ``"tfds:<name>"``.
        split: Split name (see `info`).
        batch_size: Examples per batch.
        shuffle: Whether to shuffle (reshuffled every epoch, deterministically
            from ``seed``).
        seed: Shuffle seed; also the generation seed of ``ring8``/``grid25``.
        with_labels: Yield ``(x, label_int32)`` instead of ``x``.
        drop_remainder: Drop the last partial batch so all batches have
            ``batch_size`` examples.
        limit: Keep only the first ``limit`` examples (handy for tiny tests).
        **options: Folder options, as `info`.

    Returns:
        A dataset of float32 batches: images (B, H, W, C) in [-1, 1] or points
        (B, 2), ``(x, labels)`` when ``with_labels``, ``(a, b)`` when unpaired.

    Raises:
        DatasetError: For any user-facing problem (unknown name or split,
            missing files, no labels, fewer examples than one batch, ...).
    """
    # TensorFlow loads only here: array users (load_arrays, mode centres) never pay for it.
    import tensorflow as tf

    _check_int(batch_size, "batch_size", 1)
    if _is_tfds(name):
        _check_request(name, with_labels, limit, seed, options)
        ds, count, buffer = _tfds_elements(name, split, with_labels, limit)
    else:
        x, y = load_arrays(name, split, with_labels, limit, seed=seed, **options)
        ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
        count = buffer = len(x)
    if drop_remainder and 0 <= count < batch_size:
        raise DatasetError(
            f"dataset {name!r} split {split!r} has {count} examples, fewer than "
            f"batch_size={batch_size} with drop_remainder=True, so no batch would be "
            "produced; lower batch_size, raise limit or pass drop_remainder=False"
        )
    if shuffle:  # an unpaired set's A and B in two independent orders
        ds = unpaired.shuffled(ds, buffer, seed) if unpaired.is_unpaired(name) else ds.shuffle(
            max(1, buffer), seed=int(seed), reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size), drop_remainder=drop_remainder)
    if _is_tfds(name):
        # Scaling whole batches is cheaper than per image and keeps the cache uint8.
        scale = (lambda x, y: (_scale(x), y)) if with_labels else _scale
        ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


from ganzoo.data import unpaired  # noqa: E402  (unpaired and filtered build on the loaders above)
from ganzoo.data.streams import epoch_stream  # noqa: E402  (streams builds on the loaders above)
