"""Pictures of samples and training curves: image grids, scatter plots, loss plots.

Only numpy, PIL and matplotlib (through ``Figure`` + ``FigureCanvasAgg``, never
``pyplot``, so a host program's global plotting state is untouched) and
``keras.ops`` to read backend tensors, so it runs on every Keras backend.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence

import keras
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

GRID_GAP = 2  # pixels between neighbouring tiles of an image grid
GRID_BACKGROUND = 255  # white gaps stay visible between dark-background digits
MIN_GRID_WIDTH = 256  # automatic upscaling makes grids at least this wide
SCORE_KEYS = ("d_real", "d_fake")  # discriminator summaries, lower panel of loss plots


def ensure_parent(path: str | os.PathLike) -> str:
    """Creates the folder that will hold ``path`` and returns it as a str."""
    path = os.fspath(path)
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def to_numpy(values) -> np.ndarray:
    """Converts a numpy array or backend tensor to a float32 numpy array."""
    if not isinstance(values, np.ndarray):
        # Backend tensors (maybe on an accelerator) need the backend to copy them.
        values = keras.ops.convert_to_numpy(values)
    return np.asarray(values, dtype=np.float32)


def check_positive_int(name: str, value, *, allow_none: bool = False) -> None:
    """Raises ValueError unless ``value`` is an int >= 1 (or None if allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")


def to_uint8(images) -> np.ndarray:
    """Maps images in [-1, 1] to uint8 pixels (-1 -> 0, 1 -> 255); NaN -> mid grey, clipped."""
    array = np.nan_to_num(to_numpy(images), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.round((np.clip(array, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def image_grid(images, *, columns: int | None = None, scale: int | None = None) -> Image.Image:
    """Tiles a batch of images into one picture.

    Values are clipped to [-1, 1] and mapped linearly to uint8 (-1 -> 0,
    1 -> 255); NaN becomes mid-grey so a diverged generator still renders.
    Tiles are upscaled by an integer factor (nearest neighbour) and separated
    by ``GRID_GAP`` pixels of ``GRID_BACKGROUND``, so the picture is
    ``columns * width * scale + (columns - 1) * GRID_GAP`` pixels wide, and
    likewise high with rows.

    Args:
        images: Array or tensor of shape (n, height, width, 1 or 3) in [-1, 1].
        columns: Tiles per row; defaults to ``ceil(sqrt(n))``, capped at ``n``.
        scale: Integer upscale factor; None picks the smallest one making the
            grid at least ``MIN_GRID_WIDTH`` pixels wide.

    Returns:
        A PIL image in mode "L" (1 channel) or "RGB" (3 channels).

    Raises:
        ValueError: If the shape, ``columns`` or ``scale`` is invalid.
    """
    array = to_numpy(images)
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or array.shape[0] == 0:
        hint = " Add a channel axis with images[..., None]." if array.ndim == 3 else ""
        raise ValueError(
            "image_grid expects a non-empty array of shape (n, height, width, channels) "
            f"with 1 or 3 channels; got shape {array.shape}.{hint}"
        )
    n, height, width, channels = array.shape
    check_positive_int("columns", columns, allow_none=True)
    check_positive_int("scale", scale, allow_none=True)
    # More columns than tiles would only add empty cells.
    columns = min(n, columns or math.ceil(math.sqrt(n)))
    rows = math.ceil(n / columns)
    gaps = (columns - 1) * GRID_GAP
    scale = scale or max(1, math.ceil((MIN_GRID_WIDTH - gaps) / (columns * width)))

    pixels = to_uint8(array)
    pixels = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
    tile_h, tile_w = height * scale, width * scale
    grid_shape = (rows * tile_h + (rows - 1) * GRID_GAP, columns * tile_w + gaps, channels)
    grid = np.full(grid_shape, GRID_BACKGROUND, dtype=np.uint8)
    for index, tile in enumerate(pixels):
        top = (index // columns) * (tile_h + GRID_GAP)
        left = (index % columns) * (tile_w + GRID_GAP)
        grid[top : top + tile_h, left : left + tile_w] = tile
    # uint8 (h, w) becomes mode "L" and (h, w, 3) becomes "RGB".
    return Image.fromarray(grid[..., 0] if channels == 1 else grid)


def pair_tiles(inputs, outputs, targets=None) -> np.ndarray:
    """Image-to-image results as tiles ``input, output[, target]`` per example, for `image_grid`.

    Inputs smaller than the outputs (super-resolution) are enlarged by
    repeating pixels; a one-channel image beside three-channel ones is shown
    in gray. Use ``columns`` a multiple of the tiles per example.
    """
    parts = [np.asarray(part, dtype=np.float32) for part in (inputs, outputs, targets) if part is not None]
    height, width = parts[1].shape[1:3]
    channels = max(part.shape[-1] for part in parts)
    shown = []
    for part in parts:
        factor = (height // part.shape[1], width // part.shape[2])
        part = np.repeat(np.repeat(part, factor[0], axis=1), factor[1], axis=2)[:, :height, :width]
        shown.append(np.repeat(part, channels, axis=-1) if part.shape[-1] != channels else part)
    return np.stack(shown, axis=1).reshape((-1, height, width, channels))


def pair_columns(count: int) -> int:
    """Grid columns for `count` examples of `pair_tiles`: whole triplets, near square."""
    return 3 * max(1, int(np.sqrt(count / 3)))


def save_image_grid(images, path: str | os.PathLike, *, columns: int | None = None,
                    scale: int | None = None) -> str:
    """Writes :func:`image_grid` of ``images`` (same arguments) to a PNG file.

    Args:
        images: Array or tensor of shape (n, height, width, 1 or 3) in [-1, 1].
        path: Destination file; missing parent folders are created.
        columns: Tiles per row, see :func:`image_grid`.
        scale: Integer upscale factor, None for automatic.

    Returns:
        The path written, as a str.
    """
    grid = image_grid(images, columns=columns, scale=scale)
    path = ensure_parent(path)
    grid.save(path, format="PNG")
    return path


def _save_figure(figure: Figure, path: str | os.PathLike) -> str:
    """Renders a figure to PNG through the Agg canvas and returns the path."""
    path = ensure_parent(path)
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=100)
    return path


def _check_points(name: str, values) -> np.ndarray:
    """Returns ``values`` as a float32 (n, 2) array or raises ValueError."""
    array = to_numpy(values)
    if array.ndim != 2 or array.shape[-1] != 2:
        raise ValueError(
            f"scatter_plot expects {name} of shape (n, 2); got shape {array.shape}. "
            "Use save_image_grid for image samples."
        )
    return array


def scatter_plot(points, path: str | os.PathLike, *, centers=None, title: str | None = None) -> str:
    """Writes a scatter plot of 2-D samples to a PNG file.

    Args:
        points: Array or tensor of shape (n, 2).
        path: Destination file; missing parent folders are created.
        centers: Optional (k, 2) mode centres, drawn as red crosses.
        title: Optional plot title.

    Returns:
        The path written, as a str.

    Raises:
        ValueError: If ``points`` or ``centers`` is not of shape (n, 2).
    """
    points = _check_points("points", points)
    figure = Figure(figsize=(5, 5), layout="constrained")
    axes = figure.add_subplot()
    axes.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5, label="samples")
    if centers is not None:
        centers = _check_points("centers", centers)
        axes.scatter(centers[:, 0], centers[:, 1], marker="x", s=60, c="red", label="modes")
        axes.legend(loc="upper right")
    axes.set_aspect("equal", adjustable="datalim")
    if title:
        axes.set_title(title)
    return _save_figure(figure, path)


def as_keys(keys: Iterable[str] | str) -> tuple[str, ...]:
    """Returns ``keys`` as a tuple, treating a lone string as one key."""
    return (keys,) if isinstance(keys, str) else tuple(keys)


def _series(history: Mapping[str, Sequence], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Returns (epochs, values) for one key, with None and strings decoded."""
    values = np.array([math.nan if v is None else float(v) for v in history[key]])
    epochs = history.get("epoch")
    if epochs is None or len(epochs) != len(values) or None in epochs:
        epochs = range(1, len(values) + 1)
    return np.asarray(epochs, dtype=float), values


def plot_history(history: Mapping[str, Sequence], path: str | os.PathLike, *,
                 keys: Iterable[str] = ("d_loss", "g_loss"), title: str | None = None) -> str:
    """Plots per-epoch training curves to a PNG file.

    The upper panel shows ``keys``; if ``d_real`` or ``d_fake`` is present a
    lower panel shows them. Accepts ``History.history``, :func:`load_history`
    output or the raw JSON of a history file (strings and None allowed).

    Args:
        history: Mapping of key -> per-epoch values, optionally with "epoch".
        path: Destination PNG; missing parent folders are created.
        keys: Keys for the upper panel; absent ones are skipped.
        title: Optional figure title.

    Returns:
        The path written, as a str.

    Raises:
        ValueError: If none of ``keys`` or ``SCORE_KEYS`` is in ``history``.
    """
    keys = as_keys(keys)
    lower = [k for k in SCORE_KEYS if k in history and k not in keys]
    panels = [panel for panel in ([k for k in keys if k in history], lower) if panel]
    if not panels:
        raise ValueError(
            f"plot_history found none of {list(keys) + list(SCORE_KEYS)} in the history; "
            f"it has {sorted(history)}. Pass keys= naming logged metrics."
        )
    figure = Figure(figsize=(7, 2.5 + 2.5 * len(panels)), layout="constrained")
    axes_column = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for axes, panel in zip(axes_column, panels):
        for key in panel:
            epochs, values = _series(history, key)
            axes.plot(epochs, values, marker="." if len(values) < 50 else None, label=key)
        axes.legend(loc="best")
        axes.grid(alpha=0.3)
    axes_column[-1].set_xlabel("epoch")
    axes_column[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        figure.suptitle(title)
    return _save_figure(figure, path)
