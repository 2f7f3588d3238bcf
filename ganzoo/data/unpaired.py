"""Unpaired image datasets (kind ``"unpaired"``): two image sets, A and B, for unpaired translation (CycleGAN).

Three ways to name one:

* ``A|B``: two image dataset names joined by ``|``, each any image dataset,
  class filters included (`ganzoo.data.filtered`):
  ``fashion_mnist[label=7]|fashion_mnist[label=9]``, ``folder:cats|folder:dogs``.
  Each side keeps its own splits; the folder options (``image_size``,
  ``channels``, ``resize``) apply to the sides that are folders. The sides may
  differ in shape (the generators map between them).
* ``unpaired:PATH``: a folder in the CycleGAN datasets' layout, ``PATH/trainA/``
  and ``PATH/trainB/`` (and optionally ``PATH/testA/`` with ``PATH/testB/``),
  each read as a ``folder:`` dataset with the folder options.
* ``tfds:cycle_gan/<config>``, e.g. ``tfds:cycle_gan/horse2zebra``: TFDS's
  CycleGAN datasets (splits ``trainA``, ``trainB``, ``testA``, ``testB``), RGB
  images of varying size resized to ``image_size`` (default 32 x 32) by
  ``resize`` (``crop``, the default, or ``stretch``); never downloaded unless
  ``GANZOO_TFDS_DOWNLOAD=1`` (`ganzoo.data.tfds_source`).

Splits are ``train`` and ``test`` (``test`` when both domains have one). A
domain's images are its source's, in their order. `ganzoo.data.load_arrays`
returns ``(a, b)`` of equal length, the longer domain's: the shorter one is
cycled (``a[i % len(a)]``). `domain_arrays` returns both at their own length,
for metrics. `ganzoo.data.load` and `ganzoo.data.epoch_stream` yield
``(a_batch, b_batch)``, A and B shuffled independently: B's order is drawn
with the seed ``seed + B_SEED_OFFSET``, so which A meets which B changes every
epoch.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Callable

import numpy as np
from PIL import Image

from ganzoo import data
from ganzoo.data import builtin, filtered, folder, paired_folder, tfds_source
from ganzoo.data.described import DatasetInfo
from ganzoo.data.errors import DatasetError

__all__ = ["B_SEED_OFFSET", "PREFIX", "Domain", "domain_arrays", "domains", "info", "is_unpaired", "load_arrays"]

PREFIX = "unpaired:"
SPLITS = ("train", "test")
B_SEED_OFFSET = 1_000_003
IMAGE_OPTIONS = ("image_size", "channels", "resize")
_EXAMPLE = "e.g. 'digits[label=0]|digits[label=1]'"
_CYCLE_GAN = f"{data.TFDS_PREFIX}{tfds_source.CYCLE_GAN}/<config>"


@dataclasses.dataclass(frozen=True)
class Domain:
    """One side of an unpaired dataset, as metrics need it.

    Attributes:
        name: The side's dataset name (a class filter spelled with its label
            number, ``fashion_mnist[label=7]``), or ``"<dataset> (A)"`` /
            ``"<dataset> (B)"`` for the sides of ``unpaired:PATH`` and
            ``tfds:cycle_gan/...``.
        base: The dataset a class filter picks from (``"fashion_mnist"``), or
            None for a side that is not a class filter.
        label: The class that filter keeps, or None.
    """

    name: str
    base: str | None
    label: int | None


@dataclasses.dataclass(frozen=True)
class _Side:
    domain: Domain
    shape: tuple[int, ...]
    splits: tuple[str, ...]
    count: Callable[[str], int | None]  # images in a split (may load labels), None when unknown
    load: Callable[[str, int | None], np.ndarray]  # (split, limit) -> float32 images in [-1, 1]


def _tfds_name(name: str) -> str:
    return name[len(data.TFDS_PREFIX):].strip()


def _is_cycle_gan(name: str) -> bool:
    return name.startswith(data.TFDS_PREFIX) and tfds_source.is_cycle_gan(_tfds_name(name))


def is_unpaired(name: object) -> bool:
    """Whether a dataset name is unpaired: ``A|B``, ``unpaired:PATH`` or ``tfds:cycle_gan/<config>``."""
    if not isinstance(name, str):
        return False
    if "|" in name and not filtered.is_literal_path(name):  # an existing folder:PATH may hold a '|'
        return True
    return not filtered.is_filtered(name) and (name.startswith(PREFIX) or _is_cycle_gan(name))


def handler(name: object):
    """The module serving a derived dataset name (this one, or `ganzoo.data.filtered`), else None."""
    if is_unpaired(name):
        return sys.modules[__name__]
    return filtered if filtered.is_filtered(name) else None


def _parts(name: str) -> list[str]:
    """The two sides of ``A|B``, stripped."""
    parts = [part.strip() for part in name.split("|")]
    if len(parts) != 2:
        raise DatasetError(f"dataset {name!r} has {len(parts) - 1} '|' separators; an unpaired dataset joins exactly "
                           f"two image datasets, 'A|B', {_EXAMPLE}")
    if not all(parts):
        raise DatasetError(f"dataset {name!r} names no dataset {'before' if not parts[0] else 'after'} '|'; write "
                           f"'A|B' with two image datasets, {_EXAMPLE}")
    return parts


def _sources(name: str) -> list[str]:
    return _parts(name) if "|" in name else [name]


def _takes_image_options(name: str) -> bool:
    return any(p.startswith((folder.PREFIX, PREFIX)) or _is_cycle_gan(p) for p in _sources(name))


def reads_with_tensorflow(name: str) -> bool:
    """Whether a dataset (a derived one included) is read with TensorFlow: a TFDS or folder source."""
    return any(p.startswith((data.TFDS_PREFIX, folder.PREFIX, PREFIX)) for p in _sources(name))


def options(name: str, given: dict) -> folder.Options | None:
    """Checks the options of an unpaired or class-filtered dataset (`ganzoo.data`'s option check for them).

    Returns:
        The folder options when the dataset reads image files, else None.

    Raises:
        DatasetError: For ``direction`` or ``scale``, or image options where
            no side reads image files.
    """
    what = "unpaired dataset" if is_unpaired(name) else "class filter"
    for key in ("direction", "scale"):
        if given.get(key) is not None:
            raise DatasetError(f"{key} does not apply to the {what} {name!r}; remove it")
    if _takes_image_options(name):
        return folder.options(**{k: v for k, v in given.items() if k in IMAGE_OPTIONS})
    set_ = sorted(k for k in IMAGE_OPTIONS if given.get(k) is not None)
    if set_:
        raise DatasetError(f"{set_[0]} applies to images read from files ('{folder.PREFIX}PATH', '{PREFIX}PATH', "
                           f"'{_CYCLE_GAN}' or an 'A|B' side that is a folder), not to {name!r}; remove it")
    return None


def with_labels_error(name: str) -> DatasetError:
    """The refusal of ``with_labels=True`` for an unpaired dataset."""
    return DatasetError(f"dataset {name!r} yields (a, b) batches of two unpaired image sets; with_labels does not "
                        "apply (ganzoo.data.unpaired.domains names their classes); drop with_labels")


def _image_options(part: str, given: dict) -> dict:
    """The folder options that apply to one source (none for a source that reads no image files)."""
    return {k: given[k] for k in IMAGE_OPTIONS if given.get(k) is not None} if _takes_image_options(part) else {}


def _part_side(part: str, name: str, letter: str, given: dict) -> _Side:
    opts = _image_options(part, given)
    if filtered.is_filtered(part):
        chosen = filtered.resolve(part, **opts)
        splits = tuple(s for s in SPLITS if s in (chosen.base_info.num_examples or SPLITS))
        return _Side(Domain(chosen.canonical, chosen.base, chosen.label), chosen.base_info.shape, splits,
                     lambda split: filtered.count(chosen, split, **opts),
                     lambda split, limit: filtered.arrays(chosen, split, limit, **opts))
    described = data.info(part, **opts)
    if described.kind != "image":
        raise DatasetError(f"side {letter} of {name!r}, {part!r}, holds {described.kind}, not images; both sides of "
                           f"'A|B' must be image datasets, {_EXAMPLE}")
    sizes = described.num_examples
    return _Side(Domain(part, None, None), described.shape, tuple(s for s in SPLITS if s in (sizes or SPLITS)),
                 lambda split: None if sizes is None else sizes[split],
                 lambda split, limit: data.load_arrays(part, split, limit=limit, **opts)[0])


def _same_set_key(side: _Side) -> tuple:
    part = side.domain.base or side.domain.name
    if part.startswith(folder.PREFIX):
        part = folder.PREFIX + os.path.realpath(folder.root(part))
    return part, side.domain.label


def _joined_sides(name: str, given: dict) -> tuple[_Side, _Side]:
    sides = tuple(_part_side(part, name, letter, given) for part, letter in zip(_parts(name), "AB"))
    if _same_set_key(sides[0]) == _same_set_key(sides[1]):
        raise DatasetError(f"A and B are the same image set ({sides[0].domain.name}) in {name!r}; name two different "
                           f"sets, {_EXAMPLE}")
    return sides


def _folder_sides(name: str, given: dict) -> tuple[_Side, _Side]:
    root = os.path.expanduser(name[len(PREFIX):].strip())
    if not root or not os.path.isdir(root):
        raise DatasetError(f"unpaired folder {root!r} of dataset {name!r} does not exist; give a folder with trainA/ "
                           "and trainB/ sub-folders (the CycleGAN datasets' layout)")
    found = sorted(f for f in os.listdir(root) if os.path.isdir(os.path.join(root, f)) and not f.startswith("."))
    missing = [f"{s}/" for s in ("trainA", "trainB") if s not in found]
    if missing:
        held = f"sub-folders {', '.join(found)}" if found else "no sub-folders"
        raise DatasetError(f"unpaired folder {root!r} has no {' or '.join(missing)} (it holds {held}); put domain "
                           "A's training images in trainA/ and domain B's in trainB/ (testA/ and testB/ are optional)")
    tests = [s for s in ("testA", "testB") if s in found]
    if len(tests) == 1:
        other = "testB" if tests == ["testA"] else "testA"
        raise DatasetError(f"unpaired folder {root!r} has {tests[0]}/ but no {other}/; add {other}/ or remove "
                           f"{tests[0]}/ (the test split needs both)")
    opts = _image_options(name, given)
    checked = folder.options(**opts)
    shape = (*checked.image_size, checked.channels)

    def side(letter):
        source = lambda split: f"{folder.PREFIX}{os.path.join(root, split + letter)}"  # noqa: E731
        return _Side(Domain(f"{name} ({letter})", None, None), shape, SPLITS if tests else ("train",),
                     lambda split: folder.describe(source(split))[0],
                     lambda split, limit: data.load_arrays(source(split), "train", limit=limit, **opts)[0])

    return side("A"), side("B")


def _fixed_size(images: list[np.ndarray], opts: folder.Options) -> np.ndarray:
    """Images of any size -> float32 (N, H, W, C) in [-1, 1], sized as ``pairs:PATH`` images are."""
    resize = paired_folder._sized  # pylint: disable=protected-access
    sized = np.zeros((len(images), *opts.image_size, opts.channels), np.uint8)
    for i, image in enumerate(images):
        picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        sized[i] = np.asarray(resize(picture.convert("L" if opts.channels == 1 else "RGB"), opts)).reshape(
            sized.shape[1:])
    return builtin.uint8_to_unit(sized)


def _tfds_sides(name: str, given: dict) -> tuple[_Side, _Side]:
    tfds_name = _tfds_name(name)
    opts = folder.options(**{k: given.get(k) for k in IMAGE_OPTIONS})
    sizes = tfds_source.split_sizes(tfds_name)  # also checks that the builder exists

    def side(letter):
        return _Side(Domain(f"{name} ({letter})", None, None), (*opts.image_size, opts.channels), SPLITS,
                     lambda split: None if sizes is None else sizes.get(split + letter),
                     lambda split, limit: _fixed_size(tfds_source.any_size_images(tfds_name, split + letter, limit),
                                                      opts))

    return side("A"), side("B")


def _sides(name: str, given: dict) -> tuple[_Side, _Side]:
    if "|" in name:
        return _joined_sides(name, given)
    return _folder_sides(name, given) if name.startswith(PREFIX) else _tfds_sides(name, given)


def info(name: str, **options) -> DatasetInfo:
    """The `DatasetInfo` of an unpaired dataset: kind ``"unpaired"``, ``shape`` B's, ``input_shape`` A's.

    ``num_examples`` holds, per split, the longer domain's count (what
    `load_arrays` returns), or is None when a count is unknown (a TFDS dataset
    that is not prepared). Counting a class filter loads its labels.

    Raises:
        DatasetError: For a malformed name, a side that is not an image
            dataset, A and B the same set, or a folder not in CycleGAN's layout.
    """
    a, b = _sides(name, options)
    counts = {split: (a.count(split), b.count(split)) for split in a.splits if split in b.splits}
    known = None if any(None in pair for pair in counts.values()) else {s: max(pair) for s, pair in counts.items()}
    return DatasetInfo(name, b.shape, None, known, "unpaired", input_shape=a.shape)


def domains(name: str) -> tuple[Domain, Domain]:
    """The two `Domain`\\ s of an unpaired dataset: which dataset and class each side is, for picking judges.

    ``"fashion_mnist[label=7]|fashion_mnist[label=9]"`` gives
    ``Domain("fashion_mnist[label=7]", "fashion_mnist", 7)`` and
    ``Domain("fashion_mnist[label=9]", "fashion_mnist", 9)``; the sides of
    folders and ``tfds:cycle_gan/...`` have no base nor label.

    Raises:
        DatasetError: As `info`.
    """
    if not is_unpaired(name):
        raise DatasetError(f"dataset {name!r} is not unpaired; expected 'A|B', '{PREFIX}PATH' or '{_CYCLE_GAN}'")
    a, b = _sides(name, {})
    return a.domain, b.domain


def domain_arrays(name: str, split: str = "test", limit: int | None = None, **options) -> tuple[np.ndarray, np.ndarray]:
    """Both domains of a split at their own lengths (no cycling), float32 NHWC in [-1, 1]: for metrics.

    Args:
        name: An unpaired dataset name.
        split: ``"train"`` or ``"test"``.
        limit: Keep each domain's first ``limit`` images, or None for all.
        **options: Folder options (``image_size``, ``channels``, ``resize``).

    Returns:
        ``(a, b)``.

    Raises:
        DatasetError: As `info`, for a split the dataset lacks, an invalid
            ``limit``, or a domain without images in the split.
    """
    if not is_unpaired(name):
        raise DatasetError(f"dataset {name!r} is not unpaired; expected 'A|B', '{PREFIX}PATH' or '{_CYCLE_GAN}'")
    data._options(name, options)  # pylint: disable=protected-access
    if limit is not None:
        data._check_int(limit, "limit", 1)  # pylint: disable=protected-access
    sides = _sides(name, options)
    splits = [s for s in sides[0].splits if s in sides[1].splits]
    if split not in splits:
        raise DatasetError(f"dataset {name!r} has no split {split!r}; expected one of {', '.join(map(repr, splits))}; "
                           "pass one of those as split=")
    arrays = tuple(side.load(split, limit) for side in sides)
    for letter, images in zip("AB", arrays):
        if not len(images):
            raise DatasetError(f"domain {letter} of {name!r} has no images in split {split!r}; add images to it or "
                               "pick another split")
    return arrays


def load_arrays(name: str, split: str = "train", limit: int | None = None, **options) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` of equal length, the longer domain's; the shorter domain is cycled (``a[i % len(a)]``).

    ``limit`` keeps each domain's first ``limit`` images before that. Raises as `domain_arrays`.
    """
    a, b = domain_arrays(name, split, limit, **options)
    count = max(len(a), len(b))
    return a[np.arange(count) % len(a)], b[np.arange(count) % len(b)]


def shuffled(ds, count: int, seed: int):
    """A ``tf.data`` dataset of ``(a, b)`` elements with A and B shuffled apart (B by ``seed + B_SEED_OFFSET``)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return tf.data.Dataset.zip(
        ds.map(lambda a, b: a).shuffle(max(1, count), seed=int(seed), reshuffle_each_iteration=True),
        ds.map(lambda a, b: b).shuffle(max(1, count), seed=int(seed) + B_SEED_OFFSET, reshuffle_each_iteration=True))
