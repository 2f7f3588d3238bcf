"""TensorBoard for GAN runs: Keras' own callback, plus the sample grids it lacks.

`callbacks(log_dir, ...)` returns what ``ganzoo train --tensorboard`` (or
``output.tensorboard: true``) adds to `fit`:

* ``keras.callbacks.TensorBoard(log_dir, update_freq="batch")``: every
  scalar in the logs (``d_loss``, ``g_loss``, ``d_real``, ``d_fake``, and
  whatever callbacks before it add, such as `MetricCallback`'s scores) per
  step and per epoch, under ``log_dir/train``;
* `SampleImages`: the sample grid of fixed latents as an image every
  ``every`` epochs and at the end, under ``log_dir/samples`` (Keras' callback writes no
  images of a generator).

Both write through TensorFlow's ``tf.summary``, which Keras' callback needs
on every backend, and the ``tensorboard`` package; `unavailable()` says in
one line what is missing.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile

import keras
import numpy as np

__all__ = ["SampleImages", "callbacks", "unavailable"]


def unavailable() -> str | None:
    """Why TensorBoard files cannot be written here (None: they can)."""
    missing = [name for name in ("tensorflow", "tensorboard") if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (f"--tensorboard needs {' and '.join(missing)} (Keras' TensorBoard callback writes "
            f"through tf.summary on every backend); pip install {' '.join(missing)}, or train "
            "without it")


def _picture(samples, centers, columns):
    """The samples as one RGB picture (an image grid, or a scatter plot of 2-D points)."""
    from PIL import Image  # pylint: disable=import-outside-toplevel

    from ganzoo import plots  # pylint: disable=import-outside-toplevel

    if samples.ndim == 2 and samples.shape[-1] == 2:
        with tempfile.TemporaryDirectory() as folder:
            path = plots.scatter_plot(samples, os.path.join(folder, "points.png"), centers=centers)
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB"))
    return np.asarray(plots.image_grid(samples, columns=columns).convert("RGB"))


class SampleImages(keras.callbacks.Callback):
    """Writes the sample grid of a fixed latent seed to TensorBoard every few epochs.

    Args:
        log_dir: The run's TensorBoard folder; images go to ``log_dir/samples``.
        every: Write when ``epoch + 1`` is a multiple of this.
        n: Samples per grid.
        seed: Latent seed (the same every time, so the pictures compare).
        centers: Mode centres drawn with 2-D point samples.
        columns: Tiles per row (None: near-square).
        pairs: Image-to-image models: fixed ``(inputs, targets)``, shown as
            input, output, target (`ganzoo.plots.pair_tiles`) through ``translate``.
    """

    def __init__(self, log_dir, *, every=1, n=64, seed=0, centers=None, columns=None, pairs=None):
        super().__init__()
        self.log_dir = os.path.join(os.fspath(log_dir), "samples")
        self.every, self.n, self.seed = int(every), int(n), seed
        self.centers, self.columns = centers, columns
        self.pairs = None if pairs is None else tuple(np.asarray(part)[:self.n] for part in pairs)
        if self.pairs is not None and columns is None:
            from ganzoo import plots  # pylint: disable=import-outside-toplevel

            self.columns = plots.pair_columns(len(self.pairs[0]))
        self._writer = None
        self._epoch = self._written = None

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        if (epoch + 1) % self.every == 0:
            self.write(epoch)

    def on_train_end(self, logs=None):
        """Writes the final grid (unless the last epoch just wrote it) and closes the file."""
        if self._epoch is not None and self._written != self._epoch:
            self.write(self._epoch)
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def write(self, step):
        """Writes the grid of the current samples as image ``samples`` at `step`.

        Steps are Keras' 0-based epoch indices, as the ``epoch_*`` scalars use.
        """
        import tensorflow as tf  # pylint: disable=import-outside-toplevel

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        if self.pairs is not None:
            samples = self.model.picture_tiles(*self.pairs)
        else:
            samples = np.asarray(self.model.generate(self.n, seed=self.seed))
        picture = _picture(samples, self.centers, self.columns)
        with self._writer.as_default():
            tf.summary.image("samples", picture[np.newaxis], step=step)
        self._writer.flush()
        self._written = step


def callbacks(log_dir, *, every=1, n=64, seed=0, centers=None, pairs=None) -> list:
    """Keras' TensorBoard callback (scalars per step and epoch) and `SampleImages`.

    Raises:
        RuntimeError: When TensorFlow or the tensorboard package is missing.
    """
    problem = unavailable()
    if problem:
        raise RuntimeError(problem)
    return [
        keras.callbacks.TensorBoard(os.fspath(log_dir), update_freq="batch", write_graph=False),
        SampleImages(log_dir, every=every, n=n, seed=seed, centers=centers, pairs=pairs),
    ]
