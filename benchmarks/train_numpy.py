"""Trains a zoo config from in-memory NumPy arrays, for machines without TensorFlow.

``ganzoo train`` feeds ``fit`` from ``tf.data``; the lent GPU machines have JAX
and PyTorch but no TensorFlow, so this script loads the training split with
``ganzoo.data.load_arrays`` (NumPy only) and calls ``fit`` on the array. It
saves ``gan.keras`` and ``run.json`` after every epoch, stops after the last
epoch or once ``BUDGET_SECONDS`` of training have passed, and leaves a run
directory that ``ganzoo export RUN --zoo-entry`` accepts.

Usage (repo root; Fashion-MNIST IDX files in $GANZOO_DATA)::

    OUT=/tmp/out python benchmarks/train_numpy.py dcgan_fashion_mnist 130

The shipped ``exported/dcgan_fashion_mnist`` was trained this way on a lent
H100 with the JAX backend.
"""
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, os.getcwd())

import keras  # noqa: E402
import yaml  # noqa: E402

from ganzoo import callbacks, config as config_lib, data  # noqa: E402
from ganzoo.training import run  # noqa: E402


def main(name, budget):
    out = os.path.join(os.environ["OUT"], "run")
    os.makedirs(out, exist_ok=True)
    config = config_lib.load(name)
    keras.utils.set_random_seed(config.train.seed)
    x, _ = data.load_arrays(config.data.dataset, "train")
    gan = run.build_from_config(config)
    start = time.perf_counter()

    class Budget(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            gan.save(os.path.join(out, "gan.keras"))
            run.write_run_facts(out, gan, time.perf_counter() - start)
            print(f"epoch {epoch + 1} at {time.perf_counter() - start:.1f} s {logs}", flush=True)
            if time.perf_counter() - start > budget:
                self.model.stop_training = True

    gan.fit(x, batch_size=config.data.batch_size, epochs=config.train.epochs, shuffle=True,
            verbose=0, callbacks=[callbacks.HistoryJSON(os.path.join(out, "history.json")), Budget()])
    seconds = time.perf_counter() - start
    run.write_run_facts(out, gan, seconds)
    gan.save(os.path.join(out, "gan.keras"))
    gan.sampling_generator.save(os.path.join(out, "generator.keras"))
    with open(os.path.join(out, "config.yaml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(config.to_dict(), f, sort_keys=False)
    print("done", seconds, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else float("inf"))
