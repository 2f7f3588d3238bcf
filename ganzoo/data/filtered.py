"""``NAME[label=K]``: the images of one class of a labelled image dataset.

Any image dataset with labels takes a class filter: ``fashion_mnist[label=7]``,
``digits[label=3]``, ``tfds:mnist[label=1]``, ``folder:PATH[label=cats]``.
``K`` is a label number (0 to classes - 1) or a class name where the dataset
knows them: a ``folder:`` dataset's class sub-folders, a TFDS builder's label
names, and Fashion-MNIST's ten classes (`FASHION_MNIST_CLASSES`). An exact
class name wins over a label number (a folder's class ``7`` is its folder
``7``); otherwise names match ignoring case, spaces, underscores and
punctuation (``sneaker``, ``Ankle boot``, ``ankle_boot``; ``t-shirt`` and
``top`` both name ``T-shirt/top``).

A filtered dataset is an ordinary label-free image dataset (kind
``"image"``): the base's image shape and splits, each split holding the base
split's images of that class in their order (counting them loads the
labels). A folder's class is read as the folder of that class,
``folder:PATH/<class>``, so the other classes are never decoded.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re

import numpy as np

from ganzoo import data
from ganzoo.data import folder
from ganzoo.data.described import DatasetInfo
from ganzoo.data.errors import DatasetError

__all__ = ["FASHION_MNIST_CLASSES", "ClassFilter", "arrays", "class_names", "count", "info", "is_filtered", "load_arrays", "resolve"]

# Zalando's names for the labels 0..9 (github.com/zalandoresearch/fashion-mnist).
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")
_CLASS_NAMES = {"fashion_mnist": FASHION_MNIST_CLASSES}
PATH_PREFIXES = ("folder:", "pairs:", "unpaired:")
_EXAMPLE = "e.g. 'fashion_mnist[label=7]' or 'digits[label=3]'"
_BRACKETS = re.compile(r"^(?P<base>.*?)\s*\[(?P<inside>[^\[\]]*)\]\s*$", re.S)
_LABEL = re.compile(r"\s*label\s*=\s*(?P<value>\S(?:.*\S)?)\s*", re.S)


@dataclasses.dataclass(frozen=True)
class ClassFilter:
    """A resolved ``NAME[label=K]``.

    Attributes:
        name: The name as given.
        base: The filtered dataset's name, e.g. ``"fashion_mnist"``.
        label: The class kept, as a label number.
        base_info: The base's `DatasetInfo`.
    """

    name: str
    base: str
    label: int
    base_info: DatasetInfo

    @property
    def canonical(self) -> str:
        """``base[label=K]`` with K a number: equal for every spelling of the same class."""
        return f"{self.base}[label={self.label}]"


def is_literal_path(name: object) -> bool:
    """Whether a ``folder:``/``pairs:``/``unpaired:`` name is an existing path as written ('[' and '|' included)."""
    return (isinstance(name, str) and name.startswith(PATH_PREFIXES)
            and os.path.exists(os.path.expanduser(name.split(":", 1)[1].strip())))


def is_filtered(name: object) -> bool:
    """Whether a dataset name carries a class filter, well formed or not (``'|'`` names are unpaired)."""
    return (isinstance(name, str) and "|" not in name and not is_literal_path(name)
            and ("[" in name or name.rstrip().endswith("]")))


def _malformed(name: str) -> DatasetError:
    return DatasetError(f"dataset {name!r} has a malformed class filter; write NAME[label=K] with K a class number "
                        f"or name, {_EXAMPLE}")


def _split(name: str) -> tuple[str, str]:
    """``(base, K as written)`` of ``base[label=K]``."""
    found = _BRACKETS.match(name)
    label = found and _LABEL.fullmatch(found["inside"])
    if not label or not found["base"].strip():
        raise _malformed(name)
    base = found["base"].strip()
    if is_filtered(base):
        raise DatasetError(f"dataset {name!r} has more than one class filter; keep one [label=K]")
    return base, label["value"]


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def class_names(base: str, described: DatasetInfo) -> tuple[str, ...] | None:
    """The class names of the labelled dataset `base` (described by `described`), or None where it has none."""
    if described.class_names:
        return described.class_names
    if data._is_tfds(base):  # pylint: disable=protected-access
        return data._tfds_meta(base)[1].class_names  # pylint: disable=protected-access
    return _CLASS_NAMES.get(base)


def _label(name: str, base: str, value: str, classes: int, names: tuple[str, ...] | None) -> int:
    if names and value in names:
        return names.index(value)
    listed = f" or a class name: {', '.join(map(repr, names))}" if names else ""
    if re.fullmatch(r"[+-]?\d+", value):
        if 0 <= int(value) < classes:
            return int(value)
        raise DatasetError(f"{name!r} asks for label {int(value)}, but {base!r} has labels 0 to {classes - 1}; "
                           f"pick a label 0 to {classes - 1}{listed}")
    loose = [k for k, c in enumerate(names or ()) if _key(value) in {_key(c), *map(_key, c.split("/"))}]
    if _key(value) and loose:
        return loose[0]
    raise DatasetError(f"{name!r} asks for class {value!r}, which {base!r} does not have; expected a label 0 to "
                       f"{classes - 1}{listed}")


def resolve(name: str, **options) -> ClassFilter:
    """Parses ``NAME[label=K]`` and checks it against the base dataset.

    Args:
        name: The filtered dataset's name.
        **options: The base's options (a folder's image_size, channels, resize).

    Returns:
        The `ClassFilter`.

    Raises:
        DatasetError: For malformed brackets, a base that is not a labelled
            image dataset, or a label or class name the base does not have.
    """
    base, value = _split(name)
    described = data.info(base, **options)
    if described.kind != "image":
        raise DatasetError(f"class filters pick the images of one class, but {base!r} holds {described.kind}; "
                           f"filter a labelled image dataset, {_EXAMPLE}")
    if not described.has_labels:
        raise DatasetError(f"dataset {base!r} has no labels, so {name!r} cannot pick a class; filter a labelled "
                           f"dataset ({_EXAMPLE}, or a folder of class sub-folders) or drop [label=...]")
    label = _label(name, base, value, described.num_classes, class_names(base, described))
    return ClassFilter(name, base, label, described)


def _class_folder(chosen: ClassFilter) -> str:
    """``folder:PATH/<class>``: the images of one class of ``folder:PATH``."""
    return folder.PREFIX + os.path.join(folder.root(chosen.base), chosen.base_info.class_names[chosen.label])


def _check_split(chosen: ClassFilter, split: str) -> None:
    splits = chosen.base_info.num_examples
    if folder.is_folder(chosen.base) and split != "train":
        raise DatasetError(f"dataset {chosen.name!r} has one split, 'train', not {split!r}; pass split='train'")
    if splits is not None and split not in splits:
        raise DatasetError(f"dataset {chosen.name!r} has no split {split!r}; expected one of "
                           f"{', '.join(map(repr, splits))}; pass one of those as split=")


def count(chosen: ClassFilter, split: str, **options) -> int:
    """The number of images of the class in a split of the base (loads the split's labels)."""
    _check_split(chosen, split)
    if folder.is_folder(chosen.base):
        try:
            return folder.describe(_class_folder(chosen))[0]
        except DatasetError as e:  # e.g. an empty class folder: say which filter found nothing
            raise DatasetError(f"{chosen.name!r} matches no image: {e}") from None
    counts = _class_counts(chosen.base, split, tuple(sorted((k, repr(v)) for k, v in options.items())),
                           _source(chosen.base))
    return int(counts[chosen.label]) if chosen.label < len(counts) else 0


def _source(base: str) -> tuple | None:
    """What a built-in dataset is read from, for `_class_counts`' key: Fashion-MNIST's files (path, time, size)."""
    if base != "fashion_mnist":
        return None
    from ganzoo.data import idx  # pylint: disable=import-outside-toplevel

    files = idx.find_fashion_mnist() or {}
    return tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in files.values())


@functools.lru_cache(maxsize=32)
def _class_counts(base: str, split: str, options: tuple, source: tuple | None) -> np.ndarray:
    """Images per label of a split, cached per data source (`ganzoo.data.info` of a filter asks every time)."""
    del source  # part of the key only
    return np.bincount(data.load_arrays(base, split, with_labels=True, **_options(options))[1])


def _options(options: tuple) -> dict:
    """The options of `_class_counts` key, back as a dict."""
    import ast  # pylint: disable=import-outside-toplevel

    return {key: ast.literal_eval(value) for key, value in options}


def info(name: str, **options) -> DatasetInfo:
    """The `DatasetInfo` of ``NAME[label=K]``: kind ``"image"``, no labels, the class's count per split.

    Raises:
        DatasetError: As `resolve`.
    """
    chosen = resolve(name, **options)
    splits = chosen.base_info.num_examples
    counts = None if splits is None else {split: count(chosen, split, **options) for split in splits}
    return DatasetInfo(name, chosen.base_info.shape, None, counts, "image")


def arrays(chosen: ClassFilter, split: str, limit: int | None = None, **options) -> np.ndarray:
    """The float32 images of the class in a split, in the base's order (the first ``limit``)."""
    _check_split(chosen, split)
    if folder.is_folder(chosen.base):
        try:
            return data.load_arrays(_class_folder(chosen), "train", limit=limit, **options)[0]
        except DatasetError as e:  # e.g. an empty class folder: say which filter found nothing
            raise DatasetError(f"{chosen.name!r} matches no image: {e}") from None
    images, labels = data.load_arrays(chosen.base, split, with_labels=True, **options)
    images = images[labels == chosen.label][:limit]
    if not len(images):
        raise DatasetError(f"{chosen.name!r} matches no image in split {split!r}; pick a label that split holds, or "
                           "another split")
    return images


def load_arrays(name: str, split: str = "train", limit: int | None = None, **options) -> tuple[np.ndarray, None]:
    """``(images, None)``: `ganzoo.data.load_arrays` of a filtered dataset (no labels: one class is left)."""
    return arrays(resolve(name, **options), split, limit, **options), None
