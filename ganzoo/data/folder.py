"""``folder:PATH`` datasets: a folder of the user's own images.

Built on ``keras.utils.image_dataset_from_directory``: the same file formats
(PNG, JPEG, BMP, GIF, first frame), the same decoding, resizing and the same
file order (sorted folders, then sorted names). Labels come from sub-folders:
``PATH/<class name>/*.png``; unconditional training reads every image under
``PATH``, sub-folders included.

Images are resized to ``image_size`` (height, width; default 32 x 32) with
``channels`` 1 (grayscale: decoded as RGB, then ``tf.image.rgb_to_grayscale``,
since TensorFlow's BMP and GIF decoders give no single channel) or 3 (RGB,
the default; RGBA loses its alpha).
``resize="crop"`` (the default) centre-crops each image to the target aspect
ratio before resizing, so nothing is squashed: a GAN learns the shapes it is
shown, and stretched faces or objects are a worse target than a cropped
border. ``resize="stretch"`` resizes the whole image instead.

A folder whose decoded uint8 pixels fit in `in_memory_bytes` (2 GiB, or
``$GANZOO_FOLDER_MEMORY_BYTES``) is decoded once, up front, and held in
memory; a larger one is streamed: each epoch decodes its files in that
epoch's seeded order. Either way every file is checked first, so a corrupt
image is named before anything is written.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from ganzoo.data.errors import DatasetError

PREFIX = "folder:"
FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # keras.utils.image_dataset_from_directory's
RESIZE_MODES = ("crop", "stretch")
DEFAULT_IMAGE_SIZE = (32, 32)
DEFAULT_CHANNELS = 3
MAX_IMAGE_SIDE = 4096
ENV_MEMORY = "GANZOO_FOLDER_MEMORY_BYTES"
IN_MEMORY_BYTES = 2 << 30


@dataclasses.dataclass(frozen=True)
class Options:
    """How a folder's images are turned into training examples."""

    image_size: tuple[int, int] = DEFAULT_IMAGE_SIZE
    channels: int = DEFAULT_CHANNELS
    resize: str = "crop"


@dataclasses.dataclass(frozen=True)
class Index:
    """A folder's image files in training order, with their labels.

    Attributes:
        root: The folder.
        files: Every image path, in ``image_dataset_from_directory``'s order.
        labels: int32 class of each file (its sub-folder), or None.
        class_names: Sub-folder names in label order, or None without labels.
    """

    root: str
    files: tuple[str, ...]
    labels: np.ndarray | None
    class_names: tuple[str, ...] | None


def is_folder(name: object) -> bool:
    """Whether a dataset name is ``folder:PATH``."""
    return isinstance(name, str) and name.startswith(PREFIX)


def options(image_size=None, channels=None, resize=None) -> Options:
    """Checks the folder options and fills in the defaults.

    Raises:
        DatasetError: For an ``image_size`` that is not a pair of sides in
            [1, 4096], ``channels`` not 1 or 3, or an unknown ``resize``.
    """
    size = DEFAULT_IMAGE_SIZE if image_size is None else image_size
    if (isinstance(size, (str, bytes)) or not hasattr(size, "__len__") or len(size) != 2
            or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 1 <= s <= MAX_IMAGE_SIDE
                   for s in size)):
        raise DatasetError(
            f"image_size={image_size!r} is invalid; expected a pair of positive whole numbers "
            f"[height, width], each at most {MAX_IMAGE_SIDE}, e.g. [32, 32]"
        )
    channels = DEFAULT_CHANNELS if channels is None else channels
    if isinstance(channels, bool) or channels not in (1, 3):
        raise DatasetError(f"channels={channels!r} is invalid; expected 1 (grayscale) or 3 (RGB)")
    resize = resize or "crop"
    if resize not in RESIZE_MODES:
        raise DatasetError(f"resize={resize!r} is invalid; expected 'crop' (the default) or 'stretch'")
    return Options((int(size[0]), int(size[1])), int(channels), resize)


def root(name: str) -> str:
    """The folder of ``folder:PATH``, checked to exist.

    Raises:
        DatasetError: If PATH is empty, missing or not a folder.
    """
    path = os.path.expanduser(name[len(PREFIX):].strip())
    if not path:
        raise DatasetError(f"dataset {name!r} names no folder; expected '{PREFIX}PATH', e.g. 'folder:~/images'")
    if not os.path.isdir(path):
        what = "is a file, not a folder" if os.path.exists(path) else "does not exist"
        raise DatasetError(f"dataset folder {path!r} {what}; give an existing folder of images as '{PREFIX}PATH'")
    return path


def _images_in(folder: str) -> list[str]:
    """The image files under `folder`, in ``image_dataset_from_directory``'s order."""
    return [os.path.join(parent, n) for parent, _, names in sorted(os.walk(folder), key=lambda w: w[0])
            for n in sorted(names) if n.lower().endswith(FORMATS)]


def _class_folders(folder: str) -> list[str]:
    return sorted(
        f for f in os.listdir(folder) if not f.startswith(".") and os.path.isdir(os.path.join(folder, f)))


def _keras_dataset(path: str, *, with_labels: bool, opts: Options):
    """``image_dataset_from_directory`` over the folder, in file order, one image per element."""
    import keras  # pylint: disable=import-outside-toplevel

    return keras.utils.image_dataset_from_directory(
        path, labels="inferred" if with_labels else None, label_mode="int" if with_labels else None,
        color_mode="rgb", batch_size=None, image_size=opts.image_size,
        shuffle=False, crop_to_aspect_ratio=opts.resize == "crop", verbose=False,
    )


def check(name: str, *, with_labels: bool) -> tuple[str, list[str]]:
    """Checks a folder's listing (no decoding) and returns ``(folder, image files)``.

    Raises:
        DatasetError: For a missing or empty folder, a folder without image
            files; with labels, a folder without class sub-folders, with one
            class only, with an empty class folder, or with images outside
            the class folders.
    """
    path = root(name)
    files = _images_in(path)
    if not files:
        what = "holds no image files" if any(not n.startswith(".") for n in os.listdir(path)) else "is empty"
        raise DatasetError(
            f"dataset folder {path!r} {what}; put {', '.join(f[1:] for f in FORMATS)} images in it "
            "(in one sub-folder per class for a conditional model)"
        )
    if not with_labels:
        return path, files
    classes = _class_folders(path)
    if not classes:
        raise DatasetError(
            f"dataset folder {path!r} has no sub-folders, so it has no labels; a conditional model needs "
            "one sub-folder per class (PATH/<class>/*.png), or train an unconditional model"
        )
    if len(classes) == 1:
        raise DatasetError(
            f"dataset folder {path!r} has one class folder ({classes[0]!r}); a conditional model needs at "
            "least two classes: add class folders or train an unconditional model"
        )
    empty = [c for c in classes if not _images_in(os.path.join(path, c))]
    if empty:
        raise DatasetError(
            f"class folder {os.path.join(path, empty[0])!r} holds no images; add images to it or remove it")
    loose = [f for f in files if os.path.dirname(f) == os.path.normpath(path)]
    if loose:
        raise DatasetError(
            f"dataset folder {path!r} has {len(loose)} image(s) outside its class sub-folders, e.g. "
            f"{os.path.basename(loose[0])!r}; move them into a class folder or delete them"
        )
    return path, files


def index(name: str, *, with_labels: bool, opts: Options | None = None) -> Index:
    """Lists the images of ``folder:PATH`` (labels from sub-folders when asked), as `check` checks.

    The order and the classes are ``image_dataset_from_directory``'s.
    """
    path, _ = check(name, with_labels=with_labels)
    dataset = _keras_dataset(path, with_labels=with_labels, opts=opts or Options())
    ordered = tuple(dataset.file_paths)
    if not with_labels:
        return Index(path, ordered, None, None)
    classes = tuple(dataset.class_names)
    position = {c: k for k, c in enumerate(classes)}
    labels = np.array([position[os.path.relpath(f, path).split(os.sep)[0]] for f in ordered], np.int32)
    return Index(path, ordered, labels, classes)


def describe(name: str) -> tuple[int, tuple[str, ...] | None]:
    """``(number of images, class names or None)`` of a folder, without decoding.

    The classes are the sub-folders (``image_dataset_from_directory``'s
    classes); None when there are none.

    Raises:
        DatasetError: As `check` without labels.
    """
    path, files = check(name, with_labels=False)
    return len(files), (tuple(_class_folders(path)) or None)


def in_memory_bytes() -> int:
    """The largest decoded folder (uint8 bytes) held in memory; larger ones stream."""
    text = os.environ.get(ENV_MEMORY, "")
    try:
        return int(text) if text else IN_MEMORY_BYTES
    except ValueError:
        raise DatasetError(f"${ENV_MEMORY}={text!r} is not a whole number of bytes; unset it or fix it") from None


def fits_in_memory(count: int, opts: Options) -> bool:
    """Whether ``count`` decoded images of `opts` fit in `in_memory_bytes`."""
    return count * math.prod(opts.image_size) * opts.channels <= in_memory_bytes()


def check_files(files) -> None:
    """Opens every image with PIL (without decoding its pixels) and names the first bad one.

    Raises:
        DatasetError: For an unreadable or corrupt image file.
    """
    from PIL import Image  # pylint: disable=import-outside-toplevel

    for path in files:
        try:
            with Image.open(path) as image:
                image.verify()
        except Exception as error:  # PIL raises many types for bad files  # pylint: disable=broad-except
            raise DatasetError(
                f"image {path!r} cannot be read ({type(error).__name__}: {error}); "
                "delete or replace that file"
            ) from None


def uint8_arrays(name: str, *, with_labels: bool, opts: Options, limit: int | None = None):
    """Decodes a folder into uint8 arrays with ``image_dataset_from_directory``.

    Returns:
        ``(images uint8 (N, H, W, C), labels int32 (N,) or None, index)``.

    Raises:
        DatasetError: As `index`, and for a corrupt image (named).
    """
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    found = index(name, with_labels=with_labels, opts=opts)
    files = found.files[:limit]
    check_files(files)
    dataset = _keras_dataset(found.root, with_labels=with_labels, opts=opts)
    if opts.channels == 1:
        dataset = dataset.map(lambda image, *label: (_gray(image), *label) if label else _gray(image))
    images = np.zeros((len(files), *opts.image_size, opts.channels), np.uint8)
    elements = dataset.take(len(files)).as_numpy_iterator()
    for i, path in enumerate(files):
        try:
            element = next(elements)
        except tf.errors.OpError as error:
            raise DatasetError(
                f"image {path!r} cannot be decoded ({error.message.splitlines()[0]}); delete or replace that file"
            ) from None
        images[i] = np.clip(np.round(element[0] if with_labels else element), 0, 255)
    return images, (found.labels[:limit] if with_labels else None), found


def _gray(images):
    """RGB -> one channel with ``tf.image.rgb_to_grayscale`` (TF's BMP and GIF decoders give no gray)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    return tf.image.rgb_to_grayscale(images)


def decode(paths, opts: Options):
    """A tf.data function decoding a batch of file paths as Keras' loader does (uint8)."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    height, width = opts.image_size

    def one(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        if opts.resize == "crop":  # the largest centred box of the target aspect ratio
            shape = tf.shape(image)
            box_h = tf.minimum(shape[0], tf.cast(tf.cast(shape[1], tf.float64) * height / width, tf.int32))
            box_w = tf.minimum(shape[1], tf.cast(tf.cast(shape[0], tf.float64) * width / height, tf.int32))
            image = tf.image.crop_to_bounding_box(
                image, (shape[0] - box_h) // 2, (shape[1] - box_w) // 2, box_h, box_w)
        image = tf.image.resize(image, (height, width))
        if opts.channels == 1:
            image = _gray(image)
        return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)

    return tf.map_fn(one, paths, fn_output_signature=tf.TensorSpec((height, width, opts.channels), tf.uint8))
