"""Training callbacks for GAN models: sample grids, a history file, loss curves.

The pictures themselves are drawn by `ganzoo.plots`; like it, this module uses
only backend-neutral Keras, so it runs on every Keras backend.

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
from collections.abc import Iterable

import keras
import numpy as np

from ganzoo.plots import (
    SCORE_KEYS,
    as_keys,
    check_positive_int,
    ensure_parent,
    pair_columns,
    plot_history,
    save_image_grid,
    scatter_plot,
    to_numpy,
)

logger = logging.getLogger(__name__)

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


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
        write_history(self.history, self.path)


def write_history(history: dict[str, list], path: str | os.PathLike) -> None:
    """Writes history columns atomically in the format of `load_history`."""
    encoded = {key: [_encode(v) for v in values] for key, values in history.items()}
    _write_json_atomically(encoded, ensure_parent(os.fspath(path)))


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
        self.keys = as_keys(keys)

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
        pairs: Image-to-image and unpaired models: fixed ``(inputs, targets)``
            (or ``(a, b)``) arrays; each picture is the model's
            ``picture_tiles`` of them (input, output and target of each, or
            each image, its translation and its reconstruction) instead of
            ``generate``'s samples.

    Attributes:
        paths: Every file written so far (kept across ``fit`` calls).

    Raises:
        ValueError: If ``every`` or ``n`` is not a positive integer.
    """

    def __init__(self, directory: str | os.PathLike, *, every: int = 1, n: int = 64,
                 seed: int = 0, columns: int | None = None, centers=None, pairs=None):
        super().__init__()
        check_positive_int("every", every)
        check_positive_int("n", n)
        check_positive_int("columns", columns, allow_none=True)
        self.directory = os.fspath(directory)
        self.every, self.n, self.seed = int(every), int(n), seed
        self.columns, self.centers = columns, centers
        self.pairs = None if pairs is None else tuple(np.asarray(part)[:self.n] for part in pairs)
        if self.pairs is not None and columns is None:
            self.columns = pair_columns(len(self.pairs[0]))
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
        if self.pairs is not None:
            return self._save(self.model.picture_tiles(*self.pairs), filename, title)
        generate = getattr(self.model, "generate", None)
        if not callable(generate):
            raise TypeError(
                f"SampleGrid needs a model with generate(n, *, seed=None); got a "
                f"{type(self.model).__name__} without one. Use it with a ganzoo GAN model."
            )
        return self._save(to_numpy(generate(self.n, seed=self.seed)), filename, title)

    def _save(self, samples, filename, title):
        path = os.path.join(self.directory, filename)
        if samples.ndim == 2 and samples.shape[-1] == 2:
            path = scatter_plot(samples, path, centers=self.centers, title=title)
        else:
            path = save_image_grid(samples, path, columns=self.columns)
        self.paths.append(path)
        logger.info("wrote samples %s", path)
        return path


class MetricCallback(keras.callbacks.Callback):
    """Scores the GAN's samples every few epochs, by both judges, and logs the scores.

    The scores go into the epoch's ``logs``, so `History`, `HistoryJSON` and
    `keras.callbacks.TensorBoard` record them when they come *after* this
    callback in the ``callbacks`` list (Keras appends its own `History` last).
    Each scalar metric is logged per judge as ``<metric>_<judge>`` (e.g.
    ``fid_cnn``, ``fid_resnet``) beside that judge's real floor,
    ``<metric>_<judge>_floor``; metrics with a single verdict also log the
    stricter judge's ratio to its floor as ``<metric>_vs_floor`` (FID: the
    larger multiple; see `ganzoo.metrics.report`). Real-image features and the
    floors are computed once, at the first evaluation; the callback keeps the
    latest full report in ``self.report``.

    Args:
        dataset: Built-in dataset with shipped extractors (``digits``,
            ``fashion_mnist``).
        metrics: Names from `ganzoo.metrics.METRICS` (default ``("fid",)``).
        every: Evaluate when ``epoch + 1`` is a multiple of this.
        n: Samples per evaluation (and real images compared with).
        seed: Latent seed, fixed so successive scores see the same latents.
        extractor: A `FeatureExtractor` or a sequence of them (default: both
            of the dataset's shipped judges).

    Only scalar scores are logged (``class_fractions`` is not).
    """

    def __init__(self, dataset: str, metrics=("fid",), *, every: int = 1, n: int = 1000,
                 seed: int = 0, extractor=None):
        super().__init__()
        from ganzoo.metrics import evaluate  # pylint: disable=import-outside-toplevel

        check_positive_int("every", every)
        check_positive_int("n", n)
        self.metrics = evaluate.check_metrics(metrics)
        self.dataset, self.every, self.n, self.seed = dataset, int(every), int(n), seed
        self.extractor = extractor
        self._reference = self._floors = None
        self.report = None

    def on_epoch_end(self, epoch, logs=None):
        """Adds the scores to ``logs`` when ``epoch + 1`` is a multiple of ``every``."""
        if (epoch + 1) % self.every or logs is None:
            return
        from ganzoo.metrics import evaluate, report  # pylint: disable=import-outside-toplevel

        if self._reference is None:
            self._reference = evaluate.reference_set(self.dataset, self.n, self.seed,
                                                     self.extractor)
        samples, labels = evaluate.generate_samples(self.model, self._reference.n, self.seed)
        if self._floors is None:
            self._floors = evaluate.real_floor(self.dataset, metrics=self.metrics, seed=self.seed,
                                               reference=self._reference,
                                               conditional=labels is not None)
        found = evaluate.evaluate_samples(samples, self.dataset, metrics=self.metrics,
                                          seed=self.seed, reference=self._reference, labels=labels)
        judges = {name: {"metrics": found[name], "real_floor": self._floors[name]}
                  for name in found}
        self.report = {"epoch": epoch + 1, "n": self._reference.n, "judges": judges,
                       "verdict": report.verdict(judges)}
        for name, entry in judges.items():
            for key, value in entry["metrics"].items():
                if value is not None and not isinstance(value, list):
                    logs[f"{key}_{name}"] = float(value)
                    floor = entry["real_floor"].get(key)
                    if floor is not None:
                        logs[f"{key}_{name}_floor"] = float(floor)
        for key, stricter in self.report["verdict"].items():
            logs[f"{key}_vs_floor"] = float(stricter["ratio"])
