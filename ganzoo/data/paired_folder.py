"""``pairs:PATH`` datasets: the user's own image pairs for the image-to-image families.

Two layouts, found by looking:

* two folders, ``PATH/A/`` and ``PATH/B/``, with one file of the same name in
  each for every pair (``A/0001.png`` and ``B/0001.png``);
* side-by-side images, each holding both halves of a pair next to each
  other (``A|B``: the layout of the pix2pix datasets facades and
  edges2shoes), every image file directly in ``PATH``.

``direction`` says which side is the input: ``a_to_b`` (the default: A, the
left half, is the input) or ``b_to_a`` (in facades the photo is on the left
and the label map on the right, so label map -> photo is ``b_to_a``).

Splits: ``PATH/train/`` and ``PATH/test/`` (or ``PATH/val/``) when they exist,
each in one of the layouts; otherwise PATH itself is the ``train`` split and
there is no ``test`` split. Images are decoded with PIL, converted to
``channels`` (1 or 3) and resized to ``image_size`` (height, width; default
the folder datasets' 32 x 32): ``stretch`` resizes each half, ``crop``
centre-crops it to the target aspect first; both halves of a pair get the
same treatment, so they stay aligned. The pairs are held in memory.

Super-resolution pairs come from any ``folder:PATH`` of images with the
``scale`` option (`super_resolution_targets`): each image gives one
high-resolution target, an ``image_size`` crop at a seeded random position
(an image smaller than that is centre-cropped and enlarged to it first), and
its input is the target's area downsampling by ``scale``
(`ganzoo.data.pairs.downsample`).
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ganzoo.data import folder
from ganzoo.data.errors import DatasetError

__all__ = ["DIRECTIONS", "PREFIX", "is_paired_folder", "load", "shapes", "split_sizes", "super_resolution_targets"]

PREFIX = "pairs:"
DIRECTIONS = ("a_to_b", "b_to_a")
TEST_SPLITS = ("test", "val")


def is_paired_folder(name: object) -> bool:
    """Whether a dataset name is ``pairs:PATH``."""
    return isinstance(name, str) and name.startswith(PREFIX)


def _root(name):
    root = os.path.expanduser(name[len(PREFIX):])
    if not root or not os.path.isdir(root):
        raise DatasetError(f"paired folder {root!r} of dataset {name!r} does not exist; give a folder with "
                           "A/ and B/ sub-folders or side-by-side A|B images")
    return root


def _split_folder(name, split):
    root = _root(name)
    if split == "train":
        found = os.path.join(root, "train")
        return found if os.path.isdir(found) else root
    if split == "test":
        for candidate in TEST_SPLITS:
            if os.path.isdir(os.path.join(root, candidate)):
                return os.path.join(root, candidate)
    raise DatasetError(f"dataset {name!r} has no {split!r} split (no {'/, '.join(TEST_SPLITS)}/ folder in "
                       f"{root!r}); pass split='train' or add a test/ folder")


def _images(path):
    return sorted(n for n in os.listdir(path) if n.lower().endswith(folder.FORMATS)
                  and os.path.isfile(os.path.join(path, n)))


def _pairs(name, split):
    """`(layout, [(a_path, b_path or None)])` of one split."""
    path = _split_folder(name, split)
    a, b = os.path.join(path, "A"), os.path.join(path, "B")
    if os.path.isdir(a) and os.path.isdir(b):
        names, others = _images(a), set(_images(b))
        missing = [n for n in names if n not in others]
        if missing:
            raise DatasetError(f"{os.path.join(a, missing[0])!r} has no partner of the same name in {b!r}; "
                               "every A/ image needs one in B/")
        found = "folders", [(os.path.join(a, n), os.path.join(b, n)) for n in names]
    else:
        found = "side_by_side", [(os.path.join(path, n), None) for n in _images(path)]
    if not found[1]:
        raise DatasetError(f"{path!r} holds no image pairs: no A/ and B/ sub-folders and no images "
                           f"({', '.join(folder.FORMATS)})")
    return found


def split_sizes(name: str) -> dict:
    """Pairs per split (``train``, and ``test`` when the folder has one)."""
    sizes = {"train": len(_pairs(name, "train")[1])}
    try:
        sizes["test"] = len(_pairs(name, "test")[1])
    except DatasetError:
        pass
    return sizes


def shapes(opts: folder.Options) -> tuple[tuple, tuple]:
    """`(input_shape, target_shape)`: both halves of a pair get the same size and channels."""
    shape = (*opts.image_size, opts.channels)
    return shape, shape


def _open(path, channels):
    try:
        with Image.open(path) as image:
            return image.convert("L" if channels == 1 else "RGB")
    except (OSError, UnidentifiedImageError, ValueError) as e:
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise DatasetError(f"cannot read {path!r} as an image ({reason}); fix or remove it") from None


def _sized(image, opts):
    height, width = opts.image_size
    if opts.resize == "crop":
        return ImageOps.fit(image, (width, height), method=Image.BILINEAR)
    return image.resize((width, height), Image.BILINEAR)


def load(name: str, split: str = "train", *, limit=None, direction: str = "a_to_b", **options):
    """``(inputs, targets)`` uint8 arrays (N, H, W, C) of a paired folder's split."""
    if direction not in DIRECTIONS:
        raise DatasetError(f"direction={direction!r} is invalid; expected one of {', '.join(DIRECTIONS)}")
    opts = folder.options(**options)
    layout, pairs = _pairs(name, split)
    halves = []
    for a_path, b_path in pairs[:limit]:
        if layout == "folders":
            a, b = _open(a_path, opts.channels), _open(b_path, opts.channels)
        else:
            whole = _open(a_path, opts.channels)
            if whole.width < 2:
                raise DatasetError(f"{a_path!r} is {whole.width} pixel(s) wide: too narrow to hold an A|B pair")
            half = whole.width // 2
            a, b = whole.crop((0, 0, half, whole.height)), whole.crop((half, 0, 2 * half, whole.height))
        halves.append([np.asarray(_sized(image, opts), dtype=np.uint8).reshape((*opts.image_size, -1))
                       for image in (a, b)])
    a, b = (np.stack(side) for side in zip(*halves))
    return (a, b) if direction == "a_to_b" else (b, a)


def super_resolution_targets(name: str, *, scale: int, limit=None, seed: int = 0, **options) -> np.ndarray:
    """uint8 targets (N, H, W, C) of ``folder:PATH`` with ``scale``: one seeded random crop per image."""
    opts = folder.options(**options)
    height, width = opts.image_size
    _, files = folder.check(name, with_labels=False)
    rng = np.random.default_rng(seed)
    crops = []
    for path in files[:limit]:
        image = _open(path, opts.channels)
        if image.width < width or image.height < height:
            image = ImageOps.fit(image, (width, height), method=Image.BICUBIC)
        else:
            top, left = int(rng.integers(0, image.height - height + 1)), int(rng.integers(0, image.width - width + 1))
            image = image.crop((left, top, left + width, top + height))
        crops.append(np.asarray(image, dtype=np.uint8).reshape(height, width, -1))
    return np.stack(crops)


def check_scale(scale, image_size) -> int:
    """The checked super-resolution factor: an integer 2..16 that divides both sides of `image_size`."""
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 2 <= scale <= 16:
        raise DatasetError(f"scale={scale!r} is invalid; expected a whole number from 2 to 16")
    if any(side % scale for side in image_size):
        raise DatasetError(f"scale={scale} does not divide image_size {list(image_size)}; choose an image_size "
                           f"that is a multiple of {scale}")
    return int(scale)
