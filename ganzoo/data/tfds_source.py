"""TensorFlow Datasets access for ``tfds:<name>`` datasets.

``tensorflow_datasets`` is imported lazily inside the functions because the
import takes about a second. Nothing is downloaded unless the environment
variable ``GANZOO_TFDS_DOWNLOAD=1`` is set; otherwise the data must already be
prepared in the TFDS data dir (``tfds build <name>`` or ``TFDS_DATA_DIR``).

TFDS's CycleGAN datasets (``cycle_gan/<config>``, e.g. ``horse2zebra``) have
images of varying size in four splits, ``trainA``, ``trainB``, ``testA`` and
``testB``: `any_size_images` reads them and `ganzoo.data.unpaired` sizes them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING
import difflib
import math
import os

import numpy as np

from ganzoo.data.errors import DatasetError

if TYPE_CHECKING:
    import tensorflow as tf

ENV_DOWNLOAD = "GANZOO_TFDS_DOWNLOAD"
CYCLE_GAN = "cycle_gan"
_ARRAY_BATCH = 1024


@dataclasses.dataclass(frozen=True)
class TfdsMeta:
    """What ganzoo needs to know about a TFDS builder.

    Attributes:
        name: The TFDS name (without the ``tfds:`` prefix).
        image_key: Feature key of the uint8 image.
        shape: Image shape, HWC.
        num_classes: Number of classes of the ``label`` feature, or None when
            the builder has no ``label`` class feature.
        num_examples: Examples per split, or None when TFDS does not know them
            (e.g. the data is not prepared).
        class_names: The ``label`` feature's class names in label order, or
            None without a ``label`` class feature.
    """

    name: str
    image_key: str
    shape: tuple[int, ...]
    num_classes: int | None
    num_examples: dict[str, int] | None
    class_names: tuple[str, ...] | None = None


def _tfds():
    try:
        import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    except ImportError as error:
        raise DatasetError(
            f"'tfds:' datasets need tensorflow-datasets, which failed to import ({error}); "
            "install it with `pip install tensorflow-datasets`"
        ) from error
    return tfds


def _builder(name: str):
    tfds = _tfds()
    try:
        return tfds.builder(name)
    except tfds.core.registered.DatasetNotFoundError as error:
        known = tfds.list_builders(with_community_datasets=False)
        close = difflib.get_close_matches(name.split("/")[0], known, n=1)
        hint = f"did you mean 'tfds:{close[0]}'? " if close else ""
        raise DatasetError(
            f"unknown TFDS dataset {name!r} (given as 'tfds:{name}'); {hint}expected a "
            "name from tensorflow_datasets.list_builders(), e.g. 'tfds:mnist'"
        ) from error
    except ValueError as error:
        raise DatasetError(
            f"TFDS rejected dataset 'tfds:{name}': {error}; check the name, config "
            "and version (format 'tfds:name/config:version')"
        ) from error


def describe(name: str) -> TfdsMeta:
    """Reads a TFDS builder's metadata without touching its data.

    Args:
        name: The TFDS name, e.g. ``"mnist"``.

    Returns:
        The builder's `TfdsMeta`.

    Raises:
        DatasetError: If the name is unknown, or the builder has no fixed-size
            uint8 image feature.
    """
    tfds = _tfds()
    info = _builder(name).info
    features = info.features
    key = _image_key(name, features)
    feature = features[key]
    shape = tuple(feature.shape)
    if any(d is None for d in shape) or np.dtype(feature.np_dtype) != np.uint8:
        raise DatasetError(
            f"TFDS dataset 'tfds:{name}' has {np.dtype(feature.np_dtype)} images of shape "
            f"{shape}, expected fixed-size uint8 images; pick a dataset with fixed image "
            "size (e.g. 'tfds:cifar10')"
        )
    label = features["label"] if "label" in features else None
    labelled = isinstance(label, tfds.features.ClassLabel)
    return TfdsMeta(
        name=name,
        image_key=key,
        shape=shape,
        num_classes=label.num_classes if labelled else None,
        num_examples=_split_counts(info),
        class_names=tuple(label.names) if labelled and label.names else None,
    )


def _image_key(name: str, features) -> str:
    """The key of a builder's image feature (``image`` when there are several)."""
    images = [k for k, f in features.items() if isinstance(f, _tfds().features.Image)]
    if not images:
        raise DatasetError(
            f"TFDS dataset 'tfds:{name}' has no image feature (features: "
            f"{sorted(features.keys())}); ganzoo needs an image dataset such as 'tfds:mnist'"
        )
    return "image" if "image" in images else images[0]


def _split_counts(info) -> dict[str, int] | None:
    counts = {str(s): int(v.num_examples) for s, v in info.splits.items()}
    return counts if counts and all(counts.values()) else None


def is_cycle_gan(name: str) -> bool:
    """Whether a TFDS name (without ``tfds:``) is one of TFDS's CycleGAN datasets, ``cycle_gan[/<config>]``."""
    return name.strip().split("/")[0].split(":")[0].strip() == CYCLE_GAN


def split_sizes(name: str) -> dict[str, int] | None:
    """Examples per split from a builder's metadata (no data read), or None when TFDS does not know them.

    Raises:
        DatasetError: If the name is unknown.
    """
    return _split_counts(_builder(name).info)


def any_size_images(name: str, split: str, limit: int | None = None) -> list[np.ndarray]:
    """The uint8 images (H, W, C) of a split, in file order, whatever their sizes.

    For builders whose images vary in size (``cycle_gan``), which `describe`
    refuses; the caller sizes them.

    Raises:
        DatasetError: As `element_dataset`, and for a builder without images.
    """
    features = _builder(name).info.features
    key = _image_key(name, features)
    meta = TfdsMeta(name, key, tuple(features[key].shape), None, None)
    return list(element_dataset(meta, split, False, limit).as_numpy_iterator())


def is_known(name: str) -> bool:
    """Tells whether TFDS has a builder of this name (used for suggestions).

    Args:
        name: A candidate TFDS name.

    Returns:
        True when tensorflow-datasets is importable and registers ``name``.
    """
    try:
        return name in _tfds().list_builders(with_community_datasets=False)
    except DatasetError:
        return False


def is_prepared(name: str) -> bool:
    """Tells whether a TFDS dataset is already prepared locally.

    Args:
        name: The TFDS name.

    Returns:
        True when its data is in the TFDS data dir; False when it is not, or
        when tensorflow-datasets is unavailable.
    """
    try:
        return bool(_builder(name).is_prepared())
    except (DatasetError, OSError):
        return False


def element_dataset(
    meta: TfdsMeta, split: str, with_labels: bool, limit: int | None
) -> tf.data.Dataset:
    """Builds the unbatched dataset of uint8 images (and int32 labels).

    Args:
        meta: From `describe`.
        split: Any TFDS split expression, e.g. ``"train"`` or ``"test[:10%]"``.
        with_labels: Whether to yield ``(image, label)`` tuples.
        limit: Keep only the first ``limit`` examples (file order), or None.

    Returns:
        A ``tf.data.Dataset`` of uint8 images or ``(image, int32 label)``.

    Raises:
        DatasetError: If the data is not prepared or the split is invalid.
    """
    tfds = _tfds()
    download = os.environ.get(ENV_DOWNLOAD, "").strip().lower() in {"1", "true", "yes", "on"}
    try:
        ds = tfds.load(
            meta.name, split=split, download=download, as_supervised=False, shuffle_files=False
        )
    except AssertionError as error:
        # TFDS signals "data not prepared and download=False" with an assert.
        raise DatasetError(
            f"TFDS dataset 'tfds:{meta.name}' has no prepared data ({error}); prepare it "
            f"with `tfds build {meta.name}` or set {ENV_DOWNLOAD}=1 to let ganzoo download it"
        ) from error
    except (ValueError, KeyError) as error:
        raise DatasetError(
            f"cannot load split {split!r} of TFDS dataset 'tfds:{meta.name}' ({error}); "
            "expected a TFDS split such as 'train', 'test' or 'train[:10%]'"
        ) from error
    import tensorflow as tf

    key = meta.image_key
    if with_labels:
        pick = lambda ex: (ex[key], tf.cast(ex["label"], tf.int32))  # noqa: E731
    else:
        pick = lambda ex: ex[key]  # noqa: E731
    ds = ds.map(pick, num_parallel_calls=tf.data.AUTOTUNE)
    return ds if limit is None else ds.take(limit)


def uint8_arrays(
    meta: TfdsMeta, split: str, with_labels: bool, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Loads a TFDS split fully into numpy.

    Args:
        meta: From `describe`; with_labels requires ``meta.num_classes``.
        split: TFDS split expression.
        with_labels: Whether to return labels.
        limit: Keep only the first ``limit`` examples, or None.

    Returns:
        ``(images, labels)``: uint8 (N, H, W, C) and int32 (N,) or None.

    Raises:
        DatasetError: As `element_dataset`.
    """
    ds = element_dataset(meta, split, with_labels, limit).batch(_ARRAY_BATCH)
    chunks = list(ds.as_numpy_iterator())
    if not chunks:
        empty = np.zeros((0, *meta.shape), np.uint8)
        return empty, (np.zeros((0,), np.int32) if with_labels else None)
    if with_labels:
        return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])
    return np.concatenate(chunks), None


def shuffle_buffer(meta: TfdsMeta, count: int, max_bytes: int) -> int:
    """Chooses a shuffle buffer: the whole split when it fits in ``max_bytes``.

    Args:
        meta: From `describe`.
        count: Number of examples, or a negative value when unknown.
        max_bytes: Memory budget for the buffer of uint8 images.

    Returns:
        The buffer size in examples (at least 1).
    """
    fits = max(1, max_bytes // max(1, math.prod(meta.shape)))
    return fits if count < 0 else max(1, min(count, fits))
