"""IDX file reader and the on-disk search for Fashion-MNIST.

IDX is the MNIST file format: two zero bytes, a one-byte element-type code, a
one-byte dimension count ``ndim``, then ``ndim`` big-endian uint32 sizes and the
big-endian, row-major data. Files may be gzip-compressed (detected from the
content, so the ``.gz`` suffix is optional).

Fashion-MNIST search order (first folder holding all four files wins; each file
may be plain or ``.gz``):

1. ``$GANZOO_DATA`` then ``$GANZOO_DATA/fashion-mnist`` (when the variable is
   set).
2. ``/usr/share/datasets/fashion-mnist`` (Debian package
   ``dataset-fashion-mnist``).
3. ``~/.keras/datasets/fashion-mnist`` (where ``keras.datasets`` caches it).
4. A TensorFlow Datasets ``fashion_mnist`` already prepared in the TFDS data
   dir (read with ``download=False``; nothing is ever downloaded).

Setting ``GANZOO_DATA_ONLY=1`` (also ``true``/``yes``/``on``) keeps only step 1,
which makes tests hermetic: point ``GANZOO_DATA`` at a temp folder and nothing
else on the machine is consulted. ``find_fashion_mnist(dirs=[...])`` searches an
explicit folder list instead of steps 1-3.
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ganzoo.data import tfds_source
from ganzoo.data.errors import DatasetError

ENV_DIR = "GANZOO_DATA"
ENV_ONLY = "GANZOO_DATA_ONLY"
SYSTEM_DIRS: tuple[str, ...] = (
    "/usr/share/datasets/fashion-mnist",
    "~/.keras/datasets/fashion-mnist",
)
FASHION_MNIST_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FASHION_MNIST_SIDE = 28
FASHION_MNIST_CLASSES = 10

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"
_TRUTHY = {"1", "true", "yes", "on"}
_FIX_FILE = "re-download or reinstall the file"


def parse_idx(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parses the bytes of an uncompressed IDX file.

    Args:
        raw: The whole file content.
        source: Name used in error messages (usually the path).

    Returns:
        The array with the shape and element type declared in the header, in
        native byte order.

    Raises:
        DatasetError: If the magic number is wrong or the data length does not
            match the header (truncated or corrupt file).
    """
    if len(raw) < 4:
        raise DatasetError(
            f"IDX file {source} is truncated: {len(raw)} bytes, expected at least "
            f"a 4-byte header; {_FIX_FILE}"
        )
    code, ndim = raw[2], raw[3]
    if raw[0] != 0 or raw[1] != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise DatasetError(
            f"{source} is not an IDX file: magic bytes 0x{raw[:4].hex()}, expected "
            "0x0000 then a type code in 08/09/0b/0c/0d/0e and a dimension count "
            "> 0; check the path points at an IDX file"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(
            f"IDX file {source} is truncated inside its header: {len(raw)} bytes, "
            f"expected {header} for {ndim} dimensions; {_FIX_FILE}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(dims) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        problem = "truncated" if actual < expected else "corrupt (trailing bytes)"
        raise DatasetError(
            f"IDX file {source} is {problem}: header declares shape {dims} "
            f"({expected} data bytes) but {actual} bytes follow; {_FIX_FILE}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    # Big-endian multi-byte types would slow every later numpy operation.
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads an IDX file, gzip-compressed or not.

    Args:
        path: The file to read.

    Returns:
        The parsed array (see `parse_idx`).

    Raises:
        DatasetError: If the file cannot be read, the gzip stream is truncated
            or corrupt, or the IDX content is invalid.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DatasetError(
            f"cannot read IDX file {path}: {error.strerror or error}; check that "
            "it exists and is readable"
        ) from error
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DatasetError(
                f"gzip-compressed IDX file {path} is truncated or corrupt ({error}); "
                f"{_FIX_FILE}"
            ) from error
    return parse_idx(raw, str(path))


def data_only() -> bool:
    """Tells whether ``GANZOO_DATA_ONLY`` restricts the search to ``GANZOO_DATA``.

    Returns:
        True when the variable is set to 1/true/yes/on (case-insensitive).
    """
    return os.environ.get(ENV_ONLY, "").strip().lower() in _TRUTHY


def search_dirs() -> list[Path]:
    """Lists the folders searched for the Fashion-MNIST IDX files, in order.

    Returns:
        ``$GANZOO_DATA`` and ``$GANZOO_DATA/fashion-mnist`` when the variable is
        set, followed by `SYSTEM_DIRS` unless `data_only()` is true.
    """
    dirs: list[Path] = []
    root = os.environ.get(ENV_DIR, "").strip()
    if root:
        base = Path(root).expanduser()
        dirs += [base, base / "fashion-mnist"]
    if not data_only():
        dirs += [Path(d).expanduser() for d in SYSTEM_DIRS]
    return dirs


def _locate(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_fashion_mnist(dirs: Iterable[str | os.PathLike] | None = None) -> dict[str, Path] | None:
    """Finds the first folder holding all four Fashion-MNIST IDX files.

    Args:
        dirs: Folders to search in order; None means `search_dirs()`.

    Returns:
        A mapping from file stem (e.g. ``"train-images-idx3-ubyte"``) to its
        path, or None when no folder holds all four files.
    """
    folders = search_dirs() if dirs is None else [Path(d).expanduser() for d in dirs]
    stems = [stem for pair in FASHION_MNIST_FILES.values() for stem in pair]
    for folder in folders:
        found = {stem: _locate(folder, stem) for stem in stems}
        if all(found.values()):
            return found  # type: ignore[return-value]
    return None


def missing_error(searched: Sequence[Path]) -> DatasetError:
    """Builds the one-line error for Fashion-MNIST files that cannot be found.

    Args:
        searched: The folders that were searched.

    Returns:
        The error to raise.
    """
    where = ", ".join(str(d) for d in searched) or "no folders"
    tfds_note = "" if data_only() else " and no prepared TFDS fashion_mnist"
    return DatasetError(
        f"Fashion-MNIST IDX files not found (searched {where}{tfds_note}); expected "
        "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
        "and t10k-labels-idx1-ubyte (optionally .gz); install them with "
        "`apt-get install dataset-fashion-mnist` or set GANZOO_DATA to a folder "
        "holding the four IDX files"
    )


@functools.lru_cache(maxsize=4)
def _read_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    del mtime_ns, size  # Only part of the cache key: a changed file is re-read.
    array = read_idx(path)
    # Callers share the cached array, so it must not be modified in place.
    array.flags.writeable = False
    return array


def _read(path: Path) -> np.ndarray:
    stat = path.stat()
    return _read_cached(str(path), stat.st_mtime_ns, stat.st_size)


def read_fashion_mnist(split: str, files: dict[str, Path]) -> tuple[np.ndarray, np.ndarray]:
    """Reads and validates one Fashion-MNIST split from located IDX files.

    Args:
        split: ``"train"`` or ``"test"``.
        files: The mapping returned by `find_fashion_mnist`.

    Returns:
        ``(images, labels)``: uint8 images of shape (N, 28, 28, 1) and int32
        labels of shape (N,).

    Raises:
        DatasetError: If a file is unreadable or its shape, type or label range
            does not match Fashion-MNIST.
    """
    image_stem, label_stem = FASHION_MNIST_FILES[split]
    images, labels = _read(files[image_stem]), _read(files[label_stem])
    side = FASHION_MNIST_SIDE
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (side, side):
        raise DatasetError(
            f"{files[image_stem]} holds {images.dtype} data of shape {images.shape}, "
            f"expected uint8 images of shape (N, {side}, {side}); {_FIX_FILE}"
        )
    if labels.dtype != np.uint8 or labels.shape != images.shape[:1]:
        raise DatasetError(
            f"{files[label_stem]} holds {labels.dtype} data of shape {labels.shape}, "
            f"expected {images.shape[0]} uint8 labels to match the images; {_FIX_FILE}"
        )
    if labels.size and int(labels.max()) >= FASHION_MNIST_CLASSES:
        raise DatasetError(
            f"{files[label_stem]} has label {int(labels.max())}, expected labels in "
            f"0..{FASHION_MNIST_CLASSES - 1}; {_FIX_FILE}"
        )
    return images[..., np.newaxis], labels.astype(np.int32)


def fashion_mnist_arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Loads one Fashion-MNIST split following the documented search order.

    Args:
        split: ``"train"`` or ``"test"``.

    Returns:
        ``(images, labels)``: uint8 (N, 28, 28, 1) and int32 (N,).

    Raises:
        DatasetError: If the files are found nowhere (the message says how to
            install them) or are invalid.
    """
    files = find_fashion_mnist()
    if files is not None:
        return read_fashion_mnist(split, files)
    if not data_only() and tfds_source.is_prepared("fashion_mnist"):
        meta = tfds_source.describe("fashion_mnist")
        return tfds_source.uint8_arrays(meta, split, with_labels=True)  # type: ignore[return-value]
    raise missing_error(search_dirs())
