"""Training callbacks and plotting helpers for GAN models.

Only keras, numpy, PIL and matplotlib are used, so everything runs on every
Keras backend; matplotlib is driven through ``Figure`` + ``FigureCanvasAgg``
so the host program's global ``pyplot`` state is never touched.

History files written by :class:`HistoryJSON` are column-oriented, like
``keras.callbacks.History.history``::

    {"epoch": [1, 2], "d_loss": [0.69, 0.66], "g_loss": [0.71, "nan"]}

JSON has no NaN or infinity, so non-finite values are written as the strings
``"nan"``, ``"inf"`` and ``"-inf"`` (``float()`` reads them back), and
``null`` marks a metric absent in that epoch. :func:`load_history` decodes
such a file and :func:`plot_history` redraws it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence

import keras
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

logger = logging.getLogger(__name__)

GRID_GAP = 2  # pixels between neighbouring tiles of an image grid
GRID_BACKGROUND = 255  # white gaps stay visible between dark-background digits
MIN_GRID_WIDTH = 256  # automatic upscaling makes grids at least this wide
SCORE_KEYS = ("d_real", "d_fake")  # discriminator summaries, lower panel of loss plots
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _ensure_parent(path: str | os.PathLike) -> str:
    """Creates the folder that will hold ``path`` and returns it as a str."""
    path = os.fspath(path)
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def _to_numpy(values) -> np.ndarray:
    """Converts a numpy array or backend tensor to a float32 numpy array."""
    if not isinstance(values, np.ndarray):
        # Backend tensors (maybe on an accelerator) need the backend to copy them.
        values = keras.ops.convert_to_numpy(values)
    return np.asarray(values, dtype=np.float32)


def _check_positive_int(name: str, value, *, allow_none: bool = False) -> None:
    """Raises ValueError unless ``value`` is an int >= 1 (or None if allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")


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
    array = _to_numpy(images)
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or array.shape[0] == 0:
        hint = " Add a channel axis with images[..., None]." if array.ndim == 3 else ""
        raise ValueError(
            "image_grid expects a non-empty array of shape (n, height, width, channels) "
            f"with 1 or 3 channels; got shape {array.shape}.{hint}"
        )
    n, height, width, channels = array.shape
    _check_positive_int("columns", columns, allow_none=True)
    _check_positive_int("scale", scale, allow_none=True)
    # More columns than tiles would only add empty cells.
    columns = min(n, columns or math.ceil(math.sqrt(n)))
    rows = math.ceil(n / columns)
    gaps = (columns - 1) * GRID_GAP
    scale = scale or max(1, math.ceil((MIN_GRID_WIDTH - gaps) / (columns * width)))

    array = np.nan_to_num(array, nan=0.0, posinf=1.0, neginf=-1.0)
    pixels = np.round((np.clip(array, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
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
    path = _ensure_parent(path)
    grid.save(path, format="PNG")
    return path


def _save_figure(figure: Figure, path: str | os.PathLike) -> str:
    """Renders a figure to PNG through the Agg canvas and returns the path."""
    path = _ensure_parent(path)
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=100)
    return path


def _check_points(name: str, values) -> np.ndarray:
    """Returns ``values`` as a float32 (n, 2) array or raises ValueError."""
    array = _to_numpy(values)
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


def _encode(value):
    """Maps non-finite floats to "nan"/"inf"/"-inf" so the JSON stays strict."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def load_history(path: str | os.PathLike) -> dict[str, list]:
    """Reads a history file written by :class:`HistoryJSON`.

    Args:
        path: The JSON file.

    Returns:
        A dict of key -> per-epoch list; "nan"/"inf"/"-inf" strings are
        decoded to floats and absent values stay None.

    Raises:
        ValueError: If the file is not JSON or not an object of equally long lists.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"history file {path} is not valid JSON ({error}); delete it.") from error
    lengths = {len(v) if isinstance(v, list) else -1 for v in data.values()} if isinstance(
        data, dict) else {-1}
    if len(lengths) > 1 or -1 in lengths:
        raise ValueError(
            f"history file {path} must hold a JSON object of equally long lists (key -> "
            f"per-epoch values); got {str(data)[:80]}. Delete it or write to another path."
        )
    return {key: [_NON_FINITE.get(v, v) if isinstance(v, str) else v for v in values]
            for key, values in data.items()}


def _write_json_atomically(data, path: str) -> None:
    """Writes JSON to a temp file beside ``path``, then renames it into place."""
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=os.path.dirname(path) or ".",
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", delete=False,
    )
    try:
        with handle:
            # allow_nan=False guarantees strict JSON; values were encoded before.
            json.dump(data, handle, indent=1, allow_nan=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        # Leave no stray temp file; the previous history file is untouched.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise


class _EpochRecorder(keras.callbacks.Callback):
    """Collects each epoch's scalar logs as column lists in ``self.history``."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self._offset: int | None = None

    def on_train_begin(self, logs=None):
        """Starts a fresh history."""
        self.history, self._offset = {}, None

    def on_epoch_end(self, epoch, logs=None):
        """Appends the scalar logs of ``epoch`` with a 1-based "epoch" key."""
        if self._offset is None:
            last = max((e for e in self.history.get("epoch", []) if e is not None), default=0)
            # Continue after loaded epochs whether or not fit was given initial_epoch.
            self._offset = max(0, last - epoch)
        record = {"epoch": epoch + 1 + self._offset}
        for key, value in (logs or {}).items():
            try:
                record.setdefault(key, float(value))
            except (TypeError, ValueError):
                logger.debug("skipping non-scalar log %r=%r", key, value)
        length = len(next(iter(self.history.values()))) if self.history else 0
        for key in record:
            self.history.setdefault(key, [None] * length)
        for key, column in self.history.items():
            column.append(record.get(key))


class HistoryJSON(_EpochRecorder):
    """Saves the per-epoch logs to a JSON file after every epoch.

    The file is rewritten atomically (temp file in the same folder, then
    ``os.replace``), so a crash never leaves it half-written. The format is
    described in the module docstring: columns including a 1-based "epoch",
    non-finite values as "nan"/"inf"/"-inf", null where a key was absent.

    Args:
        path: Destination JSON file; missing parent folders are created.
        append: If True and ``path`` exists when training begins, its epochs
            are kept and new ones are numbered after them.

    Attributes:
        history: The columns written so far (floats, None where absent).
    """

    def __init__(self, path: str | os.PathLike, *, append: bool = False) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.append = append

    def on_train_begin(self, logs=None):
        """Starts a fresh history or, with ``append=True``, loads the file."""
        super().on_train_begin(logs)
        if self.append and os.path.exists(self.path):
            self.history = load_history(self.path)
            logger.info("continuing history %s", self.path)

    def on_epoch_end(self, epoch, logs=None):
        """Records the epoch and rewrites the file."""
        super().on_epoch_end(epoch, logs)
        encoded = {key: [_encode(v) for v in values] for key, values in self.history.items()}
        _write_json_atomically(encoded, _ensure_parent(self.path))


def _as_keys(keys: Iterable[str] | str) -> tuple[str, ...]:
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
    keys = _as_keys(keys)
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


class LossCurve(_EpochRecorder):
    """Plots the per-epoch losses to a PNG when training ends.

    Args:
        path: Destination PNG; missing parent folders are created.
        keys: Log keys for the upper panel; ``d_real``/``d_fake`` go to a
            second panel whenever they are logged.

    Attributes:
        history: The columns recorded during the last ``fit``.
    """

    def __init__(self, path: str | os.PathLike, *, keys: Iterable[str] = ("d_loss", "g_loss")):
        super().__init__()
        self.path = os.fspath(path)
        self.keys = _as_keys(keys)

    def on_train_end(self, logs=None):
        """Draws the plot, or logs a warning when there is nothing to draw."""
        if not any(key in self.history for key in self.keys + SCORE_KEYS):
            logger.warning("LossCurve: no epoch logged any of %s; not writing %s",
                           list(self.keys + SCORE_KEYS), self.path)
            return
        plot_history(self.history, self.path, keys=self.keys)


class SampleGrid(keras.callbacks.Callback):
    """Saves samples from a fixed latent seed during training.

    Every ``every`` epochs it writes ``directory/epoch_{epoch+1:04d}.png``, and
    ``directory/final.png`` when training ends. The seed is the same each
    time, so successive pictures show the same latents. Samples of shape
    (n, 2) are drawn as a scatter plot, anything else as an image grid.

    Args:
        directory: Output folder, created when first needed.
        every: Write a picture every this many epochs.
        n: Number of samples per picture.
        seed: Latent seed passed to ``model.generate``.
        columns: Tiles per row for image grids (None: near-square).
        centers: Optional (k, 2) mode centres for scatter plots.

    Attributes:
        paths: Every file written so far (kept across ``fit`` calls).

    Raises:
        ValueError: If ``every`` or ``n`` is not a positive integer.
    """

    def __init__(self, directory: str | os.PathLike, *, every: int = 1, n: int = 64,
                 seed: int = 0, columns: int | None = None, centers=None):
        super().__init__()
        _check_positive_int("every", every)
        _check_positive_int("n", n)
        _check_positive_int("columns", columns, allow_none=True)
        self.directory = os.fspath(directory)
        self.every, self.n, self.seed = int(every), int(n), seed
        self.columns, self.centers = columns, centers
        self.paths: list[str] = []

    def on_epoch_end(self, epoch, logs=None):
        """Writes a picture when ``epoch + 1`` is a multiple of ``every``."""
        if (epoch + 1) % self.every == 0:
            self.write(f"epoch_{epoch + 1:04d}.png", title=f"epoch {epoch + 1}")

    def on_train_end(self, logs=None):
        """Writes ``final.png``."""
        self.write("final.png", title="final")

    def write(self, filename: str, *, title: str | None = None) -> str:
        """Generates samples and writes them to ``directory/filename``.

        Args:
            filename: File name inside ``directory``.
            title: Title for scatter plots (image grids have none).

        Returns:
            The path written.

        Raises:
            TypeError: If the model has no ``generate`` method.
        """
        generate = getattr(self.model, "generate", None)
        if not callable(generate):
            raise TypeError(
                f"SampleGrid needs a model with generate(n, *, seed=None); got a "
                f"{type(self.model).__name__} without one. Use it with a ganzoo GAN model."
            )
        samples = _to_numpy(generate(self.n, seed=self.seed))
        path = os.path.join(self.directory, filename)
        if samples.ndim == 2 and samples.shape[-1] == 2:
            path = scatter_plot(samples, path, centers=self.centers, title=title)
        else:
            path = save_image_grid(samples, path, columns=self.columns)
        self.paths.append(path)
        logger.info("wrote samples %s", path)
        return path
