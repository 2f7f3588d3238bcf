"""Atomic training checkpoints, resume, and the non-finite guard.

A run directory's ``checkpoints/`` folder holds pairs of files named after the
training position they record, ``e0003-s000000`` being "3 epochs done, 0 steps
into the next":

* ``e0003-s000000.keras``: the whole compiled GAN (generator, discriminator,
  both optimizers, the EMA generator and every random-stream state);
* ``e0003-s000000.json``: the position, the history of the finished epochs,
  the running means of a part-done epoch, and the seconds of `fit` so far.

Each file is written under ``checkpoints/.partial/`` and renamed into place,
the model first, so a crash at any moment leaves only complete files. A
checkpoint counts once its JSON exists; the newest `keep` are kept. This
follows Keras' `BackupAndRestore`, with three differences: the optimizers and
random streams are saved with the weights, a part-done epoch resumes at the
batch it stopped at (the data stream of `ganzoo.data.epoch_stream` can start
anywhere), and weights are checked finite before they are saved.
"""

import json
import logging
import math
import os
import re
import shutil
import time

import keras
from keras import ops

from ganzoo import callbacks

logger = logging.getLogger(__name__)

FOLDER = "checkpoints"
_PARTIAL = ".partial"
_NAME = re.compile(r"^e(\d{4,})-s(\d{6,})\.json$")


class TrainingDiverged(RuntimeError):
    """A loss or weight became NaN or infinite; the last good checkpoint is kept."""


def _name(epoch, step):
    return f"e{epoch:04d}-s{step:06d}"


def list_checkpoints(run_dir):
    """The complete checkpoints of `run_dir` as ``(epoch, step, stem)``, oldest first."""
    folder = os.path.join(run_dir, FOLDER)
    if not os.path.isdir(folder):
        return []
    found = []
    for entry in os.listdir(folder):
        match = _NAME.match(entry)
        stem = entry[: -len(".json")]
        if match and os.path.isfile(os.path.join(folder, stem + ".keras")):
            found.append((int(match.group(1)), int(match.group(2)), stem))
    return sorted(found)


def latest(run_dir):
    """``(state, keras_path)`` of the newest complete checkpoint, or None when there is none."""
    for epoch, step, stem in reversed(list_checkpoints(run_dir)):
        path = os.path.join(run_dir, FOLDER, stem)
        try:
            with open(path + ".json", encoding="utf-8") as f:
                state = json.load(f)
        except (OSError, ValueError) as error:
            logger.warning("Skipping unreadable checkpoint %s.json (%s)", path, error)
            continue
        if (state.get("epoch"), state.get("step")) == (epoch, step):
            return state, path + ".keras"
        logger.warning("Skipping checkpoint %s.json: its position does not match its name", path)
    return None


def clean_partial(run_dir):
    """Removes files a killed save left under ``checkpoints/.partial``."""
    shutil.rmtree(os.path.join(run_dir, FOLDER, _PARTIAL), ignore_errors=True)


def save(gan, run_dir, state, *, keep=2):
    """Writes `gan` and `state` as the checkpoint at ``state['epoch'], state['step']``.

    Raises:
        TrainingDiverged: If a weight of `gan` is not finite (nothing is written).
    """
    bad = first_non_finite(gan)
    if bad is not None:
        raise TrainingDiverged(f"weight {bad!r} is not finite")
    folder = os.path.join(run_dir, FOLDER)
    partial = os.path.join(folder, _PARTIAL)
    os.makedirs(partial, exist_ok=True)
    stem = _name(state["epoch"], state["step"])
    gan.save(os.path.join(partial, stem + ".keras"))
    with open(os.path.join(partial, stem + ".json"), "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, allow_nan=False)
        f.flush()
        os.fsync(f.fileno())
    # The model first: a JSON in place always has its model beside it.
    os.replace(os.path.join(partial, stem + ".keras"), os.path.join(folder, stem + ".keras"))
    os.replace(os.path.join(partial, stem + ".json"), os.path.join(folder, stem + ".json"))
    os.rmdir(partial)
    for _, _, old in list_checkpoints(run_dir)[:-keep]:
        for suffix in (".json", ".keras"):  # the JSON first: never a JSON without its model
            os.remove(os.path.join(folder, old + suffix))
    return os.path.join(folder, stem + ".keras")


def first_non_finite(gan):
    """The path of the first weight of `gan` holding a NaN or infinity, or None."""
    for variable in gan.weights:
        if "float" in str(variable.dtype) and not bool(
                ops.convert_to_numpy(ops.all(ops.isfinite(variable)))):
            return variable.path
    return None


def _finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


class Checkpointer(keras.callbacks.Callback):
    """Saves checkpoints at epoch ends and every `every_steps` steps; stops on non-finite values.

    Args:
        run_dir: The run directory (checkpoints go to ``run_dir/checkpoints``; the
            history of finished epochs to ``run_dir/history.json``).
        steps_per_epoch: Steps of a full epoch.
        history: The history columns of the finished epochs (updated here).
        every_steps: Also save every this many steps inside an epoch (None: epoch ends only).
        every_epochs: Save at every this-many-th epoch end; always at `last_epoch`.
        last_epoch: The run's final epoch count.
        first_epoch: The (0-based) epoch training starts in.
        first_step: Steps of that epoch already done before (a resume from inside it).
        partial_logs: Running means of those steps, merged into the first epoch's logs.
        seconds: Seconds of `fit` before this one.
        keep: Checkpoints to keep.

    Attributes:
        diverged: None, or the one-line reason training was stopped.
    """

    def __init__(self, run_dir, *, steps_per_epoch, history, every_steps=None, every_epochs=1,
                 last_epoch=None, first_epoch=0, first_step=0, partial_logs=None, seconds=0.0, keep=2):
        super().__init__()
        self.run_dir = run_dir
        self.history_path = os.path.join(run_dir, "history.json")
        self.steps_per_epoch = steps_per_epoch
        self.history = history
        self.every_steps = every_steps
        self.every_epochs = every_epochs
        self.last_epoch = last_epoch
        self.first_epoch = first_epoch
        self.first_step = first_step
        self.partial_logs = dict(partial_logs or {})
        self.seconds = seconds
        self.keep = keep
        self.diverged = None
        self._start = None
        self._epoch = 0

    def fit_seconds(self):
        """Seconds of `fit` over the whole run, resumes included."""
        return self.seconds + (time.perf_counter() - self._start if self._start else 0.0)

    def _state(self, epoch, step, logs):
        return {
            "epoch": epoch,
            "step": step,
            "history": self.history,
            "partial_logs": {k: float(v) for k, v in (logs or {}).items()} if step else {},
            "fit_seconds": round(self.fit_seconds(), 3),
        }

    def _save(self, epoch, step, logs):
        try:
            save(self.model, self.run_dir, self._state(epoch, step, logs), keep=self.keep)
        except TrainingDiverged as error:
            self._stop(f"{error} after epoch {epoch} step {step}")

    def _stop(self, reason):
        self.diverged = reason
        self.model.stop_training = True

    def on_train_begin(self, logs=None):
        if self._start is None:  # the first of this run's `fit` calls
            self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.diverged:
            return
        step = batch + 1 + (self.first_step if self._epoch == self.first_epoch else 0)
        bad = {k: v for k, v in (logs or {}).items() if not _finite(float(v))}
        if bad:
            key, value = next(iter(bad.items()))
            self._stop(f"{key} became {value} at epoch {self._epoch + 1} step {step}")
            return
        if self.every_steps and step % self.every_steps == 0 and step < self.steps_per_epoch:
            self._save(self._epoch, step, logs)

    def merge(self, epoch, logs):
        """Turns the logs of a resumed part epoch into the whole epoch's means (in place)."""
        if epoch != self.first_epoch or not self.first_step or not logs:
            return
        done, rest = self.first_step, self.steps_per_epoch - self.first_step
        for key, value in list(logs.items()):
            if key in self.partial_logs:
                logs[key] = (done * self.partial_logs[key] + rest * float(value)) / (done + rest)

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged:
            return
        record = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
        length = len(self.history.get("epoch", []))
        for key in record:
            self.history.setdefault(key, [None] * length)
        for key, column in self.history.items():
            column.append(record.get(key))
        callbacks.write_history(self.history, self.history_path)
        if (epoch + 1) % self.every_epochs == 0 or epoch + 1 == self.last_epoch:
            self._save(epoch + 1, 0, None)


class MergePartialEpoch(keras.callbacks.Callback):
    """Placed first: rewrites a resumed part epoch's logs as whole-epoch means before others see them."""

    def __init__(self, checkpointer):
        super().__init__()
        self.checkpointer = checkpointer

    def on_epoch_end(self, epoch, logs=None):
        self.checkpointer.merge(epoch, logs)
